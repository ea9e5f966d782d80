"""registrar init: create or upgrade the database, and write the installation's secret key."""

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from registrar.core.security import write_secret_key
from registrar.routers import separate_jobs_db


def migrate_all() -> None:
    """Migrate the main database and, when it is a file of its own, the jobs database; create the
    throttle's cache table where the router puts it (createcachetable skips existing tables)."""
    call_command("migrate", interactive=False, verbosity=0)
    if separate_jobs_db():
        call_command("migrate", database="jobs", interactive=False, verbosity=0)
    call_command(
        "createcachetable", database="jobs" if separate_jobs_db() else "default", verbosity=0
    )


class Command(BaseCommand):
    help = "Create or upgrade the database, and write a secret key of this installation."

    def handle(self, *args, **opts):
        migrate_all()
        from django.db import connection

        self.stdout.write(f"Database ready: {connection.vendor} {connection.settings_dict['NAME']}")
        if os.environ.get("REGISTRAR_SECRET_KEY"):
            return  # the key comes from the environment: nothing to write
        path = settings.SECRET_KEY_FILE
        if write_secret_key(path):
            self.stdout.write(f"Secret key written to {path} (keep it private; back it up).")
