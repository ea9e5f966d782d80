"""registrar unlock KIND: release a stale import lock left by a crashed import."""

from django.core.management.base import BaseCommand

from registrar.journal.models import Operation
from registrar.journal.service import release_lock


class Command(BaseCommand):
    help = "Release the import lock of KIND (all scopes, or --scope ORG_EXTID)."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("--scope", default="")

    def handle(self, *args, **o):
        from registrar.journal.models import ImportLock

        locks = ImportLock.objects.filter(kind=o["kind"])
        if o["scope"]:
            locks = locks.filter(scope_key=o["scope"])
        ops = [lk.operation_id for lk in locks if lk.operation_id]
        n = release_lock(o["kind"], o["scope"])
        Operation.objects.filter(pk__in=ops, status=Operation.Status.RUNNING).update(
            status=Operation.Status.FAILED, error="interrupted; lock released by unlock"
        )
        self.stdout.write(f"Released {n} lock(s) of {o['kind']}.")
