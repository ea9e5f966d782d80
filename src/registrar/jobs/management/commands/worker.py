"""registrar worker: run queued jobs (imports, undos) in the background."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background jobs until stopped (several workers may run; a job runs once)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop.")

    def handle(self, *args, **o):
        call_command(
            "db_worker",
            queue_name="*",
            interval=o["interval"],
            batch=o["batch"],
            reload=False,
            startup_delay=False,
            verbosity=o["verbosity"],
        )
