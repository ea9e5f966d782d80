#!/usr/bin/env python
"""Reading a large .xlsx through open_table: before issue 10 (python-calamine in this process,
the whole grid held) and now (a child process streaming the sheet XML over a pipe).

It writes a ROWS × 10 sheet with XlsxWriter (strings, numbers, dates, booleans; shared strings,
or inline strings with --inline), then reads it RUNS times with each reader, every run in a
fresh process that reads every row as the engine does. It prints the median rows/s, and the
peak resident memory of the reading process and, for the new reader, of its child (VmHWM:
what each process itself held, not what it inherited).

With --import it also times a whole completions import of a ROWS-row .xlsx (SQLite, 10,000
users and 100 courses, a fresh copy of the database each run) with each reader: the child
reads while the engine works, so what matters is how much of the reading stays hidden.

    python benchmarks/bench_sheets.py [--rows 100000] [--runs 3] [--inline] [--import] [--keep]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

COLUMNS = ["user_email", "course_id", "completion_date", "score", "ratio", "status", "passed"]
COLUMNS += ["note", "credits", "flag"]


def write_sheet(path: str, rows: int, inline: bool) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": inline})
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, COLUMNS)
    for r in range(1, rows + 1):
        sheet.write_string(r, 0, f"user{r}@example.com")
        sheet.write_string(r, 1, f"COURSE-{r % 1000}")
        sheet.write_datetime(r, 2, datetime(2024, 1, 1) + timedelta(days=r % 300), day)
        sheet.write_number(r, 3, r % 100)
        sheet.write_number(r, 4, r / 7)
        sheet.write_string(r, 5, "passed")
        sheet.write_boolean(r, 6, r % 2 == 0)
        sheet.write_string(r, 7, f"note {r}")
        sheet.write_number(r, 8, 3.5)
        sheet.write_string(r, 9, "x")
    book.close()


def peak_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class LegacySheetTable:
    """SheetTable as it was before issue 10: calamine's whole grid, in this process."""

    format, delimiter, encoding, total = "xlsx", ";", "utf-8", None

    def __init__(self, path: str, kind: str = "xlsx", header: bool = True):
        self.path, self.has_header, self.headers = path, header, None
        from python_calamine import CalamineWorkbook

        from registrar.bulk.io.sheets import cell_text

        self.cell_text = cell_text
        sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
        self._iter = iter(sheet.iter_rows())
        self._number = 0
        for cells in self._iter:
            self._number += 1
            if any(c not in (None, "") for c in cells):
                self.headers = [cell_text(c) for c in cells]
                break

    def rows(self):
        cell_text = self.cell_text
        for cells in self._iter:
            self._number += 1
            texts = [cell_text(c) for c in cells]
            if any(texts):
                yield self._number, texts

    def fraction(self) -> float | None:
        return None

    def close(self) -> None:
        pass


def measure(reader: str, path: str) -> dict:
    """One run, in this (fresh) process: every row read, as the engine reads them."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    import django

    django.setup()
    from registrar.bulk.io.readers import open_table

    started = time.perf_counter()
    table = LegacySheetTable(path) if reader == "before" else open_table(path)
    rows = cells = 0
    try:
        for _, row in table.rows():
            rows += 1
            cells += len(row)
    finally:
        table.close()
    seconds = time.perf_counter() - started
    child = getattr(table, "child_peak_kib", None)
    return {
        "rows": rows,
        "cells": cells,
        "seconds": seconds,
        "parent_kib": peak_kib(),
        "child_kib": child,
    }


def measure_import(reader: str, path: str) -> dict:
    """One whole completions import of `path`, in this (fresh) process and database copy."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    import django

    django.setup()
    from registrar.bulk import engine
    from registrar.bulk.io import readers

    if reader == "before":
        readers.SheetTable = LegacySheetTable
    started = time.perf_counter()
    report = engine.run_import(engine.Request(kind="completions", path=path, options={}))
    seconds = time.perf_counter() - started
    counts = report.summary()
    return {
        "rows": counts["rows"],
        "created": counts["created"],
        "seconds": seconds,
        "parent_kib": peak_kib(),
    }


def prepare_import(work: str, rows: int) -> tuple[str, dict]:
    """A seeded SQLite database and a completions .xlsx of `rows` distinct valid rows."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_completions as bc
    import xlsxwriter

    users, courses = 10_000, max(100, rows // 10_000 + 1)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "registrar.settings", "REGISTRAR_DATA": work}
    env.pop("DATABASE_URL", None)
    env["REGISTRAR_DB"] = os.path.join(work, "seed.sqlite3")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import bench_completions as bc; "
        "bc.django_setup(); bc.setup_data(int(sys.argv[2]), int(sys.argv[3]))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(
        [sys.executable, "-c", code, here, str(users), str(courses)], env=env, check=True
    )
    path = os.path.join(work, "completions.xlsx")
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, bc.HEADER)
    for i in range(rows):
        u, q = i % users, i // users
        c = (q + 7 * u) % courses
        day = (date(2020, 1, 1) + timedelta(days=(i * 7919) % 1800)).isoformat()
        sheet.write_row(i + 1, 0, (bc.course_code(c + 1), bc.email(u + 1), day))
    book.close()
    return path, env


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--inline", action="store_true", help="inline strings (no shared strings)")
    p.add_argument("--keep", action="store_true", help="keep the generated file")
    p.add_argument("--import", dest="whole", action="store_true", help="also time an import")
    p.add_argument("--measure", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        reader, path = args.measure
        if reader.startswith("import-"):
            print(json.dumps(measure_import(reader[len("import-") :], path)))
        else:
            print(json.dumps(measure(reader, path)))
        return
    work = tempfile.mkdtemp(prefix="bench-sheets-")
    try:
        path = os.path.join(work, "sheet.xlsx")
        t = time.perf_counter()
        write_sheet(path, args.rows, args.inline)
        size = os.path.getsize(path)
        print(
            f"{args.rows:,} rows × {len(COLUMNS)} columns, "
            f"{'inline' if args.inline else 'shared'} strings: {size / 1e6:.1f} MB "
            f"(written in {time.perf_counter() - t:.1f} s)",
            flush=True,
        )
        env = {**os.environ, "REGISTRAR_DATA": work}
        for reader in ("before", "now"):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", reader, path],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(out.stdout.splitlines()[-1]))
            assert all(r["rows"] == args.rows for r in runs), runs
            rate = statistics.median(r["rows"] / r["seconds"] for r in runs)
            parent = statistics.median(r["parent_kib"] for r in runs) / 1024
            child = [r["child_kib"] for r in runs if r["child_kib"]]
            child_text = f", child {statistics.median(child) / 1024:.0f} MB" if child else ""
            label = (
                "calamine in-process (before)" if reader == "before" else "child, streamed (now)"
            )
            print(
                f"{label:30} median {rate:>9,.0f} rows/s "
                f"({statistics.median(r['seconds'] for r in runs):.2f} s); peak memory: "
                f"reading process {parent:.0f} MB{child_text}",
                flush=True,
            )
        if args.whole:
            bench_import(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench_import(args, work: str) -> None:
    path, env = prepare_import(work, args.rows)
    seed = env["REGISTRAR_DB"]
    print(f"completions import of {args.rows:,} rows (.xlsx, SQLite):", flush=True)
    for reader in ("before", "now"):
        runs = []
        for i in range(args.runs):
            db = os.path.join(work, f"run-{reader}-{i}.sqlite3")
            shutil.copy(seed, db)
            out = subprocess.run(
                [sys.executable, __file__, "--measure", f"import-{reader}", path],
                env={**env, "REGISTRAR_DB": db},
                capture_output=True,
                text=True,
            )
            if out.returncode:
                raise SystemExit(out.stderr[-2000:])
            runs.append(json.loads(out.stdout.splitlines()[-1]))
            os.remove(db)
        assert all(r["created"] == args.rows for r in runs), runs
        rate = statistics.median(r["rows"] / r["seconds"] for r in runs)
        parent = statistics.median(r["parent_kib"] for r in runs) / 1024
        label = "calamine in-process (before)" if reader == "before" else "child, streamed (now)"
        print(
            f"{label:30} median {rate:>9,.0f} rows/s "
            f"({statistics.median(r['seconds'] for r in runs):.2f} s); peak memory of the "
            f"importing process {parent:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
