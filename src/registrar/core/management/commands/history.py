"""registrar history: operations, newest first."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from registrar.journal.models import Operation


class Command(BaseCommand):
    help = "List operations, newest first."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, **o):
        ops = Operation.objects.order_by("-pk")[: o["limit"]]
        self.stdout.write(f"{'id':>6}  {'when':16}  {'who':12}  {'what':24}  {'status':9}  counts")
        for op in ops:
            when = timezone.localtime(op.started_at).strftime("%Y-%m-%d %H:%M")
            c = op.counts()
            counts = " ".join(f"{k}={v}" for k, v in c.items() if v)
            undone = f" (undone by #{op.undone_by_id})" if op.undone_by_id else ""
            what = f"{op.kind} {op.name}" if op.kind != "undo" else op.name
            self.stdout.write(
                f"{op.pk:>6}  {when:16}  {op.actor_label[:12]:12}  {what[:24]:24}  {op.status:9}  {counts}{undone}"
            )
