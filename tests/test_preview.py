"""The import preview (SPEC §2.2; issue 14, item 5): several rows, the row count (streamed,
exact unless it takes too long), the file's real format and no CSV options for a spreadsheet,
readable values (lists, yes/no, ISO dates), and no run button for a file the import refuses.
For CSV and .xlsx, through the engine, the portal's page and the command line."""

import io
import os
import re
import tracemalloc

import pytest
from django.core.management import call_command
from django.utils import translation

from registrar.bulk import engine
from registrar.bulk import preview as P
from registrar.bulk.io.writers import TableWriter
from registrar.jobs.models import Job, Upload

from .conftest import write_csv
from .portal_fixtures import BOTH
from .test_portal import DEFAULT_OPTIONS, signed_in, text

USERS = ["user_lname", "user_fname", "user_login", "org_extid", "user_audiences", "user_roles"]
USERS += ["training_access", "birth_date"]


def users_rows(n: int) -> list[list[str]]:
    return [
        [f"Last{i}", "Ann", f"u{i}", "ACME", "Managers||Sales", "Tutor:ACME", "1", "1985/04/12"]
        for i in range(n)
    ]


def write(path, rows: list[list[str]]) -> str:
    """A CSV (;) or an .xlsx, by the path's extension."""
    if str(path).endswith(".xlsx"):
        w = TableWriter(str(path), "xlsx")
        for r in rows:
            w.write(r)
        w.close()
        return str(path)
    return write_csv(path, rows)


FORMATS = pytest.mark.parametrize("ext", ["csv", "xlsx"])


@FORMATS
def test_the_preview_reads_several_rows_and_counts_them_all(db, tmp_path, ext):
    path = write(tmp_path / f"u.{ext}", [USERS, *users_rows(12)])
    p = engine.preview("users", path)
    assert p["rows"] == [2, 3, 4, 5, 6] and p["row"] == 2
    login = next(c for c in p["columns"] if c["column"] == "user_login")
    assert login["values"] == ["u0", "u1", "u2", "u3", "u4"]
    assert [x["status"] for x in login["cells"]] == ["ok"] * 5
    assert (p["total_rows"], p["total_exact"]) == (12, True)


def test_the_csv_count_is_exact_with_blank_lines_and_cells_over_several_lines(db, tmp_path):
    body = "user_lname;user_fname;user_login;org_extid\r\n"
    body += '"Two\r\nlines";Ann;u1;ACME\r\n\r\n;;;\r\nB;Bob;u2;ACME\r\n'
    path = tmp_path / "u.csv"
    path.write_text(body, encoding="utf-8")
    p = engine.preview("users", str(path))
    assert (p["total_rows"], p["total_exact"]) == (2, True)  # what the import will read


def test_a_count_that_takes_too_long_is_an_estimate_from_the_share_read(db, tmp_path, monkeypatch):
    path = write(tmp_path / "u.csv", [USERS, *users_rows(20_000)])
    monkeypatch.setattr(P, "COUNT_SECONDS", 0.0)
    monkeypatch.setattr(P, "CHECK_EVERY", 1000)
    p = engine.preview("users", path)
    assert p["total_exact"] is False
    assert 15_000 <= p["total_rows"] <= 25_000


def test_the_count_streams_the_file_rather_than_holding_it(db, tmp_path):
    path = write(tmp_path / "u.csv", [USERS, *users_rows(100_000)])  # about 8 MB
    tracemalloc.start()
    try:
        p = engine.preview("users", path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert p["total_rows"] == 100_000 or not p["total_exact"]
    assert peak < os.path.getsize(path) / 3, peak  # a fraction of the file, whatever its size


@FORMATS
def test_the_preview_names_the_files_real_format(db, tmp_path, ext):
    p = engine.preview("users", write(tmp_path / f"u.{ext}", [USERS, *users_rows(1)]))
    assert p["format"] == ext
    if ext == "csv":
        assert (p["delimiter"], p["encoding"], p["format_label"]) == (";", "utf-8", "CSV text")
    else:  # a spreadsheet has no separator nor encoding
        assert (p["delimiter"], p["encoding"]) == (None, None)
        assert p["format_label"] == "Excel workbook (.xlsx)"


@FORMATS
def test_values_are_read_as_a_person_reads_them(db, tmp_path, ext):
    p = engine.preview("users", write(tmp_path / f"u.{ext}", [USERS, *users_rows(1)]))
    parsed = {c["column"]: c.get("parsed") for c in p["columns"]}
    assert parsed["user_audiences"] == "Managers||Sales"  # not ['Managers', 'Sales']
    assert parsed["user_roles"] == "Tutor:ACME"  # not ('Tutor', 'ACME')
    assert parsed["training_access"] == "yes"  # not True
    assert parsed["birth_date"] == "1985-04-12"  # ISO 8601
    with translation.override("fr"):
        p = engine.preview("users", write(tmp_path / f"v.{ext}", [USERS, *users_rows(1)]))
    assert {c["column"]: c.get("parsed") for c in p["columns"]}["training_access"] == "oui"


def test_readable_renders_each_kind_of_value():
    from datetime import date, datetime
    from decimal import Decimal

    from registrar.bulk.parsers import Items

    assert P.readable(["A", "B"]) == "A||B"
    assert P.readable(False) == "no" and P.readable(None) == ""
    assert P.readable(Decimal("35.50")) == "35.5" and P.readable(Decimal("1E+2")) == "100"
    assert P.readable(date(2024, 6, 15)) == "2024-06-15"
    assert P.readable(datetime(2024, 6, 15, 9, 30)) == "2024-06-15T09:30:00"
    assert P.readable([("CPD", Decimal("1.5"))]) == "CPD:1.5"
    assert P.readable(Items([("L1", "a", "b"), ("L2", "c", "d")])) == "L1|a|b$L2|c|d"


# The portal's page -----------------------------------------------------------------------

pytestmark_portal = pytest.mark.django_db(databases=BOTH)


def _upload(c, tmp_path, rows, name: str, kind: str = "users") -> Upload:
    path = write(tmp_path / name, rows)
    with open(path, "rb") as f:
        r = c.post(f"/imports/{kind}/", {"file": f})
    assert r.status_code == 302, text(r)
    return Upload.objects.get(pk=re.fullmatch(r"/uploads/([0-9a-f-]+)/", r.url)[1])


@pytestmark_portal
@FORMATS
def test_the_page_shows_several_rows_the_count_and_the_format(world, tmp_path, ext):
    c = signed_in("admin")
    up = _upload(c, tmp_path, [USERS, *users_rows(1234)], f"u.{ext}")
    html = text(c.get(f"/uploads/{up.pk}/"))
    table = html[html.index('data-testid="preview"') :]
    assert all(f"<td>u{i}</td>" in table for i in range(5)) and "<td>u5</td>" not in table
    assert "How rows 2 to 6 are read" in html
    assert "The file holds 1,234 data rows." in html
    fmt = re.search(r'data-testid="format">(.*?)</p>', html).group(1)
    assert "Managers||Sales" in table and "→ yes" in table and "→ 1985-04-12" in table
    assert "[&#x27;" not in table and "True" not in table
    if ext == "xlsx":
        assert "Excel workbook (.xlsx)" in fmt and "separator" not in fmt and "utf-8" not in fmt
        assert 'name="opt_delimiter"' not in html and 'name="opt_encoding"' not in html
    else:
        assert "CSV text" in fmt and "<code>;</code>" in fmt and "utf-8" in fmt
        assert 'name="opt_delimiter"' in html
    assert 'data-testid="verify"' in html and 'data-testid="run"' in html


@pytestmark_portal
def test_the_page_in_french_counts_with_french_separators(world, tmp_path):
    c = signed_in("us.admin")  # culture fr-FR
    up = _upload(c, tmp_path, [USERS, *users_rows(1234)], "u.csv")
    html = text(c.get(f"/uploads/{up.pk}/"))
    assert re.search(r"1\s?234", re.search(r'data-testid="row-count">(.*?)</p>', html).group(1))
    assert "→ oui" in html


@pytestmark_portal
@FORMATS
def test_a_refused_file_offers_no_run_button_and_runs_nothing(world, tmp_path, ext):
    c = signed_in("admin")
    up = _upload(c, tmp_path, [USERS[:2], ["Last", "Ann"]], f"u.{ext}")
    html = text(c.get(f"/uploads/{up.pk}/"))
    assert 'data-testid="refused"' in html and "The import will refuse this file." in html
    assert 'value="verify"' not in html and 'value="run"' not in html
    assert 'data-testid="check-again"' in html
    for action in ("verify", "run"):  # posted anyway: refused, no job
        r = c.post(f"/uploads/{up.pk}/", {**DEFAULT_OPTIONS, "action": action})
        assert r.status_code == 400 and 'data-testid="refused"' in text(r)
    assert not Job.objects.exists()


@pytestmark_portal
def test_check_again_previews_with_the_options_posted(world, tmp_path):
    c = signed_in("admin")
    rows = [["Last", "Ann", "Mme", "u9"], ["Next", "Bob", "M.", "u8"]]  # no header row
    up = _upload(c, tmp_path, rows, "u.csv")
    assert 'data-testid="refused"' in text(c.get(f"/uploads/{up.pk}/"))
    options = {k: v for k, v in DEFAULT_OPTIONS.items() if k != "opt_header"}
    r = c.post(f"/uploads/{up.pk}/", {**options, "action": "preview"})
    html = text(r)
    assert r.status_code == 200 and 'data-testid="refused"' not in html
    assert "<td>u9</td>" in html and "no header row" in html and 'value="run"' in html
    assert not Job.objects.exists()


# The command line ------------------------------------------------------------------------


@FORMATS
def test_the_command_line_preview_prints_the_rows_and_the_count(db, tmp_path, ext):
    path = write(tmp_path / f"u.{ext}", [USERS, *users_rows(7)])
    out = io.StringIO()
    call_command("import_file", "users", path, "--preview", stdout=out)
    lines = out.getvalue().splitlines()
    assert "rows 2-6 of 7 data rows" in lines[0] and ext.upper() in lines[0]
    assert ("separator" in lines[0]) == (ext == "csv")
    audiences = next(line for line in lines if line.startswith("user_audiences"))
    assert "Managers||Sales" in audiences and "[" not in audiences
