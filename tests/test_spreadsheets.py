"""Issue 10, item 1: spreadsheets are parsed in a child process within bounds (cells, columns,
inflated bytes, memory, CPU), .xlsx streamed; what they read is what calamine read before."""

import os
import shutil
import struct
import subprocess
import sys
import zipfile
from datetime import date, datetime, time

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from registrar.bulk import engine
from registrar.bulk.imports import KINDS
from registrar.bulk.io.readers import FileError, open_table
from registrar.jobs.models import Upload
from registrar.journal.models import Operation

from .portal_fixtures import BOTH

pytestmark = pytest.mark.django_db

DATA = os.path.join(os.path.dirname(__file__), "data")
H = ["course_id", "user_email", "completion_date", "course_title"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:'
    'full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)
# Two cells: a header, and one at the last row and column Excel has.
TWO_CELLS = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>course_id</t></is></c></row>'
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
)


def write_xlsx_parts(
    path, sheet_data: str, dimension: str | None = "A1:XFD1048576", parts: dict | None = None
) -> str:
    """An .xlsx written part by part (no library), sheet XML given: the way an attacker would."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"'
        "/></Types>",
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats'
        f'.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas'
        f'.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet xmlns="{NS}">{dim}'
        f"<sheetData>{sheet_data}</sheetData></worksheet>",
        **(parts or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return str(path)


def killed(path) -> int | None:
    """The signal that ends a throwaway process opening `path`, if one does. Code that parses
    spreadsheets in-process dies (SIGABRT) on a bomb; asking a throwaway process first lets a
    test fail then, rather than pytest dying with it."""
    code = (
        "import sys, django; django.setup()\n"
        "from registrar.bulk.io.readers import FileError, open_table\n"
        "try:\n    open_table(sys.argv[1]).close()\nexcept FileError as e:\n    print(e.code)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "registrar.settings"}
    r = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, timeout=120
    )
    return -r.returncode if r.returncode < 0 else None


def survives(bombs, *names) -> None:
    """Fail (not die) when opening one of the bombs kills the process that opens it."""
    for name in names or ("two", "liar", "bare"):
        if bombs.signals[name]:
            pytest.fail(f"opening {name}.xlsx kills the process (signal {bombs.signals[name]})")


def refusal(path, kind="completions", **kw) -> FileError:
    with pytest.raises(FileError) as e:
        engine.run_import(engine.Request(kind=kind, path=str(path), options={}, **kw))
    return e.value


def read(path, header=True):
    t = open_table(str(path), header=header)
    try:
        return t.headers, list(t.rows())
    finally:
        t.close()


def calamine_table(path):
    """What SheetTable gave before issue 10: python-calamine in-process (benign files only)."""
    from python_calamine import CalamineWorkbook

    from registrar.bulk.io.sheets import cell_text

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    rows = list(sheet.iter_rows()) if sheet.start is not None else []
    headers, out = None, []
    for n, cells in enumerate(rows, 1):
        texts = [cell_text(c) for c in cells]
        if not any(texts):
            continue
        if headers is None:
            headers = texts
        else:
            out.append((n, texts))
    return headers, out


class Bombs(dict):
    """Paths by name, and the signal that killed a throwaway process opening each (or None)."""

    signals: dict


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """The two-cell sheet, declaring A1:XFD1048576; the same declaring A1:B2, and declaring
    nothing; each first opened in a throwaway process (see survives)."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = Bombs(
        two=write_xlsx_parts(folder / "two.xlsx", TWO_CELLS),
        liar=write_xlsx_parts(folder / "liar.xlsx", TWO_CELLS, "A1:B2"),
        bare=write_xlsx_parts(folder / "bare.xlsx", TWO_CELLS, None),
    )
    paths.signals = {name: killed(path) for name, path in paths.items()}
    return paths


@pytest.fixture
def two_cells(bombs):
    return bombs["two"]


@pytest.fixture(scope="module")
def big_sheets(tmp_path_factory):
    """Honest .xlsx files of 10,000 and 100,000 rows (XlsxWriter, inline strings)."""
    folder = tmp_path_factory.mktemp("big")
    paths = {}
    for n in (10_000, 100_000):
        path = str(folder / f"rows{n}.xlsx")
        book = xlsxwriter.Workbook(path, {"constant_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, H)
        write = sheet.write_row
        for i in range(1, n + 1):
            write(i, 0, (f"C-{i % 1000}", f"u{i}@example.com", "2024-06-15"))
        book.close()
        paths[n] = path
    return paths


# --- the two-cell bomb ----------------------------------------------------------------------


def test_item1_two_cell_xlsx_is_2kb(two_cells):
    assert os.path.getsize(two_cells) < 2048


def test_item1_two_cell_xlsx_does_not_kill_the_process_that_reads_it(two_cells):
    code = (
        "import sys, django; django.setup()\n"
        "from registrar.bulk import engine\n"
        "from registrar.bulk.io.readers import FileError\n"
        "try:\n    engine.preview('completions', sys.argv[1])\n"
        "except FileError as e:\n    print(e.code, e.params['reason'])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "registrar.settings"}
    r = subprocess.run(
        [sys.executable, "-c", code, two_cells],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"status {r.returncode}: {r.stderr[-500:]}"
    assert r.stdout.startswith("file_too_large ")


def test_item1_two_cell_xlsx_is_file_too_large_in_preview_and_import(db, bombs, two_cells):
    survives(bombs)
    with pytest.raises(FileError) as e:
        engine.preview("completions", two_cells)
    assert e.value.code == "file_too_large"
    assert e.value.params["reason"] == (
        "the sheet declares 17,179,869,184 cells (A1:XFD1048576); the limit is 20,000,000 "
        "(REGISTRAR_MAX_SHEET_CELLS)"
    )
    assert refusal(two_cells).code == "file_too_large"
    assert Operation.objects.count() == 0  # refused before anything is journalled


@pytest.mark.skipif(not shutil.which("registrar"), reason="the registrar script is not installed")
def test_item1_two_cell_xlsx_exits_2_from_the_registrar_command(tmp_path, two_cells):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {"REGISTRAR_DB": str(tmp_path / "r.sqlite3"), "REGISTRAR_DATA": str(tmp_path / "d")}

    def registrar(*args):
        return subprocess.run(
            ["registrar", *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )

    assert registrar("init").returncode == 0
    r = registrar("import", "completions", two_cells)
    assert r.returncode == 2, r.stderr
    assert "file_too_large: " in r.stderr and "REGISTRAR_MAX_SHEET_CELLS" in r.stderr
    assert r.stdout == ""


@pytest.mark.django_db(databases=BOTH)
def test_item1_two_cell_xlsx_upload_is_400_and_not_kept(tokens, data_dir, bombs, two_cells):
    survives(bombs)
    c = Client()
    with open(two_cells, "rb") as f:
        upload = SimpleUploadedFile("two.xlsx", f.read(), content_type=XLSX_TYPE)
    r = c.post(
        "/api/uploads",
        {"kind": "completions", "file": upload},
        headers={"Authorization": f"Bearer {tokens.eu}"},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "file_too_large"
    assert "REGISTRAR_MAX_SHEET_CELLS" in body["message"]
    assert body["detail"] == f"file_too_large: {body['message']}"
    assert Upload.objects.count() == 0
    uploads = data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


@pytest.mark.django_db(databases=BOTH)
def test_item1_two_cell_xlsx_is_refused_on_the_upload_page(world, bombs, two_cells):
    survives(bombs)
    c = Client()
    assert c.login(username="eu.admin", password="eu-pass")
    with open(two_cells, "rb") as f:
        upload = SimpleUploadedFile("two.xlsx", f.read(), content_type=XLSX_TYPE)
    r = c.post("/imports/completions/", {"file": upload}, follow=True)
    assert r.status_code == 200
    html = r.content.decode()
    assert "<code>file_too_large</code>" in html and "REGISTRAR_MAX_SHEET_CELLS" in html


# --- dishonest and broken files -------------------------------------------------------------


def test_item1_a_cell_beyond_the_declared_dimension_is_refused(bombs):
    survives(bombs)
    for name in ("liar", "bare"):
        e = refusal(bombs[name])
        assert e.code == "file_too_large"
        assert e.params["reason"] == (
            "cell XFD1048576 in row 1,048,576 is in column 16,384; a row may have at most "
            "1,024 columns (REGISTRAR_MAX_SHEET_COLUMNS)"
        )


def test_item1_cells_are_counted_while_streaming(tmp_path, settings):
    settings.REGISTRAR_MAX_SHEET_CELLS = 10
    rows = "".join(
        f'<row r="{r}">' + "".join(f"<c><v>{c}</v></c>" for c in range(4)) + "</row>"
        for r in range(1, 5)
    )
    path = write_xlsx_parts(tmp_path / "many.xlsx", rows, "A1")
    e = refusal(path)
    assert e.code == "file_too_large"
    assert "more than 10 cells" in e.params["reason"]
    assert "REGISTRAR_MAX_SHEET_CELLS" in e.params["reason"]
    settings.REGISTRAR_MAX_SHEET_CELLS = 16
    assert len(read(path)[1]) == 3


def test_item1_styled_empty_cells_neither_count_nor_widen_a_row(tmp_path, settings):
    settings.REGISTRAR_MAX_SHEET_CELLS = 4
    rows = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>b</t></is></c><c r="AMJ1" s="1"/></row>'
        '<row r="2"><c r="A2"><v>1</v></c><c r="ZZ2" s="1"/><c r="XFD2" s="1"><v></v></c></row>'
        '<row r="900000"><c r="C900000" s="1"/></row>'
    )
    path = write_xlsx_parts(tmp_path / "styled.xlsx", rows, "A1:B2")
    assert read(path) == (["a", "b"], [(2, ["1", ""])])


def test_item1_a_zip_member_declared_over_the_bound_is_refused(tmp_path):
    path = write_xlsx_parts(tmp_path / "bomb.xlsx", "<row><c><v>1</v></c></row>", "A1")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # Declare 4,000,000,000 inflated bytes for the sheet, in its central directory entry.
    name = b"xl/worksheets/sheet1.xml"
    cd = data.index(b"PK\x01\x02")
    while data[cd + 46 : cd + 46 + len(name)] != name:
        cd = data.index(b"PK\x01\x02", cd + 4)
    struct.pack_into("<I", data, cd + 24, 4_000_000_000)
    with open(path, "wb") as f:
        f.write(bytes(data))
    e = refusal(path)
    assert e.code == "file_too_large"
    assert e.params["reason"] == (
        "xl/worksheets/sheet1.xml would inflate to 4,000,000,000 bytes; the limit is "
        "2,147,483,648 (REGISTRAR_MAX_UNZIPPED_BYTES)"
    )


def test_item1_a_zip_inflating_past_the_bound_is_refused(tmp_path, settings):
    settings.REGISTRAR_MAX_UNZIPPED_BYTES = 1 << 20
    padding = "<row/>" * 400_000  # 2.4 MB of XML, a few KB zipped
    path = write_xlsx_parts(tmp_path / "deep.xlsx", padding + "<row><c><v>1</v></c></row>", "A1")
    assert os.path.getsize(path) < 20_000
    e = refusal(path)
    assert e.code == "file_too_large" and "REGISTRAR_MAX_UNZIPPED_BYTES" in e.params["reason"]


def test_item1_truncated_and_corrupt_xlsx_are_unreadable(tmp_path, big_sheets):
    with open(big_sheets[10_000], "rb") as f:
        whole = f.read()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(whole[: len(whole) // 2])
    e = refusal(truncated)
    assert (e.code, e.params["reason"]) == ("unreadable_file", "not a valid spreadsheet (zip) file")
    # The sheet's compressed bytes damaged in the middle: zip directory intact.
    info = zipfile.ZipFile(big_sheets[10_000]).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(whole[:middle] + bytes(64) + whole[middle + 64 :])
    assert refusal(corrupt).code == "unreadable_file"  # what the garbage breaks first varies


def test_item1_broken_xml_and_dtds_are_unreadable(tmp_path):
    path = write_xlsx_parts(tmp_path / "broken.xlsx", "<row><c><v>1</v></row>", "A1")
    e = refusal(path)
    assert e.code == "unreadable_file" and "is not valid XML" in e.params["reason"]
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">'
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + f']><worksheet xmlns="{NS}"><sheetData><row><c t="str"><v>&i;</v></c></row>'
        "</sheetData></worksheet>"
    )
    path = write_xlsx_parts(
        tmp_path / "laughs.xlsx", "", parts={"xl/worksheets/sheet1.xml": laughs}
    )
    e = refusal(path)
    assert (e.code, e.params["reason"]) == (
        "unreadable_file",
        "the spreadsheet's XML declares a DTD",
    )


def test_item1_the_childs_memory_limit_refuses_an_ods_that_inflates_in_calamine(tmp_path):
    """90,000 rows × 1,000 repeated cells: calamine wants about 3 GB for its grid."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
        '<table:table-row table:number-rows-repeated="90000"><table:table-cell'
        ' table:number-columns-repeated="1000" office:value-type="float" office:value="1">'
        "<text:p>1</text:p></table:table-cell></table:table-row>"
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    e = refusal(path)
    assert (e.code, e.params["reason"]) == (
        "file_too_large",
        "reading it needs more than 1,024 MB of memory (REGISTRAR_SHEET_MEMORY_MB)",
    )


def test_item1_the_childs_cpu_limit_refuses_a_sheet_too_long_to_read(tmp_path, settings):
    settings.REGISTRAR_SHEET_CPU_SECONDS = 1
    rows = "<row><c><v>1</v></c></row>" * 3_000_000  # 78 MB of XML: seconds of parsing
    path = write_xlsx_parts(tmp_path / "slow.xlsx", rows, "A1")
    with pytest.raises(FileError) as e:
        read(path)
    assert (e.value.code, e.value.params["reason"]) == (
        "file_too_large",
        "reading it takes more than 1 s of processor time (REGISTRAR_SHEET_CPU_SECONDS)",
    )


# --- large honest sheets --------------------------------------------------------------------


def test_item1_a_large_sheet_streams_with_flat_memory(big_sheets):
    peaks = {}
    for n, path in big_sheets.items():
        t = open_table(path)
        try:
            count, last = 0, None
            for row in t.rows():
                count, last = count + 1, row
            assert t.headers == H and count == n
            assert last == (n + 1, [f"C-{n % 1000}", f"u{n}@example.com", "2024-06-15", ""])
            assert t.fraction() == 1.0
        finally:
            t.close()
        peaks[n] = t.child_peak_kib
    # Ten times the rows, the same memory: the sheet is never held whole.
    assert peaks[100_000] < peaks[10_000] * 1.25, peaks
    assert peaks[100_000] < 64 * 1024, peaks


def _children(monkeypatch) -> list:
    from registrar.bulk.io import sheets

    started = []
    init = sheets.ChildReader.__init__

    def record(self, *a, **kw):
        init(self, *a, **kw)
        started.append(self.proc)

    monkeypatch.setattr(sheets.ChildReader, "__init__", record)
    return started


def test_item1_the_child_is_gone_after_close_an_early_stop_and_an_error(
    db, monkeypatch, big_sheets, bombs
):
    survives(bombs)
    started = _children(monkeypatch)
    t = open_table(big_sheets[100_000])
    rows = t.rows()
    assert next(rows)[0] == 2
    assert started[-1].poll() is None  # still streaming the rest
    t.close()
    assert started[-1].returncode is not None
    preview = engine.preview("completions", big_sheets[100_000])  # reads the first row only
    assert preview["row"] == 2 and preview["format"] == "xlsx"
    assert started[-1].returncode is not None
    assert refusal(bombs["liar"]).code == "file_too_large"
    assert len(started) == 3 and all(p.returncode is not None for p in started)
    assert all(p.stdout.closed for p in started)


# --- values read as before ------------------------------------------------------------------


def test_item1_dates_booleans_numbers_and_strings_read_as_before(tmp_path):
    for constant_memory in (False, True):  # shared strings, then inline strings
        path = str(tmp_path / f"types{int(constant_memory)}.xlsx")
        book = xlsxwriter.Workbook(path, {"constant_memory": constant_memory})
        sheet = book.add_worksheet()
        formats = {
            f: book.add_format({"num_format": f})
            for f in ("yyyy-mm-dd", "dd/mm/yyyy hh:mm", "hh:mm", "[h]:mm", "0.00", '"d"0')
        }
        sheet.write_row(0, 0, ["text", "number", "date", "datetime", "time", "bool", "hours"])
        sheet.write_row(1, 0, [" Hélène  ", 75001, None, None, None, True])
        sheet.write_datetime(1, 2, date(2024, 6, 15), formats["yyyy-mm-dd"])
        sheet.write_datetime(1, 3, datetime(2024, 6, 15, 14, 30), formats["dd/mm/yyyy hh:mm"])
        sheet.write_datetime(1, 4, time(14, 30), formats["hh:mm"])
        sheet.write_number(1, 6, 1.5, formats["[h]:mm"])
        sheet.write_row(2, 0, ["a & <b>", 1200.5, 45458, 0.1, -3, False, 2.25])
        sheet.write_number(2, 2, 45458, formats["0.00"])
        sheet.write_number(2, 3, 45458.5, formats['"d"0'])
        sheet.write_rich_string(3, 0, "rich ", book.add_format({"bold": True}), "text")
        sheet.write_formula(3, 1, "=1+1", None, 2)
        sheet.write_formula(3, 2, '="x"&"y"', None, "xy")
        sheet.write_formula(3, 3, "=1/0", None, "#DIV/0!")
        sheet.write_string(3, 4, "two\nlines")
        sheet.write_number(5, 1, 1e20)
        book.close()
        headers, rows = read(path)
        assert (headers, rows) == calamine_table(path)
        assert rows[:2] == [
            (
                2,
                ["Hélène", "75001", "2024-06-15", "2024-06-15T14:30:00", "14:30:00", "1", "129600"],
            ),
            (3, ["a & <b>", "1200.5", "45458", "45458.5", "-3", "0", "2.25"]),
        ]
        assert rows[2][1][:5] == ["rich text", "2", "xy", "", "two\nlines"]
        assert rows[3] == (6, ["", "100000000000000000000", "", "", "", "", ""])


def test_item1_the_1904_date_system_reads_as_before(tmp_path):
    path = str(tmp_path / "mac.xlsx")
    book = xlsxwriter.Workbook(path, {"date_1904": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["d", "dt"])
    sheet.write_datetime(1, 0, date(2024, 6, 15), book.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_datetime(
        1, 1, datetime(2024, 6, 15, 8, 5, 3), book.add_format({"num_format": "hh:mm"})
    )
    book.close()
    assert (
        read(path)
        == calamine_table(path)
        == (["d", "dt"], [(2, ["2024-06-15", "2024-06-15T08:05:03"])])
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_item1_every_xlsx_template_reads_as_calamine_read_it(db, tmp_path, kind):
    path = str(tmp_path / f"{kind}.xlsx")
    call_command("import_template", kind, "--xlsx", "--output", path)
    assert read(path) == calamine_table(path)


def test_item1_the_test_data_xls_and_an_ods_read_as_before(tmp_path):
    xls = os.path.join(DATA, "organisations.xls")
    assert read(xls) == calamine_table(xls)
    table = open_table(xls)
    try:
        assert table.format == "xls" and table.delimiter == ";" and table.total == 3
    finally:
        table.close()
    from .test_engine import write_ods

    ods = write_ods(tmp_path / "o.ods", [["a", "b"], ["", ""], ["1", "x"], [" y ", ""]])
    assert read(ods) == calamine_table(ods) == (["a", "b"], [(3, ["1", "x"]), (4, ["y", ""])])


def test_item1_the_first_sheet_is_the_first_in_workbook_order(tmp_path):
    second = '<row r="1"><c t="inlineStr"><is><t>second</t></is></c></row>'
    path = write_xlsx_parts(
        tmp_path / "order.xlsx",
        '<row r="1"><c t="inlineStr"><is><t>first file</t></is></c></row>',
        "A1",
        parts={
            "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{REL}">'
            '<sheets><sheet name="B" sheetId="2" r:id="rId2"/><sheet name="A" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://'
            f'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{REL}/worksheet" Target="/xl/worksheets/other.xml"/></Relationships>',
            "xl/worksheets/other.xml": f'<?xml version="1.0"?><worksheet xmlns="{NS}">'
            f"<sheetData>{second}</sheetData></worksheet>",
        },
    )
    assert read(path, header=False) == (None, [(1, ["second"])])
    assert calamine_table(path) == (["second"], [])


def test_item1_shared_strings_styles_and_prefixed_xml_are_read(tmp_path):
    shared = (
        f'<?xml version="1.0"?><sst xmlns="{NS}"><si><t xml:space="preserve"> kept </t></si>'
        "<si><r><t>rich </t></r><r><t>run</t></r><rPh><t>PHONETIC</t></rPh></si>"
        "<si><t>cr_x000D_lf</t></si></sst>"
    )
    styles = (
        f'<?xml version="1.0"?><styleSheet xmlns="{NS}"><numFmts count="2">'
        '<numFmt numFmtId="164" formatCode="&quot;day&quot; 0"/>'
        '<numFmt numFmtId="165" formatCode="[$-409]d\\-mmm\\-yy;@"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/>'
        '<xf numFmtId="165"/></cellXfs></styleSheet>'
    )
    sheet = (
        f'<?xml version="1.0"?><x:worksheet xmlns:x="{NS}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c>'
        '<x:c r="C1" t="s"><x:v>2</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="A2" s="1"><x:v>45458</x:v></x:c><x:c r="B2" s="2"><x:v>45458'
        '</x:v></x:c><x:c r="C2" s="3"><x:v>45458.25</x:v></x:c><x:c r="D2" t="b"><x:v>1</x:v>'
        '</x:c><x:c r="E2" t="e"><x:v>#N/A</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    path = write_xlsx_parts(
        tmp_path / "parts.xlsx",
        "",
        parts={
            "xl/sharedStrings.xml": shared,
            "xl/styles.xml": styles,
            "xl/worksheets/sheet1.xml": sheet,
        },
    )
    expected = (
        ["kept", "richrun", "cr\rlf"],
        [(2, ["2024-06-15", "45458", "2024-06-15T06:00:00", "1"])],
    )
    assert read(path) == expected
    # calamine's grid also widened the header to the error cell's column (E), with empty cells.
    assert calamine_table(path) == ([*expected[0], "", ""], [(2, [*expected[1][0][1], ""])])


def test_item1_custom_number_formats_are_dates_as_calamine_decides():
    from registrar.bulk.io.sheets import DATETIME, OTHER, TIMEDELTA, format_kind

    cases = {
        "DD/MM/YY": DATETIME,
        "H:MM:SS;@": DATETIME,
        "#,##0\\ [$\\u20bd-46D]": OTHER,
        'm"M"d"D";@': DATETIME,
        "[h]:mm:ss": TIMEDELTA,
        '"Y: "0.00"m";"Y: "-0.00"m";"Y: <num>m";@': OTHER,
        '"$"#,##0_);[Red]("$"#,##0)': OTHER,
        '[$-404]e"\\xfc"m"\\xfc"d"\\xfc"': DATETIME,
        "0_ ;[Red]\\-0\\ ": OTHER,
        "\\Y000000": OTHER,
        '#,##0.0####" YMD"': OTHER,
        "[h]": TIMEDELTA,
        "[ss]": TIMEDELTA,
        "[s].000": TIMEDELTA,
        "[Blue]\\+[h]:mm;[Red]\\-[h]:mm;[Green][h]:mm": TIMEDELTA,
        "[>=100][Magenta][s].00": TIMEDELTA,
        "h:mm AM/PM": DATETIME,
        "General": OTHER,
        "0.00": OTHER,
        "* #,##0": OTHER,
    }
    assert {c: format_kind(c) for c in cases} == cases


def test_item1_a_refused_sheet_is_journalled_when_found_while_importing(db, tmp_path):
    """A bound first crossed deep in the sheet (here a row too wide, after 5,000 rows) fails
    the operation already started: rolled back, and the journal says why."""
    header = '<row r="1">' + "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in H)
    rows = "".join(
        f'<row r="{r}"><c t="inlineStr"><is><t>SAFE-101</t></is></c></row>' for r in range(2, 5002)
    )
    path = write_xlsx_parts(
        tmp_path / "wide.xlsx",
        f'{header}</row>{rows}<row r="5002"><c r="AMK5002"><v>1</v></c></row>',
        "A1:D5001",
    )
    e = refusal(path)
    assert e.code == "file_too_large" and "column 1,025" in e.params["reason"]
    op = Operation.objects.get()
    assert op.status == Operation.Status.FAILED and op.error.startswith("file_too_large: ")
