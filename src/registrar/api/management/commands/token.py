"""registrar token LOGIN [--name NAME]: issue an API token (printed once, stored hashed)."""

from django.core.management.base import BaseCommand, CommandError

from registrar.api.models import ApiToken
from registrar.directory.models import User


class Command(BaseCommand):
    help = "Issue an API token for a user; it is printed once and only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("login")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, **o):
        user = User.objects.filter(login=o["login"]).first()
        if user is None:
            raise CommandError(f"no user has the login {o['login']!r}", returncode=2)
        _, token = ApiToken.issue(user, o["name"])
        self.stdout.write(token)
