"""registrar init: create or upgrade the database."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or upgrade the database."

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        from django.db import connection

        self.stdout.write(f"Database ready: {connection.vendor} {connection.settings_dict['NAME']}")
