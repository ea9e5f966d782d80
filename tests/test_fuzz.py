"""Issue 10, fuzzing: hostile files of every import kind never crash an import.

Each example builds a file from a kind's own template rows (which import cleanly into the demo),
then garbles it: header aliases, case and spacing, dropped, unknown and repeated columns, cells
at the edges (calendar ends, huge numbers, formulas, quotes, separators, line breaks, control and
odd Unicode characters), separators, encodings, line endings, quoting, byte mutations and
truncations, random options and scopes, verify-only or not, CSV or .xlsx. The import runs as
`registrar import` does; it must end with exit status 0, 1 or 2, never an uncaught exception, and
every rejected row of its results file must carry a code.

Deterministic in the suite (REGISTRAR_FUZZ_EXAMPLES examples, 150 by default, derandomized);
`REGISTRAR_FUZZ_RANDOM=1` explores new examples (a longer campaign: REGISTRAR_FUZZ_EXAMPLES=5000).
"""

import csv
import io
import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registrar.bulk.imports import KINDS
from registrar.directory.models import Organisation
from registrar.journal.models import Operation

from .conftest import read_results

EXAMPLES = int(os.environ.get("REGISTRAR_FUZZ_EXAMPLES", "150"))
RANDOM = os.environ.get("REGISTRAR_FUZZ_RANDOM") == "1"
TRIED = {"files": 0, "status": {0: 0, 1: 0, 2: 0}}

EDGE_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1E+999999999",
    "1e-999",
    "NaN",
    "Infinity",
    "99999999999999999999999999",
    "1_000",
    "１２３",
    "12,5",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+14:00",
    "2024-02-30",
    "2024/06/15",
    "15/06/2024",
    "2024-06-15T25:61:00",
    '=HYPERLINK("http://x","y")',
    "@SUM(1)",
    "+cmd|' /C calc'!A0",
    '"',
    '""',
    'a"b',
    ";",
    ",",
    "||",
    "A||",
    "|",
    "$",
    "A|B|C$D",
    ":",
    "Role:",
    "\n",
    "line\nbreak",
    "\r",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u202eevil",
    "e\u0301",
    "😀",
    "\ufeff",
    "x" * 300,
    "y" * 70_000,
    "yes",
    "no",
    "true",
    "N",
    "C",
    "X",
]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
cell = st.one_of(st.sampled_from(EDGE_VALUES), text)


def header_variants(name: str, aliases: tuple) -> st.SearchStrategy:
    spelled = st.sampled_from([name, *aliases])
    return spelled.flatmap(
        lambda h: st.sampled_from([h, h.upper(), h.title(), f" {h} ", h.replace("_", " ")])
    )


@st.composite
def import_file(draw) -> dict:
    kind = KINDS[draw(st.sampled_from(sorted(KINDS)))]
    columns = list(kind.columns)
    chosen = [c for c in columns if draw(st.integers(0, 9)) > 0]  # a column dropped now and then
    headers = [draw(header_variants(c.name, c.aliases)) for c in chosen]
    names = [c.name for c in chosen]
    if draw(st.integers(0, 9)) == 0:
        headers.append(
            draw(st.sampled_from(["unknown", "", "Notes", headers[0] if headers else "x"]))
        )
        names.append(None)
    template = kind.template or [{}]
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        base = draw(st.sampled_from(template))
        row = []
        for n in names:
            value = base.get(n, "") if n else ""
            if draw(st.integers(0, 5)) == 0:
                value = draw(cell)
            row.append(str(value))
        if draw(st.integers(0, 9)) == 0:  # a short or a long row
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(cell, max_size=2))
        rows.append(row)
    options = {}
    for o in kind.options:
        if draw(st.integers(0, 7)) == 0:
            choices = [*(o.choices or ()), "yes", "no", "maybe", ""]
            options[o.name] = draw(st.sampled_from(choices))
    return {
        "kind": kind.name,
        "headers": headers,
        "rows": rows,
        "header": draw(st.integers(0, 19)) > 0,
        "delimiter": draw(st.sampled_from([";", ",", "\t"])),
        "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE])),
        "newline": draw(st.sampled_from(["\r\n", "\n", "\r"])),
        "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])),
        "mutations": draw(
            st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3)
        )
        if draw(st.integers(0, 3)) == 0
        else [],
        "truncate": draw(st.integers(0, 2_000)) if draw(st.integers(0, 5)) == 0 else None,
        "xlsx": draw(st.integers(0, 9)) == 0,
        "forced": draw(st.sampled_from([{}] * 8 + [{"encoding": "utf-16"}, {"delimiter": ","}])),
        "options": options,
        "verify_only": draw(st.booleans()),
        "all_or_nothing": draw(st.integers(0, 9)) == 0,
        "scope": draw(st.sampled_from([None, None, None, "ACME-EU", "ACME"])),
    }


def write(spec: dict, folder) -> str:
    lines = ([spec["headers"]] if spec["header"] else []) + spec["rows"]
    if spec["xlsx"]:
        import xlsxwriter

        path = str(folder / "fuzz.xlsx")
        book = xlsxwriter.Workbook(
            path, {"strings_to_numbers": False, "strings_to_formulas": False}
        )
        sheet = book.add_worksheet()
        for i, row in enumerate(lines):
            for j, value in enumerate(row):
                sheet.write_string(i, j, value.replace("\x00", ""))
        book.close()
        return path
    buf = io.StringIO()
    kw = {"escapechar": "\\"} if spec["quoting"] == csv.QUOTE_NONE else {}
    writer = csv.writer(
        buf,
        delimiter=spec["delimiter"],
        quoting=spec["quoting"],
        lineterminator=spec["newline"],
        **kw,
    )
    try:
        writer.writerows(lines)
    except csv.Error:  # QUOTE_NONE cannot write some cells: quote them after all
        buf = io.StringIO()
        csv.writer(buf, delimiter=spec["delimiter"], lineterminator=spec["newline"]).writerows(
            lines
        )
    data = bytearray(buf.getvalue().encode(spec["encoding"], errors="replace"))
    for pos, byte in spec["mutations"]:
        if data:
            data[pos % len(data)] = byte
    if spec["truncate"] is not None:
        data = data[: spec["truncate"]]
    path = folder / "fuzz.csv"
    path.write_bytes(bytes(data))
    return str(path)


def run(spec: dict, path: str) -> tuple[int, dict | None]:
    """The import as `registrar import` runs it: (exit status, its --json summary)."""
    args = ["import_file", spec["kind"], path, "--json"]
    for name, value in {**spec["options"], **spec["forced"]}.items():
        args += ["--set", f"{name}={value}"]
    if not spec["header"]:
        args += ["--set", "header=no"]
    if spec["verify_only"]:
        args.append("--verify-only")
    if spec["all_or_nothing"]:
        args.append("--all-or-nothing")
    if spec["scope"]:
        args += ["--scope", spec["scope"]]
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except CommandError as e:
        return e.returncode, None
    except SystemExit as e:
        return e.code, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


@pytest.fixture
def demo(db, tmp_path_factory):
    call_command("demo", users=60, stdout=io.StringIO())
    assert Organisation.objects.filter(extid="ACME-EU").exists()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(spec=import_file())
def test_hostile_files_of_every_kind_end_in_a_status_and_codes(demo, tmp_path, spec):
    path = write(spec, tmp_path)
    status, summary = run(spec, path)
    TRIED["files"] += 1
    TRIED["status"][status] = TRIED["status"].get(status, 0) + 1
    assert status in (0, 1, 2)
    if summary is None:
        assert status == 2
        return
    op = Operation.objects.get(pk=summary["operation"])
    assert summary["rejected"] == op.rejected and (status == 1) == bool(op.rejected)
    results = read_results(op.results_path)
    assert len(results) == summary["rows"]
    for r in results:
        assert r["result"] in ("created", "updated", "deleted", "unchanged", "skipped", "rejected")
        if r["result"] in ("rejected", "skipped"):
            assert r["codes"], r
        assert "processing_error" not in r["codes"], (spec, r)


def test_zz_report_how_many_files_the_fuzzer_tried(capsys):
    """Not a check: prints the count for the record (pytest -s)."""
    with capsys.disabled():
        print(f"\nfuzz: {TRIED['files']} files, exit statuses {TRIED['status']}")
