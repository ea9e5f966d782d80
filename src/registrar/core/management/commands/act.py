"""registrar act TARGET ACTION [SELECTION] [--params JSON|@file]: a bulk action (SPEC §3, §5)."""

import json
import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from registrar.bulk import engine, registry
from registrar.bulk.io.readers import FileError
from registrar.bulk.selection import Selection

from ..reporting import print_report, progress_printer, refused

PARAMS_LIMIT = 1 << 20  # bytes of a --params file


def read_params(text: str | None) -> dict:
    """--params: JSON text, or @file holding it; exit 2 naming the problem."""
    if not text:
        return {}
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                text = f.read(PARAMS_LIMIT + 1)
        except OSError as e:
            raise FileError("invalid_parameter", key="params", reason=str(e)) from None
        if len(text) > PARAMS_LIMIT:
            raise FileError("invalid_parameter", key="params", reason="the file is over 1 MiB")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise FileError("invalid_parameter", key="params", reason=f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise FileError("invalid_parameter", key="params", reason="expects a JSON object")
    return value


class Command(BaseCommand):
    help = "Run a bulk action on a selection: registrar act TARGET ACTION [SELECTION] [options]."

    def add_arguments(self, parser):
        parser.add_argument("target", help="users, courses or curricula")
        parser.add_argument("action", help="e.g. assign-courses")
        parser.add_argument("--where", action="append", default=[], metavar="FIELD:OP:VALUE")
        parser.add_argument("--any", action="store_true", help="Any criterion instead of all.")
        parser.add_argument("--include-disabled", action="store_true")
        parser.add_argument("--list", help="The members of a saved list.")
        parser.add_argument("--ids", help="ID,ID… or @FILE (one a line).")
        parser.add_argument("--exclude", help="ID,ID… left out of the selection.")
        parser.add_argument("--params", help="The action's parameters: JSON, or @file.")
        parser.add_argument("--scope", help="Organisation extid the action is confined to.")
        parser.add_argument("--verify-only", action="store_true", help="Plan; write nothing.")
        parser.add_argument("--results")
        parser.add_argument("--json", action="store_true", help="Print one JSON summary object.")
        parser.add_argument(
            "--lang", default="en", choices=("en", "fr"), help="Messages language: en or fr."
        )

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            self._handle(o)

    def _handle(self, o):
        try:
            action = registry.get_action(o["target"], o["action"])
            selection = Selection.from_args(
                action.target,
                where=o["where"],
                any=o["any"],
                include_disabled=o["include_disabled"],
                list=o["list"],
                ids=o["ids"],
                exclude=o["exclude"],
            )
            report = engine.run(
                engine.Request(
                    kind=action.name,
                    selection=selection,
                    params=read_params(o["params"]),
                    verify_only=o["verify_only"],
                    scope=o["scope"],
                    results_path=o["results"],
                    progress=None if o["json"] else progress_printer(sys.stderr),
                )
            )
        except FileError as e:
            raise refused(e) from None
        summary = print_report(self.stdout, report, o["json"], "Done")
        if summary["rejected"]:
            sys.exit(1)
