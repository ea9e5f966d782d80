"""registrar init: create or upgrade the database."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from registrar.routers import separate_jobs_db


def migrate_all() -> None:
    """Migrate the main database and, when it is a file of its own, the jobs database."""
    call_command("migrate", interactive=False, verbosity=0)
    if separate_jobs_db():
        call_command("migrate", database="jobs", interactive=False, verbosity=0)


class Command(BaseCommand):
    help = "Create or upgrade the database."

    def handle(self, *args, **opts):
        migrate_all()
        from django.db import connection

        self.stdout.write(f"Database ready: {connection.vendor} {connection.settings_dict['NAME']}")
