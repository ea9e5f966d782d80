"""registrar serve: the web server (for now the Django admin; the portal and API come next)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Registrar on http://127.0.0.1:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **o):
        call_command("migrate", interactive=False, verbosity=0)
        call_command(
            "runserver", f"{o['host']}:{o['port']}", use_reloader=False, insecure_serving=True
        )
