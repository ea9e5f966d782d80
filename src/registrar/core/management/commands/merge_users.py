"""registrar merge-users --remove LOGIN --keep LOGIN: merge two users (SPEC §3, §7)."""

import json
import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from registrar.bulk import engine
from registrar.bulk.io.readers import FileError
from registrar.bulk.merge import objects_summary, results_table

from ..reporting import print_report, refused

TABLE_ROWS = 200  # rows of the plan printed; the results file has them all


def print_moves(stdout, report, as_json: bool, done: str = "Done") -> dict:
    """The plan or the result as a table, then the summary; --json: the summary with counts
    per object type."""
    if as_json:
        summary = {**report.summary(), "objects": objects_summary(report.operation)}
        stdout.write(json.dumps(summary))
        return summary
    print_table(stdout, results_table(report.results_path, TABLE_ROWS))
    return print_report(stdout, report, False, done)


def print_table(stdout, table: list[list[str]]) -> None:
    if not table:
        return
    width = len(table[0])
    table = [(row + [""] * width)[:width] for row in table]
    widths = [min(40, max(len(r[i]) for r in table)) for i in range(width)]
    for n, row in enumerate(table):
        cells = [c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, widths, strict=True)]
        stdout.write("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if n == 0:
            stdout.write("  ".join("-" * w for w in widths))


class Command(BaseCommand):
    help = (
        "Merge two users: everything of --remove moves to --keep, the better record of each "
        "course and lesson is kept, --remove is deleted: registrar merge-users --remove LOGIN "
        "--keep LOGIN [--verify-only] [--json]."
    )

    def add_arguments(self, parser):
        parser.add_argument("--remove", required=True, metavar="LOGIN", help="User Z, deleted.")
        parser.add_argument("--keep", required=True, metavar="LOGIN", help="User A, kept.")
        parser.add_argument("--scope", help="Organisation extid the merge is confined to.")
        parser.add_argument("--verify-only", action="store_true", help="Plan; write nothing.")
        parser.add_argument("--results", help="Also write the results file here.")
        parser.add_argument("--json", action="store_true", help="Print one JSON summary object.")
        parser.add_argument(
            "--lang", default="en", choices=("en", "fr"), help="Messages language: en or fr."
        )

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            try:
                report = engine.run(
                    engine.Request(
                        kind="merge-users",
                        params={"remove": o["remove"], "keep": o["keep"]},
                        verify_only=o["verify_only"],
                        scope=o["scope"],
                        results_path=o["results"],
                    )
                )
            except FileError as e:
                raise refused(e) from None
            summary = print_moves(self.stdout, report, o["json"])
        if summary["rejected"]:
            sys.exit(1)
