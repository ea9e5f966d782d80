"""registrar report completions: the completion report of SPEC §9 (docs/reports.md)."""

import json

from django.core.management.base import BaseCommand, CommandError

from registrar.reports.completions import (
    COUNTS,
    KEYS,
    Filters,
    ReportError,
    Tree,
    completions,
    parse_date,
    scope_of,
)

REPORTS = ("completions",)


def table(rows: list[dict], key: str) -> list[str]:
    """The report as aligned text: a header of the keys, one line per row."""
    heads = [key, *COUNTS, "completion_rate"]
    cells = [
        [str(r[key]), *(str(r[c]) for c in COUNTS), f"{r['completion_rate']:.3f}"] for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]

    def line(values):
        first = values[0].ljust(widths[0])
        return "  ".join(
            [first, *(v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))]
        )

    return [line(heads), *(line(c) for c in cells)]


class Command(BaseCommand):
    help = "Print a report: registrar report completions [--by course|organisation|...]."

    def add_arguments(self, parser):
        parser.add_argument("report", help="completions")
        parser.add_argument(
            "--by", default="course", help="course (default), organisation, curriculum, programme"
        )
        parser.add_argument("--org", default="", help="Count only this organisation's subtree.")
        parser.add_argument("--course", default="", help="Only this course (code).")
        parser.add_argument("--curriculum", default="", help="Only this curriculum's courses.")
        parser.add_argument("--since", default="", help="Assignments that began on or after.")
        parser.add_argument("--until", default="", help="Assignments that began on or before.")
        parser.add_argument(
            "--accreditation", action="store_true", help="Leave legacy course records out."
        )
        parser.add_argument(
            "--include-disabled", action="store_true", help="Count disabled users too."
        )
        parser.add_argument("--scope", default="", help="Organisation extid to confine it to.")
        parser.add_argument("--today", default="", help="Count overdue as of this day.")
        parser.add_argument("--json", action="store_true", help="Print a JSON list of objects.")

    def handle(self, *args, **o):
        if o["report"] not in REPORTS:
            raise CommandError(f"report: expects one of {', '.join(REPORTS)}", returncode=2)
        try:
            filters = Filters.parse(o)
            today = parse_date("today", o["today"])
            scope = None
            if o["scope"]:
                tree = Tree()
                if o["scope"] not in tree.by_extid:
                    raise ReportError("scope", f"no organisation has the external id {o['scope']}")
                scope = scope_of([o["scope"]], tree)
            rows = completions(o["by"], filters, scope, today)
        except ReportError as e:
            raise CommandError(f"{e.key}: {e.message}", returncode=2) from None
        if o["json"]:
            self.stdout.write(json.dumps(rows))
            return
        for line in table(rows, KEYS[o["by"]]):
            self.stdout.write(line)
