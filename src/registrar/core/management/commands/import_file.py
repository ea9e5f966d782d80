"""registrar import KIND FILE: run one import through the engine."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from registrar.bulk import engine
from registrar.bulk.io.readers import FileError

from ..reporting import print_report, progress_printer, refused


class Command(BaseCommand):
    help = "Import a CSV or spreadsheet: registrar import KIND FILE [options]."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("file")
        parser.add_argument(
            "--verify-only", action="store_true", help="Validate and plan; write nothing."
        )
        parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
        parser.add_argument(
            "--scope", help="Organisation extid: rows outside its subtree are rejected."
        )
        parser.add_argument("--results")
        parser.add_argument("--rejects")
        parser.add_argument("--log")
        parser.add_argument("--json", action="store_true", help="Print one JSON summary object.")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Any rejected row aborts the whole import.",
        )
        parser.add_argument(
            "--preview", action="store_true", help="Show how the first data row is read, then stop."
        )
        parser.add_argument("--lang", default="en", help="Messages language: en or fr.")

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            self._handle(o)

    def _handle(self, o):
        options = {}
        for item in o["set"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set expects OPTION=VALUE, not {item!r}", returncode=2)
            options[name.strip()] = value.strip()
        try:
            engine.get_kind(o["kind"])  # an import kind: an action runs with `registrar act`
            if o["preview"]:
                self.stdout.write(
                    json.dumps(
                        engine.preview(o["kind"], o["file"], options), indent=2, ensure_ascii=False
                    )
                )
                return
            req = engine.Request(
                kind=o["kind"],
                path=o["file"],
                options=options,
                verify_only=o["verify_only"],
                all_or_nothing=o["all_or_nothing"],
                scope=o["scope"],
                results_path=o["results"],
                rejects_path=o["rejects"],
                log_path=o["log"],
                progress=progress_printer(sys.stderr)
                if sys.stderr.isatty() and not o["json"]
                else None,
            )
            report = engine.run_import(req)
        except FileError as e:
            raise refused(e) from None
        summary = print_report(self.stdout, report, o["json"], "Imported")
        if summary["rejected"]:
            sys.exit(1)
