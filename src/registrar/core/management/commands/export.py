"""registrar export --config JSON|@file --output PATH [--scope ORG_EXTID]: the export (SPEC §6)."""

import json
import sys

from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from registrar.bulk import export
from registrar.bulk.io.readers import FileError

from ..reporting import number, progress_printer, refused


class Command(BaseCommand):
    help = "Export users, curricula, courses and lessons to CSV or .xlsx (docs/export.md)."

    def add_arguments(self, parser):
        parser.add_argument("--config", help="The configuration: JSON, or @file holding it.")
        parser.add_argument("--output", required=True, help="The file to write (.csv or .xlsx).")
        parser.add_argument("--scope", help="Organisation extid the export is confined to.")
        parser.add_argument("--save", metavar="NAME", help="Also save the configuration.")
        parser.add_argument("--saved", metavar="NAME", help="Use a saved configuration.")
        parser.add_argument("--shared", action="store_true", help="--save it shared.")
        parser.add_argument("--json", action="store_true", help="Print one JSON summary object.")
        parser.add_argument(
            "--lang", default="en", choices=("en", "fr"), help="Messages language: en or fr."
        )

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            self._handle(o)

    def _handle(self, o):
        from registrar.jobs import exports

        try:
            if o["saved"] and o["config"]:
                raise FileError(
                    "invalid_combination",
                    first="config",
                    second="saved",
                    detail=": a saved configuration is the whole configuration",
                )
            if o["saved"]:
                cfg = exports.saved_config(None, o["saved"])
            elif o["config"]:
                cfg = export.read_config(o["config"])
            else:
                raise FileError(
                    "invalid_parameter", key="config", reason="give --config or --saved"
                )
            if o["save"]:
                exports.save(None, o["save"], cfg, shared=o["shared"])
            report = export.run(
                cfg,
                output=o["output"],
                scope=o["scope"],
                progress=progress_printer(sys.stderr)
                if sys.stderr.isatty() and not o["json"]
                else None,
            )
        except FileError as e:
            raise refused(e) from None
        summary = report.summary()
        if o["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            done = _("Done: operation #%(id)s export: rows %(rows)s") % {
                "id": report.operation.pk,
                "rows": number(report.rows),
            }
            self.stdout.write(done + "\n" + _("output: %(path)s") % {"path": report.path})
