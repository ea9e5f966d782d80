"""registrar import KIND FILE: run one import through the engine."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from registrar.bulk import engine
from registrar.bulk.io.readers import FileError

from ..reporting import print_preview, print_report, progress_printer, refused


class Command(BaseCommand):
    help = (
        "Import a CSV or spreadsheet file of one kind (docs/formats.md): --preview shows how it "
        "is read, --verify-only plans it and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", help="The import kind: organisations, users, completions…")
        parser.add_argument("file", help="A CSV, .xlsx, .xls or .ods file.")
        parser.add_argument(
            "--verify-only", action="store_true", help="Validate and plan; write nothing."
        )
        parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE")
        parser.add_argument(
            "--scope", help="Organisation extid: rows outside its subtree are rejected."
        )
        parser.add_argument(
            "--results", metavar="PATH", help="Copy the results file here (.csv or .xlsx)."
        )
        parser.add_argument(
            "--rejects", metavar="PATH", help="Copy the rejects file here (.csv or .xlsx)."
        )
        parser.add_argument("--log", metavar="PATH", help="Copy the log here.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON summary object (or preview)."
        )
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Any rejected row aborts the whole import.",
        )
        parser.add_argument(
            "--preview",
            action="store_true",
            help="Show how the file is read, column by column (a table; JSON with --json), then stop.",
        )
        parser.add_argument(
            "--lang", default="en", choices=("en", "fr"), help="Messages language: en or fr."
        )

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
                p = engine.preview(o["kind"], o["file"], options)
                if o["json"]:
                    self.stdout.write(json.dumps(p, indent=2, ensure_ascii=False))
                else:
                    print_preview(self.stdout, p, o["file"])
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
                progress=None if o["json"] else progress_printer(sys.stderr),
            )
            report = engine.run_import(req)
        except FileError as e:
            raise refused(e) from None
        summary = print_report(self.stdout, report, o["json"], "Imported")
        if summary["rejected"]:
            sys.exit(1)
