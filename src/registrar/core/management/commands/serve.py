"""registrar serve: the portal, the API and the admin; on SQLite, a job worker alongside."""

import argparse
import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand

from registrar.core.management.commands.init import migrate_all
from registrar.routers import separate_jobs_db


class Command(BaseCommand):
    help = "Serve Registrar on http://127.0.0.1:PORT (with a background worker on SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--worker",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Run a job worker alongside (default: yes on SQLite, no on PostgreSQL, where "
            "workers run on their own with `registrar worker`).",
        )

    def handle(self, *args, **o):
        migrate_all()
        # A terminated server stops its worker too: SIGTERM unwinds through the finally below.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        want = separate_jobs_db() if o["worker"] is None else o["worker"]
        worker = None
        if want:
            worker = subprocess.Popen(
                [sys.executable, "-m", "registrar.cli", "worker", "--verbosity", "0"],
                env=os.environ.copy(),
            )
        try:
            call_command(
                "runserver", f"{o['host']}:{o['port']}", use_reloader=False, insecure_serving=True
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(10)
