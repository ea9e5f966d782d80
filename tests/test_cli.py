"""The command line (SPEC §3): one test per rule, through Django's call_command and the real script."""

import io
import json
import os
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registrar.bulk import imports
from registrar.directory.models import Organisation
from registrar.journal.models import ImportLock, Operation
from registrar.learning.models import CourseAssignment, CourseRecord

from . import factories as f
from .conftest import read_results, write_csv

H = ["course_id", "user_email", "completion_date", "course_title"]
OK_ROW = ["SAFE-101", "alice@example.com", "2024-06-15", ""]
BAD_ROW = ["NOPE", "alice@example.com", "2024-06-15", ""]
ORG_H = ["org_label", "org_extid", "parent_extid", "org_city"]
SUMMARY_KEYS = {
    "operation",
    "kind",
    "verify_only",
    "rows",
    "created",
    "updated",
    "deleted",
    "unchanged",
    "skipped",
    "rejected",
    "warnings",
}


@pytest.fixture
def world(db):
    f.user("alice")
    f.user("bob")
    f.course("SAFE-101", "Workplace safety")
    return None


def cli(*args) -> tuple[int, str]:
    """Run a management command; (exit status, standard output). CommandError propagates."""
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except SystemExit as e:
        return e.code, out.getvalue()
    return 0, out.getvalue()


def import_json(kind: str, path: str, *args) -> tuple[int, dict]:
    status, out = cli("import_file", kind, str(path), "--json", *args)
    return status, json.loads(out)


def refused(*args) -> CommandError:
    """A command that cannot be used at all: CommandError with exit status 2."""
    with pytest.raises(CommandError) as e:
        cli(*args)
    assert e.value.returncode == 2
    return e.value


# registrar import ---------------------------------------------------------------------------


def test_json_prints_one_object_with_exactly_the_documented_keys(world, tmp_path):
    status, summary = import_json("completions", write_csv(tmp_path / "in.csv", [H, OK_ROW]))
    assert status == 0
    assert set(summary) == SUMMARY_KEYS
    op = Operation.objects.get()
    assert summary == {
        "operation": op.pk,
        "kind": "completions",
        "verify_only": False,
        "rows": 1,
        "created": 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "rejected": 0,
        "warnings": 0,
    }


def test_exit_status_0_when_no_row_is_rejected(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    status, out = cli("import_file", "completions", path)
    assert status == 0
    assert out.startswith("Imported: operation #")
    assert "created 1" in out and "rejected 0" in out
    assert CourseRecord.objects.count() == 1


def test_exit_status_0_when_rows_are_only_skipped(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    cli("import_file", "completions", path)
    status, summary = import_json("completions", path)
    assert (status, summary["skipped"], summary["rejected"]) == (0, 1, 0)


def test_exit_status_1_when_some_row_is_rejected(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    status, summary = import_json("completions", path)
    assert status == 1
    assert (summary["created"], summary["rejected"]) == (1, 1)
    assert CourseRecord.objects.count() == 1


def test_exit_status_2_for_an_unreadable_file(world, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_text("not a spreadsheet")
    e = refused("import_file", "completions", str(path), "--json")
    assert str(e).startswith("unreadable_file: The file cannot be read")
    assert "unreadable_file" in str(refused("import_file", "completions", str(tmp_path / "no.csv")))


def test_exit_status_2_for_a_missing_required_column(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H[:2], OK_ROW[:2]])
    e = refused("import_file", "completions", path, "--json")
    assert str(e) == "missing_column: Required column completion_date is missing"
    assert not CourseRecord.objects.exists()


def test_exit_status_2_while_the_lock_is_held_until_unlock(world, tmp_path):
    held = Operation.objects.create(kind="import", name="completions")
    ImportLock.objects.create(kind="completions", scope_key="*", operation=held)
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    e = refused("import_file", "completions", path, "--json")
    assert str(e).startswith("import_locked: Another completions import is running")
    assert "registrar unlock completions" in str(e)
    assert not CourseRecord.objects.exists()
    status, out = cli("unlock", "completions")
    assert (status, out.strip()) == (0, "Released 1 lock(s) of completions.")
    held.refresh_from_db()
    assert (held.status, held.error) == (
        Operation.Status.FAILED,
        "interrupted; lock released by unlock",
    )
    status, summary = import_json("completions", path)
    assert (status, summary["created"]) == (0, 1)


def test_unlock_of_one_kind_leaves_the_others(db):
    ImportLock.objects.create(kind="completions", scope_key="*")
    ImportLock.objects.create(kind="users", scope_key="*")
    cli("unlock", "completions")
    assert list(ImportLock.objects.values_list("kind", flat=True)) == ["users"]


@pytest.mark.parametrize(
    "args,reason",
    [
        (["--set", "colour=red"], "invalid_option: Option colour: not an option of completions"),
        (["--set", "header=perhaps"], "invalid_option: Option header: expects yes or no"),
        (["--set", "delimiter=|"], "invalid_option: Option delimiter: expects one of"),
        (["--set", "header"], "--set expects OPTION=VALUE, not 'header'"),
        (["--scope", "NOWHERE"], "invalid_option: Option scope: no organisation"),
    ],
)
def test_exit_status_2_for_a_bad_option(world, tmp_path, args, reason):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    e = refused("import_file", "completions", path, "--json", *args)
    assert str(e).startswith(reason)
    assert not CourseRecord.objects.exists()


def test_exit_status_2_for_an_unknown_kind(world, tmp_path):
    e = refused("import_file", "nothing", write_csv(tmp_path / "in.csv", [H, OK_ROW]))
    assert str(e).startswith("invalid_option: Option KIND: unknown import kind 'nothing'")


def test_set_passes_options_to_the_kind(db, tmp_path):
    f.org("ACME", label="Acme")
    path = write_csv(tmp_path / "in.csv", [ORG_H, ["Acme Group", "ACME", "", ""]])
    assert import_json("organisations", path)[1]["unchanged"] == 1
    status, summary = import_json("organisations", path, "--set", "update_names=yes")
    assert (status, summary["updated"]) == (0, 1)
    assert Organisation.objects.get().label == "Acme Group"
    assert Operation.objects.order_by("pk").last().options["update_names"] is True


def test_verify_only_writes_nothing(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    status, summary = import_json("completions", path, "--verify-only")
    assert (status, summary["verify_only"], summary["created"], summary["rejected"]) == (
        1,
        True,
        1,
        1,
    )
    assert not CourseRecord.objects.exists() and not CourseAssignment.objects.exists()
    status, out = cli("import_file", "completions", path, "--verify-only")
    assert out.startswith("Verified (nothing written)")


def test_all_or_nothing_aborts_on_a_rejected_row(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    status, out = cli("import_file", "completions", path, "--all-or-nothing")
    assert status == 1
    assert out.startswith("Aborted (nothing written)")
    assert Operation.objects.get().status == Operation.Status.ABORTED
    assert not CourseRecord.objects.exists()


def test_results_rejects_and_log_are_written_where_asked(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    out = {
        k: tmp_path / "out" / f"{k}.{ext}"
        for k, ext in (("results", "csv"), ("rejects", "csv"), ("log", "txt"))
    }
    os.makedirs(tmp_path / "out")
    status, text = cli(
        "import_file",
        "completions",
        path,
        *(x for k, p in out.items() for x in (f"--{k}", str(p))),
    )
    assert status == 1
    assert [r["result"] for r in read_results(str(out["results"]))] == ["created", "rejected"]
    assert read_results(str(out["rejects"])) == [dict(zip(H, BAD_ROW, strict=True))]
    assert "row 3: error course_not_found" in out["log"].read_text()
    op = Operation.objects.get()
    assert f"results: {op.results_path}" in text and f"log:     {op.log_path}" in text


def test_unknown_columns_are_named_on_the_command_line(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [[*H, "colour"], [*OK_ROW, "red"]])
    status, out = cli("import_file", "completions", path)
    assert status == 0
    assert "warning unknown_column: colour" in out


def test_scope_limits_the_import_to_an_organisation_subtree(world, tmp_path):
    a = f.org("A")
    f.user("amy", organisation=a)
    path = write_csv(
        tmp_path / "in.csv", [H, ["SAFE-101", "amy@example.com", "2024-06-15"], OK_ROW]
    )
    status, summary = import_json("completions", path, "--scope", "A")
    assert (status, summary["created"], summary["rejected"]) == (1, 1, 1)
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["amy"]


def test_preview_prints_the_first_row_and_runs_nothing(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [[*H, "colour"], [*OK_ROW, "red"]])
    status, out = cli("import_file", "completions", path, "--preview", "--json")
    assert status == 0
    p = json.loads(out)
    assert (p["kind"], p["row"], p["unknown_columns"]) == ("completions", 2, ["colour"])
    assert [c["value"] for c in p["columns"]] == OK_ROW
    assert not Operation.objects.exists()


def test_messages_in_french(world, tmp_path):
    from django.utils import translation

    path = write_csv(tmp_path / "in.csv", [H, BAD_ROW])
    try:
        status, _ = cli("import_file", "completions", path, "--lang", "fr")
    finally:
        translation.activate("en")
    message = read_results(Operation.objects.get().results_path)[0]["message"]
    assert status == 1 and "NOPE" in message
    assert not message.startswith("No course has"), message


# registrar import-template ------------------------------------------------------------------


@pytest.mark.parametrize("xlsx", [False, True])
def test_import_template_writes_a_file_that_imports(db, tmp_path, xlsx):
    target = tmp_path / ("organisations.xlsx" if xlsx else "organisations.csv")
    args = ["--xlsx"] if xlsx else []
    status, out = cli("import_template", "organisations", "--output", str(target), *args)
    assert (status, out.strip()) == (0, str(target))
    rows = read_results(str(target))
    assert list(rows[0]) == [c.name for c in imports.KINDS["organisations"].columns]
    status, summary = import_json("organisations", target)
    assert (status, summary["rows"], summary["created"], summary["rejected"]) == (0, 3, 3, 0)
    assert Organisation.objects.get(extid="ACME-LOG").parent.extid == "ACME-EU"


@pytest.mark.parametrize("kind", list(imports.KINDS))
def test_every_kind_has_a_template_with_its_columns(db, tmp_path, kind):
    target = tmp_path / f"{kind}.csv"
    cli("import_template", kind, "-o", str(target))
    rows = read_results(str(target))
    assert rows and list(rows[0]) == [c.name for c in imports.KINDS[kind].columns]
    # Each template is a valid file for its kind: no file-level error, every row planned.
    status, summary = import_json(kind, target, "--verify-only")
    assert summary["rows"] == len(rows)


def test_import_template_without_output_writes_in_the_current_directory(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out = cli("import_template", "completions", "--xlsx")
    assert out.strip() == str(tmp_path / "completions-template.xlsx")
    assert (tmp_path / "completions-template.xlsx").is_file()


def test_import_template_of_an_unknown_kind_is_refused(db):
    assert "unknown import kind 'nothing'" in str(refused("import_template", "nothing"))


# registrar history and undo -----------------------------------------------------------------


def test_history_lists_operations_newest_first(world, tmp_path):
    first = import_json("completions", write_csv(tmp_path / "a.csv", [H, OK_ROW]))[1]
    second = import_json(
        "organisations", write_csv(tmp_path / "b.csv", [ORG_H, ["A", "A", "", ""]])
    )[1]
    status, out = cli("history")
    lines = out.splitlines()
    assert status == 0 and lines[0].split() == ["id", "when", "who", "what", "status", "counts"]
    assert [int(line.split()[0]) for line in lines[1:]] == [second["operation"], first["operation"]]
    assert "import organisations" in lines[1] and "created=1" in lines[1]
    assert "import completions" in lines[2] and "done" in lines[2]
    status, out = cli("history", "--limit", "1")
    assert len(out.splitlines()) == 2


def test_undo_verify_only_changes_nothing_and_undo_restores(world, tmp_path):
    op = import_json("completions", write_csv(tmp_path / "a.csv", [H, OK_ROW]))[1]["operation"]
    status, out = cli("undo", str(op), "--verify-only", "--json")
    summary = json.loads(out)
    assert (status, summary["verify_only"], summary["deleted"], summary["conflicts"]) == (
        0,
        True,
        2,
        [],
    )
    assert CourseRecord.objects.count() == 1 and CourseAssignment.objects.count() == 1
    assert Operation.objects.get(pk=op).undone_by_id is None
    status, out = cli("undo", str(op))
    assert status == 0 and out.startswith(f"Undone #{op} as operation #")
    assert not CourseRecord.objects.exists() and not CourseAssignment.objects.exists()
    assert "already undone" in str(refused("undo", str(op)))
    assert "no operation #999999" in str(refused("undo", "999999"))


def test_undo_reports_conflicts_with_exit_status_1(db, tmp_path):
    op = import_json(
        "organisations", write_csv(tmp_path / "a.csv", [ORG_H, ["A", "A", "", "Paris"]])
    )[1]["operation"]
    import_json("organisations", write_csv(tmp_path / "b.csv", [ORG_H, ["A", "A", "", "Rome"]]))
    status, out = cli("undo", str(op), "--yes")
    assert status == 1
    assert "conflict: directory.Organisation A (#" in out
    assert Organisation.objects.get().city == "Rome"


def test_an_undo_with_conflicts_is_refused_unless_confirmed_and_changes_nothing(db, tmp_path):
    op = import_json(
        "organisations",
        write_csv(tmp_path / "a.csv", [ORG_H, ["A", "A", "", "Paris"], ["B", "B", "", ""]]),
    )[1]["operation"]
    import_json("organisations", write_csv(tmp_path / "b.csv", [ORG_H, ["A", "A", "", "Rome"]]))
    e = refused("undo", str(op))  # no terminal to ask at, no --yes
    assert e.returncode == 2 and "1 row(s) of operation" in str(e) and "--yes" in str(e)
    assert set(Organisation.objects.values_list("extid", flat=True)) == {"A", "B"}
    assert Operation.objects.get(pk=op).undone_by_id is None


def test_undo_counts_conflicts_apart_from_rejected_rows_and_says_what_it_removes(db, tmp_path):
    op = import_json(
        "organisations",
        write_csv(tmp_path / "a.csv", [ORG_H, ["A", "A", "", "Paris"], ["B", "B", "", ""]]),
    )[1]["operation"]
    import_json("organisations", write_csv(tmp_path / "b.csv", [ORG_H, ["A", "A", "", "Rome"]]))
    status, out = cli("undo", str(op), "--yes", "--json")
    summary = json.loads(out)
    assert status == 1
    assert (summary["rejected"], summary["conflict_count"], summary["deleted"]) == (0, 1, 1)
    assert summary["tables"] == {"deleted": {"directory.Organisation": 1}}
    assert summary["conflicts"][0]["label"] == "A"
    undo_op = Operation.objects.get(pk=summary["operation"])
    assert (undo_op.rejected, undo_op.conflicts) == (0, 1)
    status, out = cli("undo", str(summary["operation"]), "--verify-only")
    assert "remove: " in out or "re-create: 1 organisation" in out


# The real `registrar` command ---------------------------------------------------------------


@pytest.mark.skipif("DATABASE_URL" in os.environ, reason="the script test uses its own SQLite file")
def test_the_registrar_script_inits_a_database_and_imports(tmp_path):
    script = shutil.which("registrar") or pytest.skip("the registrar script is not installed")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {"REGISTRAR_DB": str(tmp_path / "r.sqlite3"), "REGISTRAR_DATA": str(tmp_path / "data")}

    def registrar(*args):
        return subprocess.run(
            [script, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )

    init = registrar("init")
    assert init.returncode == 0, init.stderr
    assert "sqlite" in init.stdout and str(tmp_path / "r.sqlite3") in init.stdout
    path = write_csv(
        tmp_path / "orgs.csv",
        [ORG_H, ["Acme", "ACME", "", "Paris"], ["Acme Europe", "ACME-EU", "ACME", "Lyon"]],
    )
    done = registrar("import", "organisations", path, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == SUMMARY_KEYS
    assert (summary["kind"], summary["rows"], summary["created"]) == ("organisations", 2, 2)
    assert os.path.isfile(tmp_path / "data" / "operations" / str(summary["operation"]) / "log.txt")
    bad = registrar(
        "import", "organisations", write_csv(tmp_path / "bad.csv", [["org_label"], ["X"]])
    )
    assert bad.returncode == 2
    assert "missing_column" in bad.stderr and bad.stdout == ""
    rejected = registrar(
        "import",
        "organisations",
        write_csv(tmp_path / "rej.csv", [ORG_H, ["X", "X", "NOWHERE", ""]]),
    )
    assert rejected.returncode == 1


def test_progress_is_shown_on_a_terminal(world, tmp_path, monkeypatch, settings):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    settings.REGISTRAR_BATCH_SIZE = 1
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    path = write_csv(
        tmp_path / "in.csv", [H, OK_ROW, ["SAFE-101", "bob@example.com", "2024-06-15"]]
    )
    assert cli("import_file", "completions", path)[0] == 0
    last = term.getvalue().split("\r")[-1]
    assert last.startswith("100.0%") and "2 rows" in last and "rows/s" in last
    assert "s left" in last and last.endswith("\n")
    # Not on a terminal, nor with --json: no progress line to spoil the output.
    term.truncate(0)
    import_json("completions", path)
    assert term.getvalue().strip("\x00") == ""


def test_the_summary_and_the_undo_are_printed_in_the_language_asked_for(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    status, out = cli("import_file", "completions", path, "--lang", "fr")
    op = Operation.objects.get()
    assert status == 1
    assert out.startswith(f"Importé : opération n° {op.pk} completions : lignes 2, créées 1")
    assert "rejetées 1" in out and f"résultats : {op.results_path}" in out
    status, out = cli("undo", str(op.pk), "--lang", "fr")
    assert status == 0 and out.startswith(f"Annulé n° {op.pk} par l'opération n° ")
    assert "  supprimer : " in out
    # English stays the default, and nothing of French is left on the thread.
    assert cli("import_file", "completions", path)[1].startswith("Imported: operation #")


def test_an_undo_reports_its_progress_on_a_terminal(world, tmp_path, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    op = import_json("completions", write_csv(tmp_path / "a.csv", [H, OK_ROW]))[1]["operation"]
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert cli("undo", str(op))[0] == 0
    last = term.getvalue().split("\r")[-1]
    assert last.startswith("100.0%") and "2 rows" in last, term.getvalue()
