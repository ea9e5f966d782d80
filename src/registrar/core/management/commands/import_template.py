"""registrar import-template KIND: write an example file for an import kind."""

import os

from django.core.management.base import BaseCommand, CommandError

from registrar.bulk import imports
from registrar.bulk.docs import write_template


class Command(BaseCommand):
    help = "Write an example file for KIND (CSV with ';', or .xlsx with --xlsx)."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("--xlsx", action="store_true")
        parser.add_argument("--output", "-o")

    def handle(self, *args, **o):
        if o["kind"] not in imports.KINDS:
            raise CommandError(
                f"unknown import kind {o['kind']!r}; kinds: {', '.join(imports.KINDS)}",
                returncode=2,
            )
        path = o["output"] or f"{o['kind']}-template.{'xlsx' if o['xlsx'] else 'csv'}"
        write_template(o["kind"], path)
        self.stdout.write(os.path.abspath(path))
