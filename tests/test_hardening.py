"""Issue 10 (hardening): hostile cells, broken quotes, a busy or missing database, formula
injection in the files back, and races between an undo and imports. Each test is named after the
item of the issue it reproduces; each failed on the code before the fix."""

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connections

from registrar.bulk import engine, imports
from registrar.bulk.io.readers import FileError
from registrar.directory.models import User
from registrar.journal import writes
from registrar.journal.models import Change, Operation
from registrar.journal.undo import undo
from registrar.learning.models import CourseRecord, CourseStatus

from . import factories as f
from .conftest import read_results, write_csv

COMPLETIONS = ["course_id", "user_email", "completion_date"]
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.fixture
def world(db):
    f.user("alice")
    f.course("SAFE-101", "Workplace safety")


# Item 2: single cells that raised instead of giving a code ---------------------------------


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00", "0001-01-01", "1899-12-31"]
)
def test_item2_a_date_at_the_ends_of_the_calendar_is_invalid_date(run_import, world, value):
    rep = run_import("completions", COMPLETIONS, [["SAFE-101", "alice@example.com", value]])
    assert [(r["result"], r["codes"]) for r in rep.rows] == [("rejected", "invalid_date")]
    assert "1900-01-01" in rep.rows[0]["message"]


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+14:00", "0001-01-01"]
)
def test_item2_the_edges_of_the_calendar_in_a_date_column_are_invalid_date(run_import, db, value):
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "birth_date"]
    rep = run_import("users", h, [["L", "F", "new", "Pw-123456", "ACME", value]])
    assert (rep.rows[0]["result"], rep.rows[0]["codes"]) == ("rejected", "invalid_date")


def test_item2_an_expiration_date_of_9999_12_31_is_accepted(run_import, db):
    """HR systems write 9999-12-31 for "never expires": a calendar date keeps it."""
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid"]
    rep = run_import(
        "users", [*h, "user_expiration_date"], [["L", "F", "n", "Pw-123456", "ACME", "9999-12-31"]]
    )
    assert rep.rows[0]["result"] == "created"
    assert str(User.objects.get(login="n").expiration_date) == "9999-12-31"


@pytest.mark.parametrize("value", ["1E+999999999", "1e400", "NaN", "1_000", "١٢٣"])
def test_item2_a_number_beyond_reason_is_invalid_number(run_import, db, value):
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid"]
    rep = run_import(
        "users", [*h, "user_hourly_cost"], [["L", "F", "n", "Pw-123456", "ACME", value]]
    )
    assert (rep.rows[0]["result"], rep.rows[0]["codes"]) == ("rejected", "invalid_number")


def test_item2_a_huge_exponent_in_a_catalogue_credit_is_invalid_number(run_import, db):
    h = ["type", "code", "title", "credits"]
    rep = run_import("catalogue", h, [["course", "C1", "Course", "CME:1E+999999999"]])
    assert (rep.rows[0]["result"], rep.rows[0]["codes"]) == ("rejected", "invalid_number")


def test_item2_utf16_forced_on_a_file_without_a_bom_is_refused_with_a_reason(tmp_path, world):
    path = tmp_path / "c.csv"
    path.write_bytes(";".join(COMPLETIONS).encode("utf-16-le") + b"\n\x00")
    req = engine.Request("completions", str(path), options={"encoding": "utf-16"})
    with pytest.raises(FileError) as e:
        engine.run_import(req)
    assert e.value.code == "unreadable_file"
    assert "utf-16-le" in e.value.params["reason"]


def test_item2_a_codec_that_is_not_a_text_encoding_is_an_invalid_option(tmp_path, world):
    path = write_csv(
        tmp_path / "c.csv", [COMPLETIONS, ["SAFE-101", "alice@example.com", "2024-01-01"]]
    )
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request("completions", path, options={"encoding": "zlib"}))
    assert e.value.code == "invalid_option"


# Item 3: year 0001 dates and the bounded recovery ---------------------------------------------


def test_item3_year_0001_dates_are_invalid_date_at_parse_time(run_import, world, caplog):
    rows = [["SAFE-101", "alice@example.com", "0001-01-01"]] * 300
    with caplog.at_level(logging.WARNING, logger="registrar"):
        rep = run_import("completions", COMPLETIONS, rows)
    assert {(r["result"], r["codes"]) for r in rep.rows} == {("rejected", "invalid_date")}
    assert not [r for r in caplog.records if r.exc_info]


def test_item3_a_failing_batch_is_isolated_within_a_bound_with_one_log_entry(
    run_import, db, caplog, monkeypatch
):
    """Rows that fail in apply (a stand-in for any unexpected error) are isolated up to a bound;
    past it the rest of the failing part is rejected whole; one log entry says how many."""
    f.org("ACME")
    kind = imports.KINDS["organisations"]
    original = type(kind).apply

    def apply(self, rows, refs, ctx):
        if any(r.values["org_label"].startswith("bad") for r in rows):
            raise RuntimeError("boom")
        return original(self, rows, refs, ctx)

    monkeypatch.setattr(type(kind), "apply", apply)
    h = ["org_label", "org_extid", "parent_extid"]
    rows = [["good", "G1", "ACME"]] + [[f"bad{i}", f"B{i}", "ACME"] for i in range(400)]
    rows += [["good", "G2", "ACME"]]
    with caplog.at_level(logging.WARNING, logger="registrar"):
        rep = run_import("organisations", h, rows)
    results = {r["org_extid"]: (r["result"], r["codes"]) for r in rep.rows}
    assert results["G1"] == ("created", "")  # in a part that worked: applied
    assert {results[f"B{i}"] for i in range(400)} == {("rejected", "processing_error")}
    # G2 shares the last failing part, rejected whole once the bound is reached.
    assert results["G2"] == ("rejected", "processing_error")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert f"{engine.ISOLATE_LIMIT} rows isolated" in errors[0].getMessage()
    assert "more rejected without isolation" in errors[0].getMessage()


# Item 4: an unbalanced quote never merges rows --------------------------------------------------


def test_item4_an_unbalanced_quote_refuses_the_file_naming_the_line(tmp_path, db):
    f.org("ACME")
    h = "user_lname;user_fname;user_login;user_password;org_extid;user_address1"
    lines = [h, 'Martin;Ann;ann;Secret-ann-1;ACME;"12 rue du Port']
    lines += [f"User{i};Bob;bob{i};Secret-bob-{i};ACME;Quai {i}" for i in range(100)]
    path = tmp_path / "users.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request("users", str(path)))
    assert e.value.code == "unbalanced_quote"
    assert e.value.params["line"] == 2 and e.value.params["rows"] == 100
    assert not User.objects.exists()
    op = Operation.objects.get()
    assert op.status == "failed" and "Secret" not in op.error


def test_item4_a_legitimate_multi_line_cell_is_read(run_import, db):
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "user_address1"]
    rep = run_import(
        "users", h, [["M", "A", "ann", "Pw-123456", "ACME", "Bât. B\n12, rue du Port"]]
    )
    assert rep.rows[0]["result"] == "created"
    assert User.objects.get(login="ann").address1 == "Bât. B\n12, rue du Port"


# Items 5 and 6: a busy or missing database on the command line ----------------------------------


def registrar(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "REGISTRAR_DB": str(cwd / "registrar.sqlite3"), **(env or {})}
    full.pop("DATABASE_URL", None)
    full["REGISTRAR_DATA"] = str(cwd / "data")
    return subprocess.run(
        [sys.executable, "-m", "registrar.cli", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_item6_the_command_line_without_a_database_creates_nothing(tmp_path):
    for args in (["history"], ["import", "completions", "x.csv"], ["undo", "1"], ["demo"]):
        p = registrar(*args, cwd=tmp_path)
        assert p.returncode == 2, (args, p.stderr)
        assert "no Registrar database at" in p.stderr and "registrar init" in p.stderr
        assert "Traceback" not in p.stderr
        assert not (tmp_path / "registrar.sqlite3").exists()
        assert not (tmp_path / "registrar-jobs.sqlite3").exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL database that does not exist")
def test_item6_a_postgresql_database_that_does_not_exist_exits_2(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/no_such_registrar"}
    p = subprocess.run(
        [sys.executable, "-m", "registrar.cli", "history"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2 and "database error" in p.stderr and "Traceback" not in p.stderr


def test_item5_a_second_writer_that_waits_too_long_exits_2_database_busy(tmp_path):
    assert registrar("init", cwd=tmp_path).returncode == 0
    csv_path = write_csv(tmp_path / "o.csv", [["org_label", "org_extid"], ["Acme", "ACME"]])
    holder = sqlite3.connect(tmp_path / "registrar.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        p = registrar(
            "import", "organisations", csv_path, cwd=tmp_path, env={"REGISTRAR_DB_TIMEOUT": "1"}
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert p.returncode == 2, p.stderr
    assert "database_busy:" in p.stderr and "REGISTRAR_DB_TIMEOUT" in p.stderr
    assert "Traceback" not in p.stderr
    p = registrar("import", "organisations", csv_path, cwd=tmp_path)
    assert p.returncode == 0, p.stderr


# Item 12: formula injection in the files back ---------------------------------------------------


def test_item12_every_results_cell_a_spreadsheet_would_evaluate_is_escaped(tmp_path, db):
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "user_city"]
    evil = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+cmd|' /C calc'!A0", "-2+3"]
    rows = [[e, "F", f"u{i}", "Pw-123456", "NOPE", e] for i, e in enumerate(evil)]
    path = write_csv(tmp_path / "u.csv", [h, *rows])
    rep = engine.run_import(engine.Request("users", path))
    raw = Path(rep.results_path).read_text(encoding="utf-8-sig")
    results = read_results(rep.results_path)
    for r, e in zip(results, evil, strict=True):
        assert r["user_lname"] == "'" + e and r["user_city"] == "'" + e
    assert "\n=" not in raw and ";=" not in raw and ";@" not in raw and ";+" not in raw
    # The rejects file keeps the cells as typed, so that it imports again once fixed.
    rejects = read_results(rep.rejects_path)
    assert [r["user_lname"] for r in rejects] == evil
    for line in Path(rep.log_path).read_text().splitlines():
        assert line.startswith(("row ", "file: "))


def test_item12_a_log_line_never_breaks_into_a_new_line(tmp_path, db):
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "user_roles"]
    row = ["L", "F", "u1", "Pw-123456", "ACME", "Manager:X\n=1+1"]  # a value quoted as typed
    path = write_csv(tmp_path / "u.csv", [h, row])
    rep = engine.run_import(engine.Request("users", path, scope="ACME"))
    text = Path(rep.log_path).read_text()
    assert "out_of_scope" in text
    assert all(line.startswith("row 2:") for line in text.splitlines())


# Item 16: no race overwrites a committed change --------------------------------------------------


def test_item16_a_write_whose_row_changed_since_it_was_read_is_refused(world):
    """The guard itself, on both databases: a before op that is no longer the row's."""
    alice = User.objects.get(login="alice")
    op1 = Operation.objects.create(kind="import", name="users")
    op2 = Operation.objects.create(kind="import", name="users")
    writes.update(User, [(alice.pk, {"city": "Lyon"}, {"op": alice.op}, 2)], op1)
    with pytest.raises(writes.ConcurrentChange) as e:
        writes.update(User, [(alice.pk, {"city": "Nice"}, {"op": alice.op}, 3)], op2)
    assert e.value.stale == [(alice.pk, 3)]
    assert User.objects.get(pk=alice.pk).city == "Lyon"
    with pytest.raises(writes.ConcurrentChange):
        writes.delete(User, [(alice.pk, {"op": alice.op}, 4)], op2)
    with pytest.raises(ValueError):
        writes.update(User, [(alice.pk, {"city": "Nice"}, {}, 3)], op2)


class Paused:
    """Runs an import in a thread of its own (its own connection) and pauses it after its first
    batch, inside its transaction, holding its row locks until `release()`."""

    def __init__(self, req: engine.Request):
        self.req, self.hold, self.paused, self.report, self.error = (
            req,
            threading.Event(),
            threading.Event(),
            None,
            None,
        )
        batches = [0]

        def progress(done, total, fraction, elapsed):
            batches[0] += 1
            if batches[0] == 1:  # after the first batch; the last call comes after the commit
                self.paused.set()
                self.hold.wait(30)

        req.progress = progress
        self.thread = threading.Thread(target=self.run)

    def run(self):
        try:
            self.report = engine.run_import(self.req)
        except BaseException as e:  # pragma: no cover - reported by join()
            self.error = e
        finally:
            connections.close_all()

    def start(self):
        self.thread.start()
        while not self.paused.wait(0.1):
            assert self.thread.is_alive(), (
                f"the import ended before its first batch: {self.error!r}"
            )
        return self

    def release_later(self, seconds: float = 1.5):
        threading.Timer(seconds, self.hold.set).start()

    def join(self):
        self.thread.join(60)
        if self.error:
            raise self.error
        return self.report


def users_file(tmp_path, name, city) -> str:
    h = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "user_city"]
    rows = [["Alice", "Test", "alice", "", "ORG", city], ["Bob", "Test", "bob", "", "ORG", city]]
    return write_csv(tmp_path / name, [h, *rows])


postgres_race = pytest.mark.skipif(not ON_POSTGRES, reason="two writers at once: PostgreSQL")


@postgres_race
@pytest.mark.django_db(transaction=True)
def test_item16_an_undo_during_an_import_of_the_same_rows_reports_a_conflict(tmp_path, settings):
    f.user("alice", city="Paris")
    f.user("bob", city="Paris")
    first = engine.run_import(engine.Request("users", users_file(tmp_path, "a.csv", "Lyon")))
    settings.REGISTRAR_BATCH_SIZE = 1
    second = Paused(engine.Request("users", users_file(tmp_path, "b.csv", "Nice"))).start()
    second.release_later()
    op, conflicts = undo(first.operation.pk)  # waits for the second import's row locks
    report = second.join()
    alice = User.objects.get(login="alice")
    assert alice.city == "Nice"  # the second import's committed change is kept
    assert alice.pk in {c["pk"] for c in conflicts}
    # ...and the second import can still be undone, back to what it found.
    op2, conflicts2 = undo(report.operation.pk)
    assert User.objects.get(login="alice").city == "Lyon"
    assert alice.pk not in {c["pk"] for c in conflicts2}


@postgres_race
@pytest.mark.django_db(transaction=True)
def test_item16_two_imports_of_different_kinds_on_the_same_records_keep_both_changes(
    tmp_path, settings
):
    alice = f.user("alice", email="alice@example.com")
    course = f.course("SAFE-101")
    bob = f.user("bob", email="bob@example.com")
    for u in (alice, bob):
        CourseRecord.objects.create(user=u, course=course, status=CourseStatus.NOT_STARTED)
    stats = write_csv(
        tmp_path / "s.csv",
        [
            ["user_loginid", "crsvname", "course_status"],
            ["alice", "SAFE-101", "I"],
            ["bob", "SAFE-101", "I"],
        ],
    )
    settings.REGISTRAR_BATCH_SIZE = 1
    opts = {"assign_if_needed": "yes"}
    first = Paused(engine.Request("course-statistics", stats, options=opts)).start()
    first.release_later()
    progress = write_csv(
        tmp_path / "p.csv",
        [
            ["user_email", "content_uuid", "completion_date"],
            ["alice@example.com", str(course.uuid), "2024-06-15"],
        ],
    )
    second = engine.run_import(engine.Request("progress", progress))  # waits, then plans again
    first.join()
    rec = CourseRecord.objects.get(user=alice, course=course)
    assert rec.status == CourseStatus.COMPLETED and rec.op == second.operation.pk
    change = Change.objects.get(operation=second.operation, table="learning.CourseRecord")
    assert change.before["status"] == CourseStatus.IN_PROGRESS  # what the first import wrote
    undo(second.operation.pk)
    assert CourseRecord.objects.get(pk=rec.pk).status == CourseStatus.IN_PROGRESS


def test_a_nul_character_refuses_the_file_naming_the_line(tmp_path, db):
    """Found by the fuzzer: PostgreSQL cannot store NUL, so each such row was a processing_error."""
    path = tmp_path / "c.csv"
    path.write_bytes(b"type;code;title;description\nprogramme;P1;Programme;a\x00b\n")
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request("catalogue", str(path)))
    assert e.value.code == "unreadable_file" and "line 2" in e.value.params["reason"]


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (
            "catalogue",
            'type,code,title,description\ncourse,C1,Safety,"We cover:\nfire, flood, storms, and more"\n',
        ),
        ("static-lists", 'USER;LIST_NAME\nu1;"Sales\nEMEA; West"\n'),
    ],
)
def test_item4_prose_over_several_lines_in_a_narrow_file_is_not_an_unbalanced_quote(
    tmp_path, db, kind, text
):
    """Found in review: lines of prose with commas looked like swallowed rows."""
    path = tmp_path / "f.csv"
    path.write_text(text)
    rep = engine.run_import(engine.Request(kind, str(path), verify_only=True))
    assert rep.counts["rows"] == 1


def test_item1_a_csv_line_without_end_is_refused_without_being_read_whole(
    tmp_path, db, monkeypatch
):
    """Found in review: the csv module reads a whole physical line before its field limit."""
    from registrar.bulk.io import readers

    monkeypatch.setattr(readers, "LINE_LIMIT", 1000)
    path = tmp_path / "c.csv"
    path.write_text(";".join(COMPLETIONS) + "\n" + "x" * 5000)
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request("completions", str(path)))
    assert e.value.code == "file_too_large" and "line 2" in e.value.params["reason"]


def test_item15_the_wsgi_application_refuses_the_published_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRAR_", "DJANGO_"))}
    env["REGISTRAR_DATA"] = str(tmp_path)  # no installation key written there
    p = subprocess.run(
        [sys.executable, "-c", "import registrar.wsgi"], env=env, capture_output=True, text=True
    )
    assert p.returncode != 0 and "published development key" in p.stderr
    env["REGISTRAR_SECRET_KEY"] = "a-key-of-this-installation-0123456789"
    p = subprocess.run(
        [sys.executable, "-c", "import registrar.wsgi"], env=env, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr


def test_item3_what_a_rolled_back_attempt_staged_is_not_kept(run_import, db, monkeypatch):
    """Found in review: trial runs of the recovery (rolled back) staged ids for finish() that the
    database never kept. Staging goes to ctx.pending, kept only with its attempt."""
    f.org("ACME")
    kind = imports.KINDS["organisations"]
    original, seen = type(kind).apply, {}

    def apply(self, rows, refs, ctx):
        original(self, rows, refs, ctx)
        ctx.pending.setdefault("applied", set()).update(r.values["org_extid"] for r in rows)
        if any(r.values["org_label"] == "bad" for r in rows):
            raise RuntimeError("boom")

    def finish(self, ctx):
        seen.update(ctx.state)

    monkeypatch.setattr(type(kind), "apply", apply)
    monkeypatch.setattr(type(kind), "finish", finish)
    h = ["org_label", "org_extid", "parent_extid"]
    rows = [["good", "G1", "ACME"], ["bad", "B1", "ACME"], ["good", "G2", "ACME"]]
    rep = run_import("organisations", h, rows)
    assert [r["result"] for r in rep.rows] == ["created", "rejected", "created"]
    assert seen["applied"] == {"G1", "G2"}


def test_a_misspelt_password_column_never_reaches_the_files(tmp_path, db):
    """Found in review: `user_pasword` is an unknown column, and its cells went to the results."""
    f.org("ACME")
    h = ["user_lname", "user_fname", "user_login", "user_pasword", "org_extid", "Mot de passe"]
    path = write_csv(tmp_path / "u.csv", [h, ["L", "F", "u1", "Clear-Text-1", "NOPE", "Clear-2"]])
    rep = engine.run_import(engine.Request("users", path, options={"generate_passwords": "yes"}))
    for name in (rep.results_path, rep.rejects_path, rep.log_path):
        text = Path(name).read_text(encoding="utf-8-sig")
        assert "Clear-Text-1" not in text and "Clear-2" not in text


@postgres_race
@pytest.mark.django_db(transaction=True)
def test_item16_two_actions_on_the_same_users_at_once_keep_both_changes(settings):
    """Issue 11: the race tests of imports, for two bulk actions writing the same users: the
    second waits for the first's row locks, plans again on what it committed, and the undo of
    the first then leaves the rows the second changed since (conflicts)."""
    from registrar.bulk.selection import Selection

    for login in ("alice", "bob", "carol"):
        f.user(login)
    both = {"ids": ["alice", "bob"]}

    def act(name: str, params: dict) -> engine.Request:
        return engine.Request(name, selection=Selection.from_json("users", both), params=params)

    settings.REGISTRAR_BATCH_SIZE = 1
    first = Paused(act("users.modify-values", {"udtf1": "first"})).start()
    first.release_later()
    second = engine.run(act("users.set-manager", {"manager": "carol"}))  # waits, plans again
    first_report = first.join()
    assert first_report.counts["updated"] == second.counts["updated"] == 2
    carol = User.objects.get(login="carol")
    for u in User.objects.filter(login__in=("alice", "bob")):
        assert (u.custom1, u.manager_id, u.op) == ("first", carol.pk, second.operation.pk)
    op, conflicts = undo(first_report.operation.pk)
    assert {c["label"] for c in conflicts} == {"alice", "bob"}  # changed since: left as they are
    undo(second.operation.pk)
    assert set(
        User.objects.filter(login__in=("alice", "bob")).values_list("custom1", "manager_id")
    ) == {("first", None)}
