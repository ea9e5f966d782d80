"""registrar undo OPERATION_ID: restore what an operation changed, as a new operation."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from registrar.journal.undo import UndoRefused, undo
from registrar.notify.models import OutboxMail


class Command(BaseCommand):
    help = "Undo an operation; rows changed since are reported as conflicts and left."

    def add_arguments(self, parser):
        parser.add_argument("operation_id", type=int)
        parser.add_argument("--verify-only", action="store_true")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        try:
            op, conflicts = undo(o["operation_id"], verify_only=o["verify_only"])
        except UndoRefused as e:
            raise CommandError(str(e), returncode=2) from None
        mails = OutboxMail.objects.filter(operation_id=o["operation_id"]).count()
        if o["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "operation": op.pk,
                        "kind": op.name,
                        "verify_only": op.verify_only,
                        **op.counts(),
                        "conflicts": conflicts,
                        "mails_not_unsent": mails,
                    }
                )
            )
        else:
            verb = "Would undo" if op.verify_only else "Undone"
            self.stdout.write(
                f"{verb} #{o['operation_id']} as operation #{op.pk}: {op.deleted} removed, {op.updated} restored, {op.created} re-created, {len(conflicts)} conflict(s)"
            )
            if mails:
                self.stdout.write(
                    f"note: the {mails} mail(s) operation #{o['operation_id']} queued were sent or "
                    "will be: an undo cannot unsend a mail"
                )
            for c in conflicts[:50]:
                row = f" (input row {c['row']})" if c.get("row") else ""
                self.stdout.write(
                    f"conflict: {c['table']} #{c['pk']}{row} changed since: left as it is"
                )
        if conflicts:
            sys.exit(1)
