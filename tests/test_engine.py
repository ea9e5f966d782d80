"""The bulk engine (SPEC §2, rules common to every bulk operation; §10 file codes): one test per rule.

The completions and organisations import kinds are the vehicles.
"""

import io
import logging
import os
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import xlsxwriter
from django.utils import timezone

from registrar.bulk import engine, parsers
from registrar.bulk.imports.completions import Completions
from registrar.bulk.io.readers import FileError, open_table
from registrar.directory.models import Organisation
from registrar.journal.models import Change, ImportLock, Operation
from registrar.journal.service import file_checksum
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus

from . import factories as f
from .conftest import read_results, write_csv

H = ["course_id", "user_email", "completion_date", "course_title"]
OK_ROW = ["SAFE-101", "alice@example.com", "2024-06-15", ""]
BAD_ROW = ["NOPE", "alice@example.com", "2024-06-15", ""]
ORG_H = ["org_label", "org_extid", "parent_extid", "org_city"]


@pytest.fixture
def world(db):
    f.user("alice")
    f.user("bob")
    f.course("SAFE-101", "Workplace safety")
    f.course("SAFE-102", "Fire drill")
    return None


def outcomes(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def run(path, kind="completions", options=None, **kw):
    """Run an import on a file already written; the report with its results rows."""
    report = engine.run_import(
        engine.Request(kind=kind, path=str(path), options=options or {}, **kw)
    )
    report.rows = read_results(report.results_path)
    return report


def file_error(path, kind="completions", options=None, **kw) -> FileError:
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request(kind=kind, path=str(path), options=options or {}, **kw))
    return e.value


def write_xlsx(path, rows) -> str:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            sheet.write(i, j, v)
    book.close()
    return str(path)


def write_ods(path, rows) -> str:
    """A minimal but real OpenDocument spreadsheet (the zip layout LibreOffice writes)."""
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p></table:table-cell>'
            if v
            else "<table:table-cell/>"
            for v in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        "<office:body><office:spreadsheet>"
        f'<table:table table:name="Sheet1">{cells}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(str(path), "w") as z:
        z.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return str(path)


def org_values(extid: str) -> dict:
    """An organisation's stored values, without the journal's `op` stamp."""
    values = Organisation.objects.filter(extid=extid).values().first()
    if values is not None:
        values.pop("op")
    return values


# §2.1 Same engine everywhere ---------------------------------------------------------------


def test_same_engine_everywhere_the_command_line_runs_the_engine(world, tmp_path, monkeypatch):
    from django.core.management import call_command

    calls = []
    real = engine.run_import

    def spy(req):
        calls.append(req)
        return real(req)

    monkeypatch.setattr(engine, "run_import", spy)
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    call_command("import_file", "completions", path, "--json", stdout=io.StringIO())
    assert [(r.kind, r.path) for r in calls] == [("completions", path)]
    assert CourseRecord.objects.filter(user__login="alice").count() == 1


# §2.2 Preview ------------------------------------------------------------------------------


def test_preview_shows_the_first_data_row_column_by_column(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv",
        [
            ["Course ID", "user_email", "completion_date", "notes"],
            ["SAFE-101", "not-an-email", "2024/06/15", "hello"],
            ["SAFE-102", "bob@example.com", "2024-06-15", ""],
        ],
    )
    p = engine.preview("completions", path)
    assert p["row"] == 2
    assert p["unknown_columns"] == ["notes"]
    assert p["missing_columns"] == []
    assert (p["format"], p["delimiter"]) == ("csv", ";")
    cols = {c["column"]: c for c in p["columns"]}
    assert list(cols) == H
    first = {k: v for k, v in cols["course_id"].items() if k not in ("values", "cells")}
    assert first == {
        "column": "course_id",
        "header": "Course ID",
        "value": "SAFE-101",
        "required": True,
        "status": "ok",
        "parsed": "SAFE-101",
    }
    assert (cols["user_email"]["status"], cols["user_email"]["value"]) == (
        "invalid_email",
        "not-an-email",
    )
    assert cols["completion_date"]["status"] == "ok"
    assert cols["completion_date"]["parsed"].startswith("2024-06-15T00:00:00")  # ISO 8601
    assert (cols["course_title"]["header"], cols["course_title"]["status"]) == (None, "absent")
    assert not Operation.objects.exists() and not CourseRecord.objects.exists()


def test_preview_names_missing_required_columns_instead_of_failing(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv", [["course_id", "completion_date"], ["SAFE-101", "2024-06-15"]]
    )
    p = engine.preview("completions", path)
    assert p["missing_columns"] == ["user_email"]
    cols = {c["column"]: c for c in p["columns"]}
    assert (cols["user_email"]["header"], cols["user_email"]["status"]) == (
        None,
        "missing_column",
    )
    assert cols["course_id"]["status"] == "ok"


# §2.3 Verify only --------------------------------------------------------------------------


def test_verify_only_writes_nothing_and_gives_the_real_run_results(db, tmp_path):
    f.org("ACME", label="Acme", city="Paris")
    path = write_csv(
        tmp_path / "orgs.csv",
        [
            ORG_H,
            ["Acme", "ACME", "", "Lyon"],
            ["Acme Europe", "ACME-EU", "ACME", "Lyon"],
            ["Orphan", "ORPHAN", "NOWHERE", ""],
            ["Acme Europe", "ACME-EU", "", ""],
        ],
    )
    before = org_values("ACME")
    verified = run(path, "organisations", verify_only=True)
    assert org_values("ACME") == before
    assert list(Organisation.objects.values_list("extid", flat=True)) == ["ACME"]
    assert verified.operation.status == Operation.Status.VERIFIED
    assert verified.operation.verify_only is True
    assert not Change.objects.exists()
    real = run(path, "organisations")
    assert (
        outcomes(verified)
        == outcomes(real)
        == [
            ("updated", ""),
            ("created", ""),
            ("rejected", "parent_not_found"),
            ("rejected", "duplicate_row"),
        ]
    )
    assert verified.counts == real.counts
    assert org_values("ACME")["city"] == "Lyon"


# §2.4 Per-row results ----------------------------------------------------------------------


def test_each_row_ends_as_exactly_one_result_with_codes_and_a_message(db, tmp_path):
    f.org("SAME", label="Same")
    f.org("OLD", label="Old", city="Paris")
    path = write_csv(
        tmp_path / "orgs.csv",
        [
            [*ORG_H, "org_supervisor_extid", "org_budget"],
            ["New", "NEW", "", "", "", ""],
            ["Old", "OLD", "", "Lyon", "", ""],
            ["Same", "SAME", "", "", "", ""],
            ["Warned", "WARNED", "", "", "NOBODY", ""],
            ["Bad", "BAD", "", "", "", "lots"],
        ],
    )
    rep = run(path, "organisations")
    assert outcomes(rep) == [
        ("created", ""),
        ("updated", ""),
        ("unchanged", ""),
        ("created", "supervisor_not_found"),  # a warning never blocks
        ("rejected", "invalid_number"),  # an error rejects its row only
    ]
    assert all(r["result"] in engine.RESULTS for r in rep.rows)
    assert rep.rows[3]["message"] == "Supervisor 'NOBODY' was not found: left empty"
    assert rep.rows[4]["message"] == "Column org_budget: 'lots' is not a number"
    assert rep.counts == {
        "rows": 5,
        "created": 2,
        "updated": 1,
        "deleted": 0,
        "unchanged": 1,
        "skipped": 0,
        "rejected": 1,
        "warnings": 1,
    }
    assert set(Organisation.objects.values_list("extid", flat=True)) == {
        "SAME",
        "OLD",
        "NEW",
        "WARNED",
    }


def test_all_or_nothing_with_one_rejected_row_writes_nothing_and_aborts(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    rep = run(path, all_or_nothing=True)
    assert rep.operation.status == Operation.Status.ABORTED
    assert [r["result"] for r in rep.rows] == ["created", "rejected"]
    assert not CourseRecord.objects.exists() and not CourseAssignment.objects.exists()
    assert not Change.objects.exists()


def test_all_or_nothing_without_rejected_rows_writes_everything(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv", [H, OK_ROW, ["SAFE-102", "bob@example.com", "2024-06-15"]]
    )
    rep = run(path, all_or_nothing=True)
    assert rep.operation.status == Operation.Status.DONE
    assert CourseRecord.objects.count() == 2


# §2.5 Files back ---------------------------------------------------------------------------


def test_results_file_is_the_input_plus_row_result_codes_message(world, tmp_path):
    header = ["Course_ID", "user_email", "completion_date", "notes"]
    path = write_csv(
        tmp_path / "in.csv",
        [header, ["SAFE-101", "alice@example.com", "2024-06-15", "first"], [*BAD_ROW[:3], "=1+1"]],
    )
    rep = run(path)
    t = open_table(rep.results_path)
    try:
        assert t.headers == [*header, "row", "result", "codes", "message"]
        assert t.delimiter == ";"
        rows = [cells for _, cells in t.rows()]
    finally:
        t.close()
    assert rows == [
        ["SAFE-101", "alice@example.com", "2024-06-15", "first", "2", "created", "", ""],
        [
            "NOPE",
            "alice@example.com",
            "2024-06-15",
            "'=1+1",  # escaped: a spreadsheet would evaluate it (issue 10, item 12)
            "3",
            "rejected",
            "course_not_found",
            "No course has the identifier 'NOPE'",
        ],
    ]


def test_rejects_file_holds_only_rejected_rows_in_the_input_format_and_reimports(world, tmp_path):
    header = ["course_id", "user_email", "completion_date", "course_title"]
    path = write_csv(
        tmp_path / "in.csv",
        [
            header,
            OK_ROW,
            ["SAFE-102", "bob@example.com", "2024-06-15", "Wrong title"],
            ["SAFE-102", "nobody@example.com", "2024-06-15", ""],
        ],
        delimiter=",",
        encoding="cp1252",
    )
    rep = run(path)
    raw = Path(rep.rejects_path).read_bytes()
    assert raw.decode("cp1252").splitlines() == [
        "course_id,user_email,completion_date,course_title",
        "SAFE-102,bob@example.com,2024-06-15,Wrong title",
        "SAFE-102,nobody@example.com,2024-06-15,",
    ]
    # Fixed and imported again, the rejects file is an ordinary input.
    fixed = raw.replace(b"Wrong title", b"Fire drill").replace(b"nobody@", b"alice@")
    again = tmp_path / "fixed.csv"
    again.write_bytes(fixed)
    assert outcomes(run(again)) == [("created", ""), ("created", "")]


def test_log_lists_errors_and_warnings_with_row_numbers(db, tmp_path):
    path = write_csv(
        tmp_path / "orgs.csv",
        [
            [*ORG_H, "org_supervisor_extid", "remarks"],
            ["Fine", "FINE", "", "", "", ""],
            ["Warned", "WARNED", "", "", "NOBODY", ""],
            ["Orphan", "ORPHAN", "NOWHERE", "", "", ""],
        ],
    )
    rep = run(path, "organisations")
    lines = Path(rep.log_path).read_text(encoding="utf-8").splitlines()
    assert lines == [
        "file: Column remarks is not known and was ignored",
        "row 3: warning supervisor_not_found: Supervisor 'NOBODY' was not found: left empty",
        "row 4: error parent_not_found: Parent 'NOWHERE' is not in the platform, and no applied row of the file defines it",
    ]


def test_spreadsheet_input_gives_spreadsheet_results_and_rejects(world, tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", [H, OK_ROW, BAD_ROW])
    rep = run(path)
    assert rep.results_path.endswith(".xlsx") and rep.rejects_path.endswith(".xlsx")
    assert zipfile.is_zipfile(rep.results_path) and zipfile.is_zipfile(rep.rejects_path)
    assert [(r["row"], r["result"], r["codes"]) for r in rep.rows] == [
        ("2", "created", ""),
        ("3", "rejected", "course_not_found"),
    ]
    assert read_results(rep.rejects_path) == [
        dict(zip(H, ["NOPE", *BAD_ROW[1:3], ""], strict=True))
    ]


def test_requested_paths_receive_copies_of_the_three_files(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    out = {k: str(tmp_path / f"mine-{k}") for k in ("results", "rejects", "log")}
    rep = run(
        path,
        results_path=out["results"],
        rejects_path=out["rejects"],
        log_path=out["log"],
    )
    for k in out:
        assert Path(out[k]).read_bytes() == Path(getattr(rep, f"{k}_path")).read_bytes()


# §2.6 Idempotent ---------------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing_the_second_time(db, tmp_path):
    path = write_csv(
        tmp_path / "orgs.csv",
        [
            ORG_H,
            ["Child", "CHILD", "ROOT", "Lyon"],  # parent later in the file
            ["Root", "ROOT", "", "Paris"],
            ["Orphan", "ORPHAN", "NOWHERE", ""],
        ],
    )
    first = run(path, "organisations")
    snapshot = list(Organisation.objects.order_by("pk").values())
    second = run(path, "organisations")
    assert outcomes(first) == [("created", ""), ("created", ""), ("rejected", "parent_not_found")]
    assert outcomes(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "parent_not_found"),
    ]
    assert list(Organisation.objects.order_by("pk").values()) == snapshot
    assert not Change.objects.filter(operation=second.operation).exists()


# §2.7 Journal and undo ---------------------------------------------------------------------


def test_every_operation_is_journalled_with_kind_actor_checksum_and_counts(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    rep = run(path)
    op = Operation.objects.get(pk=rep.operation.pk)
    assert (op.kind, op.name, op.actor_label, op.status) == (
        "import",
        "completions",
        "command line",
        Operation.Status.DONE,
    )
    assert op.file_name == "in.csv"
    assert op.file_checksum == file_checksum(path) and len(op.file_checksum) == 64
    assert op.counts() == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "rejected": 1,
        "warnings": 0,
    }
    assert op.finished_at is not None and op.options["all_or_nothing"] is False
    assert op.results_path == rep.results_path and os.path.isfile(op.log_path)
    assert Change.objects.filter(operation=op).exists()


def test_the_actor_is_recorded(world, tmp_path):
    admin = f.user("admin")
    rep = run(write_csv(tmp_path / "in.csv", [H, OK_ROW]), actor=admin)
    assert (rep.operation.actor_id, rep.operation.actor_label) == (admin.pk, "admin")


def test_undo_of_an_import_restores_the_database_as_it_was(db, tmp_path):
    f.org("ACME", label="Acme", city="Paris")
    before = org_values("ACME")
    path = write_csv(
        tmp_path / "orgs.csv",
        [ORG_H, ["Acme Group", "ACME", "", "Lyon"], ["Acme Europe", "ACME-EU", "ACME", "Lyon"]],
    )
    rep = run(path, "organisations", options={"update_names": "yes"})
    assert outcomes(rep) == [("updated", ""), ("created", "")]
    assert (org_values("ACME")["label"], org_values("ACME")["city"]) == ("Acme Group", "Lyon")
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert op.kind == "undo" and op.undo_of_id == rep.operation.pk
    assert org_values("ACME") == before
    assert not Organisation.objects.filter(extid="ACME-EU").exists()
    rep.operation.refresh_from_db()
    assert rep.operation.undone_by_id == op.pk


def test_undo_of_a_completions_import_removes_and_restores_records(world, tmp_path):
    bob = f.user("carl")
    started = CourseRecord.objects.create(
        user=bob, course=f.course("C3"), status=CourseStatus.NOT_STARTED
    )
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW, ["C3", "carl@example.com", "2024-06-15"]])
    rep = run(path)
    assert outcomes(rep) == [("created", ""), ("updated", "")]
    undo(rep.operation.pk)
    assert list(CourseRecord.objects.values_list("pk", "status")) == [
        (started.pk, CourseStatus.NOT_STARTED)
    ]
    assert not CourseAssignment.objects.exists()


def test_undo_leaves_rows_changed_since_as_conflicts(db, tmp_path):
    first = run(
        write_csv(tmp_path / "a.csv", [ORG_H, ["A", "A", "", "Paris"], ["B", "B", "", "Paris"]]),
        "organisations",
    )
    run(write_csv(tmp_path / "b.csv", [ORG_H, ["A", "A", "", "Rome"]]), "organisations")
    op, conflicts = undo(first.operation.pk)
    assert [(c["table"], c["pk"]) for c in conflicts] == [
        ("directory.Organisation", Organisation.objects.get(extid="A").pk)
    ]
    assert list(Organisation.objects.values_list("extid", "city")) == [("A", "Rome")]


# §2.8 Locks --------------------------------------------------------------------------------


def test_a_second_import_of_the_same_kind_is_refused_until_unlock(world, tmp_path):
    from django.core.management import call_command

    held = Operation.objects.create(kind="import", name="completions")
    ImportLock.objects.create(kind="completions", scope_key="*", operation=held)
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    e = file_error(path)
    assert e.code == "import_locked" and e.params["kind"] == "completions"
    assert not CourseRecord.objects.exists()
    refused = Operation.objects.exclude(pk=held.pk).get()
    assert refused.status == Operation.Status.FAILED
    assert "registrar unlock completions" in refused.error
    # Another kind is not blocked.
    assert run(write_csv(tmp_path / "o.csv", [ORG_H, ["A", "A", "", ""]]), "organisations")
    call_command("unlock", "completions", stdout=io.StringIO())
    assert not ImportLock.objects.exists()
    held.refresh_from_db()
    assert held.status == Operation.Status.FAILED
    assert outcomes(run(path)) == [("created", "")]


def test_the_lock_is_released_after_success_and_after_failure(world, tmp_path):
    run(write_csv(tmp_path / "in.csv", [H, OK_ROW]))
    assert not ImportLock.objects.exists()
    assert file_error(write_csv(tmp_path / "empty.csv", [H])).code == "empty_file"
    assert not ImportLock.objects.exists()
    assert Operation.objects.order_by("pk").last().status == Operation.Status.FAILED


# §2.9 Scope --------------------------------------------------------------------------------


def test_rows_outside_the_scope_are_rejected_out_of_scope(db, tmp_path):
    a = f.org("A")
    f.org("A1", parent=a)
    f.org("B")
    path = write_csv(
        tmp_path / "orgs.csv",
        [ORG_H, ["A2", "A2", "A1", ""], ["B2", "B2", "B", ""], ["B", "B", "", "Rome"]],
    )
    rep = run(path, "organisations", scope="A")
    assert outcomes(rep) == [
        ("created", ""),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
    ]
    assert rep.operation.scope.extid == "A"
    assert not Organisation.objects.filter(extid="B2").exists()
    assert org_values("B")["city"] == ""


def test_an_unknown_scope_is_refused(world, tmp_path):
    e = file_error(write_csv(tmp_path / "in.csv", [H, OK_ROW]), scope="NOPE")
    assert (e.code, e.params["option"]) == ("invalid_option", "scope")


# §2.10 Files -------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_separator_is_detected(world, tmp_path, delimiter):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW], delimiter=delimiter)
    rep = run(path)
    assert outcomes(rep) == [("created", "")]
    assert open_table(rep.results_path).delimiter == delimiter


def test_csv_separator_can_be_forced(world, tmp_path):
    # Detection would take the ';' of the last header for the separator: forcing ',' reads it right.
    rows = [
        [*H[:3], "notes;remarks;misc;other"],
        ["SAFE-101", "alice@example.com", "2024-06-15", "x"],
    ]
    path = write_csv(tmp_path / "in.csv", rows, delimiter=",")
    assert file_error(path).code == "missing_column"
    rep = run(path, options={"delimiter": ","})
    assert outcomes(rep) == [("created", "")]
    assert rep.file_warnings == ["notes;remarks;misc;other"]


def test_csv_separator_detection_ignores_separators_inside_quotes(world, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        b'course_id,user_email,completion_date,"notes; remarks; misc; other"\r\n'
        b'SAFE-101,alice@example.com,2024-06-15,"a;b;c"\r\n'
    )
    rep = run(path)
    assert outcomes(rep) == [("created", "")]
    assert rep.file_warnings == ["notes; remarks; misc; other"]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"]
)
def test_csv_encoding_is_detected(db, tmp_path, encoding):
    path = write_csv(
        tmp_path / "orgs.csv",
        [ORG_H, ["Hélène Dupré", "HD", "", "Besançon"], ["Zoë & Œuvre", "ZO", "", "Périgueux"]],
        encoding=encoding,
    )
    rep = run(path, "organisations")
    assert outcomes(rep) == [("created", ""), ("created", "")]
    assert dict(Organisation.objects.values_list("extid", "label")) == {
        "HD": "Hélène Dupré",
        "ZO": "Zoë & Œuvre",
    }
    assert org_values("HD")["city"] == "Besançon"


def test_csv_encoding_can_be_forced(db, tmp_path):
    path = write_csv(tmp_path / "orgs.csv", [ORG_H, ["Hélène", "HD", "", ""]], encoding="latin-1")
    run(path, "organisations", options={"encoding": "latin-1"})
    assert org_values("HD")["label"] == "Hélène"


def test_xlsx_is_read(world, tmp_path):
    path = write_xlsx(
        tmp_path / "in.xlsx",
        [
            H,
            ["  SAFE-101 ", "alice@example.com", "2024-06-15", ""],
            [],
            ["SAFE-102", "bob@example.com", "2024/06/15"],
        ],
    )
    rep = run(path)
    assert [(r["row"], r["result"]) for r in rep.rows] == [("2", "created"), ("4", "created")]
    assert rep.rows[0]["course_id"] == "SAFE-101"


def test_xlsx_native_dates_and_numbers_are_read(db, tmp_path):
    book = xlsxwriter.Workbook(str(tmp_path / "orgs.xlsx"))
    sheet = book.add_worksheet()
    for j, h in enumerate(["org_label", "org_extid", "org_budget", "org_zipcode"]):
        sheet.write(0, j, h)
    sheet.write(1, 0, "Acme")
    sheet.write(1, 1, "ACME")
    sheet.write_number(1, 2, 1200.5)
    sheet.write_number(1, 3, 75001)
    book.close()
    rep = run(tmp_path / "orgs.xlsx", "organisations")
    assert outcomes(rep) == [("created", "")]
    v = org_values("ACME")
    assert (str(v["budget"]), v["zipcode"]) == ("1200.50", "75001")


def test_ods_is_read(db, tmp_path):
    path = write_ods(
        tmp_path / "orgs.ods",
        [ORG_H, ["Hélène", "HD", "", " Lyon "], ["", "", "", ""], ["Child", "CH", "HD", ""]],
    )
    rep = run(path, "organisations")
    assert [(r["row"], r["result"]) for r in rep.rows] == [("2", "created"), ("4", "created")]
    assert rep.results_path.endswith(".xlsx")
    assert org_values("HD")["city"] == "Lyon"
    assert Organisation.objects.get(extid="CH").parent.extid == "HD"


XLS = os.path.join(os.path.dirname(__file__), "data", "organisations.xls")


def test_xls_is_read(db):
    """tests/data/organisations.xls: a BIFF8 workbook written by xlwt (tests/data/make_xls.py)."""
    rep = run(XLS, "organisations")
    assert [(r["row"], r["result"]) for r in rep.rows] == [("2", "created"), ("4", "created")]
    assert rep.results_path.endswith(".xlsx")
    assert [
        str(b) for b in Organisation.objects.order_by("pk").values_list("budget", flat=True)
    ] == [
        "1200.50",
        "75001.00",
    ]
    assert dict(Organisation.objects.values_list("extid", "label")) == {
        "ACME": "Acme Group",
        "ACME-EU": "Acme Europe Hélène",
    }
    assert Organisation.objects.get(extid="ACME-EU").parent.extid == "ACME"


def test_headers_match_case_and_space_insensitively_and_by_alias(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv",
        [
            [" Course ID ", "EMAIL", "Completed_At", "COURSE title"],
            ["SAFE-101", "alice@example.com", "2024-06-15", "Workplace safety"],
        ],
    )
    rep = run(path)
    assert outcomes(rep) == [("created", "")]
    assert rep.file_warnings == []


def test_unknown_column_is_a_warning_and_the_import_proceeds(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [[*H, "Cost centre"], [*OK_ROW, "CC1"]])
    rep = run(path)
    assert outcomes(rep) == [("created", "")]
    assert rep.file_warnings == ["Cost centre"]
    assert "file: Column Cost centre is not known and was ignored" in Path(rep.log_path).read_text(
        encoding="utf-8"
    )
    assert CourseRecord.objects.count() == 1


def test_missing_required_column_is_a_file_error(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv", [["course_id", "completion_date"], ["SAFE-101", "2024-06-15"]]
    )
    e = file_error(path)
    assert (e.code, e.params["column"]) == ("missing_column", "user_email")
    assert not CourseRecord.objects.exists()


def test_duplicate_column_is_a_file_error(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [[*H, "Email"], [*OK_ROW, "bob@example.com"]])
    e = file_error(path)
    assert (e.code, e.params["column"]) == ("duplicate_column", "Email")
    assert not CourseRecord.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xef\xbb\xbf",
        b"\r\n\r\n",
        b"course_id;user_email;completion_date\r\n",
        b"course_id;user_email;completion_date\r\n;;\r\n\r\n",
    ],
    ids=["empty", "bom-only", "blank-lines", "header-only", "header-and-blank-rows"],
)
def test_empty_file_and_header_only_file_are_empty_file(world, tmp_path, content):
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    assert file_error(path).code == "empty_file"


def test_empty_spreadsheet_is_empty_file(world, tmp_path):
    assert file_error(write_xlsx(tmp_path / "in.xlsx", [])).code == "empty_file"
    assert file_error(write_xlsx(tmp_path / "h.xlsx", [H])).code == "empty_file"


def test_blank_lines_are_ignored(world, tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"\r\n"
        b"course_id;user_email;completion_date\r\n"
        b"\r\n"
        b"SAFE-101;alice@example.com;2024-06-15\r\n"
        b";;\r\n"
        b"   \r\n"
        b"SAFE-102;bob@example.com;2024-06-15\r\n"
        b"\r\n"
    )
    rep = run(path)
    assert [(r["row"], r["result"]) for r in rep.rows] == [("4", "created"), ("7", "created")]
    assert rep.counts["rows"] == 2


def test_cells_are_trimmed(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv",
        [H, ["  SAFE-101\t", " alice@example.com ", " 2024-06-15 ", "  Workplace safety  "]],
    )
    assert outcomes(run(path)) == [("created", "")]


def test_without_a_header_row_columns_are_in_the_documented_order(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [OK_ROW[:3], BAD_ROW])
    rep = run(path, options={"header": "no"})
    assert [(r["row"], r["result"], r["codes"]) for r in rep.rows] == [
        ("1", "created", ""),
        ("2", "rejected", "course_not_found"),
    ]
    # The rejects file has no header either, so it imports again the same way.
    assert Path(rep.rejects_path).read_text(encoding="utf-8").splitlines() == [
        "NOPE;alice@example.com;2024-06-15;"
    ]


def test_no_row_limit_by_default(db, tmp_path, settings):
    assert settings.REGISTRAR_MAX_ROWS == 0
    rows = [[f"Org {i}", f"O{i}", "", ""] for i in range(5001)]  # the seeds' cap is 5,000
    rep = run(write_csv(tmp_path / "orgs.csv", [ORG_H, *rows]), "organisations")
    assert rep.counts["created"] == 5001
    assert Organisation.objects.count() == 5001


def test_configured_row_limit_refuses_a_longer_file_and_writes_nothing(world, tmp_path, settings):
    settings.REGISTRAR_MAX_ROWS = 2
    rows = [
        OK_ROW,
        ["SAFE-102", "alice@example.com", "2024-06-15"],
        ["SAFE-101", "bob@example.com", "2024-06-15"],
    ]
    e = file_error(write_csv(tmp_path / "in.csv", [H, *rows]))
    assert (e.code, e.params["limit"]) == ("too_many_rows", 2)
    assert not CourseRecord.objects.exists() and not Change.objects.exists()
    assert Operation.objects.get().status == Operation.Status.FAILED
    assert not ImportLock.objects.exists()
    assert outcomes(run(write_csv(tmp_path / "two.csv", [H, *rows[:2]]))) == [("created", "")] * 2


def test_an_xlsx_that_is_not_a_zip_is_unreadable(world, tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_text("course_id;user_email\nSAFE-101;alice@example.com\n")
    assert file_error(path).code == "unreadable_file"


def test_a_missing_file_is_unreadable(world, tmp_path):
    assert file_error(tmp_path / "nowhere.csv").code == "unreadable_file"


def test_an_unknown_extension_is_unsupported_format(world, tmp_path):
    path = tmp_path / "in.pdf"
    path.write_bytes(b"%PDF-1.4")
    assert (file_error(path).code, file_error(path).params["value"]) == (
        "unsupported_format",
        ".pdf",
    )


def test_invalid_text_in_the_declared_encoding_is_unreadable(world, tmp_path):
    path = write_csv(
        tmp_path / "in.csv",
        [H, ["SAFE-101", "hélène@example.com", "2024-06-15"]],
        encoding="cp1252",
    )
    assert file_error(path, options={"encoding": "utf-8"}).code == "unreadable_file"


def test_unknown_option_is_refused(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    assert file_error(path, options={"colour": "red"}).code == "invalid_option"
    assert file_error(path, options={"delimiter": "|"}).code == "invalid_option"
    assert file_error(path, options={"header": "perhaps"}).code == "invalid_option"
    e = file_error(path, options={"encoding": "klingon"})
    assert (e.code, e.params["option"]) == ("invalid_option", "encoding")
    assert not Operation.objects.exists()


# §2.11 Dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2024-06-15", "2024-06-15T00:00:00+02:00"),
        ("2024/06/15", "2024-06-15T00:00:00+02:00"),
        ("2024-06-15T14:30:00", "2024-06-15T14:30:00+02:00"),
        ("2024-06-15T14:30:00+10:00", "2024-06-15T14:30:00+10:00"),
        ("2024-01-15T14:30:00Z", "2024-01-15T14:30:00+00:00"),
    ],
)
def test_dates_are_iso_8601_or_slashed_in_the_platform_time_zone(settings, text, expected):
    assert settings.TIME_ZONE == "Europe/Paris"
    parsed = parsers.datetime_(past=True)(text)
    assert parsed == datetime.fromisoformat(expected)


@pytest.mark.parametrize("text", ["15/06/2024", "2024-13-01", "yesterday", "2024-06-15T25:00"])
def test_other_date_forms_are_invalid(text):
    with pytest.raises(parsers.CellError) as e:
        parsers.datetime_()(text)
    assert e.value.code == "invalid_date"


def test_a_completion_date_in_the_future_is_rejected(world, tmp_path):
    soon = (timezone.now() + timedelta(hours=2)).isoformat(timespec="seconds")
    rep = run(write_csv(tmp_path / "in.csv", [H, ["SAFE-101", "alice@example.com", soon]]))
    assert outcomes(rep) == [("rejected", "future_date")]


# §2.12 Progress ----------------------------------------------------------------------------


def test_progress_reports_rows_done_fraction_and_elapsed(world, tmp_path, settings):
    settings.REGISTRAR_BATCH_SIZE = 2
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 2  # completions take the columnar lane
    rows = [
        [c, u, "2024-06-15"]
        for c in ("SAFE-101", "SAFE-102")
        for u in ("alice@example.com", "bob@example.com")
    ]
    calls = []
    run(
        write_csv(tmp_path / "in.csv", [H, *rows, BAD_ROW]),
        progress=lambda *a: calls.append(a),
    )
    assert [c[0] for c in calls] == [2, 4, 5]
    assert all(0 <= c[2] <= 1 for c in calls) and calls[-1][2] == 1.0
    assert all(c[3] >= 0 for c in calls)


# §10 processing_error ----------------------------------------------------------------------


def test_an_unexpected_failure_rejects_its_row_only_with_processing_error(
    world, tmp_path, monkeypatch, caplog
):
    f.course("BOOM")
    real = Completions.apply

    def apply(self, rows, refs, ctx):
        if any(r.values["course_id"] == "BOOM" for r in rows):
            raise RuntimeError("secret internals")
        return real(self, rows, refs, ctx)

    monkeypatch.setattr(Completions, "apply", apply)
    path = write_csv(
        tmp_path / "in.csv",
        [
            H,
            OK_ROW,
            ["BOOM", "alice@example.com", "2024-06-15"],
            ["SAFE-102", "bob@example.com", "2024-06-15"],
            BAD_ROW,
        ],
    )
    with caplog.at_level(logging.ERROR, logger="registrar.bulk"):
        rep = run(path)
    assert outcomes(rep) == [
        ("created", ""),
        ("rejected", "processing_error"),
        ("created", ""),
        ("rejected", "course_not_found"),
    ]
    message = rep.rows[1]["message"]
    assert message.startswith("Unexpected error while processing this row (reference ")
    assert "secret internals" not in message
    assert "secret internals" not in Path(rep.log_path).read_text(encoding="utf-8")
    ref = message.rsplit(" ", 1)[1].rstrip(")")
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    assert set(CourseRecord.objects.values_list("course__code", "user__login")) == {
        ("SAFE-101", "alice"),
        ("SAFE-102", "bob"),
    }
    assert rep.operation.status == Operation.Status.DONE


def test_processing_error_in_a_later_batch_keeps_earlier_batches(
    world, tmp_path, monkeypatch, settings
):
    settings.REGISTRAR_BATCH_SIZE = 2
    f.course("BOOM")
    real = Completions.apply

    def apply(self, rows, refs, ctx):
        if any(r.values["course_id"] == "BOOM" for r in rows):
            raise RuntimeError("boom")
        return real(self, rows, refs, ctx)

    monkeypatch.setattr(Completions, "apply", apply)
    path = write_csv(
        tmp_path / "in.csv",
        [
            H,
            OK_ROW,
            ["SAFE-102", "alice@example.com", "2024-06-15"],
            ["SAFE-101", "bob@example.com", "2024-06-15"],
            ["BOOM", "bob@example.com", "2024-06-15"],
        ],
    )
    rep = run(path)
    assert [r["result"] for r in rep.rows] == ["created", "created", "created", "rejected"]
    assert CourseRecord.objects.count() == 3


# Rows settled after the last batch (forward references) ------------------------------------

USER_H = [
    "user_lname",
    "user_fname",
    "user_login",
    "user_password",
    "org_extid",
    "user_extid",
    "user_manager_extid",
    "remarks",
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_warnings_settled_after_the_last_batch_reach_the_results_and_the_log(
    db, tmp_path, settings, suffix
):
    settings.REGISTRAR_BATCH_SIZE = 1
    f.org("ACME")
    rows = [
        USER_H,
        ["Martin", "Alice", "amartin", "pw-secret-1", "ACME", "E1", "E2", ""],  # manager later
        ["Durand", "Bob", "bdurand", "pw-secret-2", "ACME", "E2", "NOBODY", ""],
        ["Petit", "Carl", "cpetit", "pw-secret-3", "NOWHERE", "E3", "", ""],
    ]
    path = tmp_path / f"users{suffix}"
    (write_xlsx if suffix == ".xlsx" else write_csv)(path, rows)
    rep = run(path, "users")
    assert outcomes(rep) == [
        ("created", ""),
        ("created", "manager_not_found"),
        ("rejected", "org_not_found"),
    ]
    assert (
        rep.rows[1]["message"] == "Manager 'NOBODY' (user_manager_extid) was not found: left empty"
    )
    assert rep.counts["warnings"] == 1 and rep.operation.warnings == 1
    assert Path(rep.log_path).read_text(encoding="utf-8").splitlines() == [
        "file: Column remarks is not known and was ignored",
        "row 3: warning manager_not_found: Manager 'NOBODY' (user_manager_extid) was not found: left empty",
        "row 4: error org_not_found: No organisation has the external id 'NOWHERE'",
    ]
    assert [r["user_login"] for r in read_results(rep.rejects_path)] == ["cpetit"]
    from registrar.directory.models import User

    assert User.objects.get(login="amartin").manager.login == "bdurand"
    assert User.objects.get(login="bdurand").manager is None


def test_secret_cells_never_reach_the_files_back(db, tmp_path):
    f.org("ACME")
    path = write_csv(
        tmp_path / "users.csv",
        [
            USER_H[:5],
            ["Martin", "Alice", "amartin", "pw-secret-1", "ACME"],
            ["Durand", "Bob", "bdurand", "pw-secret-2", "NOWHERE"],
        ],
    )
    rep = run(path, "users")
    assert outcomes(rep) == [("created", ""), ("rejected", "org_not_found")]
    for p in (rep.results_path, rep.rejects_path, rep.log_path):
        assert b"pw-secret" not in Path(p).read_bytes()
    assert read_results(rep.rejects_path)[0]["user_password"] == ""


def test_processing_error_keeps_forward_references_of_the_other_rows(db, tmp_path, monkeypatch):
    from registrar.bulk.imports.organisations import Organisations

    real = Organisations.apply

    def apply(self, rows, refs, ctx):
        if any(r.values["org_extid"] == "BOOM" for r in rows):
            raise RuntimeError("boom")
        return real(self, rows, refs, ctx)

    monkeypatch.setattr(Organisations, "apply", apply)
    path = write_csv(
        tmp_path / "orgs.csv",
        [ORG_H, ["Child", "CHILD", "ROOT", ""], ["Boom", "BOOM", "", ""], ["Root", "ROOT", "", ""]],
    )
    rep = run(path, "organisations")
    assert outcomes(rep) == [("created", ""), ("rejected", "processing_error"), ("created", "")]
    assert Organisation.objects.get(extid="CHILD").parent.extid == "ROOT"
    assert not Organisation.objects.filter(extid="BOOM").exists()


def test_a_windows_1252_accent_far_into_the_file_is_detected(db, tmp_path):
    rows = [[f"Org {i}", f"O{i}", "", "Paris"] for i in range(4000)]  # > 64 KiB of ASCII
    path = write_csv(
        tmp_path / "orgs.csv", [ORG_H, *rows, ["Hélène", "HD", "", "Besançon"]], encoding="cp1252"
    )
    assert os.path.getsize(path) > 65536
    rep = run(path, "organisations")
    assert rep.counts["created"] == 4001
    assert (org_values("HD")["label"], org_values("HD")["city"]) == ("Hélène", "Besançon")


@pytest.mark.parametrize("text", ["Hélène", "Café", "José Muñoz", "Åsa Ström", "École €"])
def test_a_short_windows_1252_file_is_detected(db, tmp_path, text):
    path = write_csv(tmp_path / "orgs.csv", [ORG_H[:2], [text, "X"]], encoding="cp1252")
    run(path, "organisations")
    assert org_values("X")["label"] == text


def test_locks_refuse_an_import_whose_scope_overlaps_a_running_one(db):
    from registrar.bulk.io.readers import FileError
    from registrar.journal.models import ImportLock
    from registrar.journal.service import start_operation, take_lock

    from . import factories as f

    parent = f.org("P")
    f.org("C", parent=parent)
    f.org("OTHER")
    first = start_operation("import", "completions")
    take_lock("completions", "P", first)
    for scope in ("C", "*", "P"):
        with pytest.raises(FileError) as e:
            take_lock("completions", scope, start_operation("import", "completions"))
        assert e.value.code == "import_locked"
    take_lock("completions", "OTHER", start_operation("import", "completions"))
    assert sorted(ImportLock.objects.values_list("scope_key", flat=True)) == ["OTHER", "P"]


def test_an_operation_commits_durably_on_sqlite_and_puts_the_setting_back(
    tmp_path, transactional_db, settings
):
    """Issue 15: synchronous=FULL while an import runs (its commit is on disk when it returns);
    the connection's NORMAL afterwards. PostgreSQL: its commits are durable anyway."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's setting")
    seen = []

    def progress(*_args):
        with connection.cursor() as cur:
            cur.execute("PRAGMA synchronous")
            seen.append(cur.fetchone()[0])

    with connection.cursor() as cur:
        cur.execute("PRAGMA synchronous")
        before = cur.fetchone()[0]
    from .conftest import Importer

    settings.REGISTRAR_BATCH_SIZE = 1  # a progress call between batches, in the transaction
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 1
    run_import = Importer(tmp_path)
    f.org("EU")
    header = ["user_lname", "user_fname", "user_login", "org_extid"]
    rows = [["A", "A", "a", "EU"], ["B", "B", "b", "EU"]]
    rep = run_import("users", header, rows, progress=progress)
    assert rep.counts["created"] == 2 and seen[0] == 2  # 2: FULL, while it runs
    with connection.cursor() as cur:
        cur.execute("PRAGMA synchronous")
        assert cur.fetchone()[0] == before


def test_sqlite_keeps_temporary_data_in_files(db):
    """A savepoint's journal held in memory (temp_store=MEMORY) made each UPDATE of a batch's
    savepoint about 15 times slower (users updated: 0.5 ms a row instead of 30 µs; measured in
    docs/decisions.md): SQLite's connections keep temporary data in files, which the system
    caches anyway."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's setting")
    with connection.cursor() as cur:
        cur.execute("PRAGMA temp_store")
        assert cur.fetchone()[0] == 1  # FILE
