"""Results and rejects copies follow the extension asked for (issue 14, item 11): .csv or .xlsx
whatever the input's format; another extension refuses the command (exit 2) naming it."""

import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from django.core.management import call_command
from django.core.management.base import CommandError

from registrar.bulk import engine
from registrar.bulk.io.readers import FileError
from registrar.journal.models import Operation
from registrar.learning.models import CourseRecord

from . import factories as f
from .conftest import read_results, write_csv

H = ["course_id", "user_email", "completion_date", "course_title"]
OK_ROW = ["SAFE-101", "alice@example.com", "2024-06-15", ""]
BAD_ROW = ["NOPE", "alice@example.com", "2024-06-15", "=cmd"]


@pytest.fixture
def world(db):
    f.user("alice")
    f.course("SAFE-101", "Workplace safety")


def write_xlsx(path, rows) -> str:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            sheet.write_string(i, j, v)
    book.close()
    return str(path)


def cli(*args) -> int:
    try:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as e:
        return e.code
    return 0


def is_csv(path) -> bool:
    return not zipfile.is_zipfile(path) and path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_an_xlsx_import_writes_csv_results_and_rejects_where_csv_is_asked(world, tmp_path):
    src = write_xlsx(tmp_path / "in.xlsx", [H, OK_ROW, BAD_ROW])
    results, rejects = tmp_path / "out.csv", tmp_path / "bad.csv"
    status = cli(
        "import_file", "completions", src, "--results", str(results), "--rejects", str(rejects)
    )
    assert status == 1
    assert is_csv(results) and is_csv(rejects)
    rows = read_results(str(results))
    assert [(r["course_id"], r["row"], r["result"], r["codes"]) for r in rows] == [
        ("SAFE-101", "2", "created", ""),
        ("NOPE", "3", "rejected", "course_not_found"),
    ]
    # Results escape formulas as the CSV results file always does; rejects keep the input as is.
    assert rows[1]["course_title"] == "'=cmd"
    assert read_results(str(rejects)) == [dict(zip(H, BAD_ROW, strict=True))]
    # The operation's own files keep the input's format.
    op = Operation.objects.get()
    assert op.results_path.endswith(".xlsx") and zipfile.is_zipfile(op.results_path)


def test_a_csv_import_writes_xlsx_results_where_xlsx_is_asked(world, tmp_path):
    src = write_csv(tmp_path / "in.csv", [H, OK_ROW, BAD_ROW])
    results, rejects = tmp_path / "out.xlsx", tmp_path / "bad.XLSX"
    rep = engine.run_import(
        engine.Request(
            kind="completions",
            path=src,
            results_path=str(results),
            rejects_path=str(rejects),
        )
    )
    assert rep.results_path.endswith(".csv")
    assert zipfile.is_zipfile(results) and zipfile.is_zipfile(rejects)
    assert [r["result"] for r in read_results(str(results))] == ["created", "rejected"]
    assert read_results(str(rejects)) == [dict(zip(H, BAD_ROW, strict=True))]


def test_the_same_format_is_copied_byte_for_byte(world, tmp_path):
    src = write_xlsx(tmp_path / "in.xlsx", [H, OK_ROW])
    results = tmp_path / "out.xlsx"
    rep = engine.run_import(engine.Request(kind="completions", path=src, results_path=str(results)))
    assert results.read_bytes() == Path(rep.results_path).read_bytes()


@pytest.mark.parametrize("option", ["--results", "--rejects"])
def test_another_extension_is_refused_with_exit_status_2_naming_it(world, tmp_path, option):
    src = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    with pytest.raises(CommandError) as e:
        cli("import_file", "completions", src, option, str(tmp_path / "out.pdf"))
    assert e.value.returncode == 2
    assert ".pdf" in str(e.value) and option.lstrip("-") in str(e.value)
    assert not CourseRecord.objects.exists() and not Operation.objects.exists()


def test_the_engine_refuses_another_extension_before_anything_runs(world, tmp_path):
    src = write_csv(tmp_path / "in.csv", [H, OK_ROW])
    with pytest.raises(FileError) as e:
        engine.run_import(
            engine.Request(kind="completions", path=src, results_path=str(tmp_path / "r.ods"))
        )
    assert e.value.code == "invalid_option" and e.value.params["option"] == "results"
    assert not Operation.objects.exists()
