"""registrar undo OPERATION_ID: restore what an operation changed, as a new operation."""

import json
import sys

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from registrar.journal.undo import UndoRefused, undo
from registrar.notify.models import OutboxMail

CONFLICTS_SHOWN = 50


def table_name(label: str, n: int) -> str:
    """A table's rows as a person says it: `39 users`."""
    meta = apps.get_model(label)._meta
    return f"{n:,} {meta.verbose_name if n == 1 else meta.verbose_name_plural}"


def plan_lines(op) -> list[str]:
    """What the undo removes, restores and re-creates, per table."""
    tables = (op.options or {}).get("tables", {})
    lines = []
    for what, verb in (("deleted", "remove"), ("updated", "restore"), ("created", "re-create")):
        per = tables.get(what) or {}
        if per:
            parts = ", ".join(table_name(t, n) for t, n in sorted(per.items(), key=lambda x: -x[1]))
            lines.append(f"  {verb}: {parts}")
    return lines


def conflict_lines(conflicts: list[dict], total: int) -> list[str]:
    lines = []
    for c in conflicts[:CONFLICTS_SHOWN]:
        name = c.get("label") or f"#{c['pk']}"
        row = f", input row {c['row']}" if c.get("row") else ""
        lines.append(
            f"  conflict: {c['table']} {name} (#{c['pk']}{row}) changed since: left as it is"
        )
    if total > CONFLICTS_SHOWN:
        lines.append(f"  … and {total - CONFLICTS_SHOWN:,} more conflicts")
    return lines


class Command(BaseCommand):
    help = (
        "Undo an operation. It is checked first: what it will remove and restore is shown, and "
        "when rows changed since (conflicts, left as they are) you are asked to confirm."
    )

    def add_arguments(self, parser):
        parser.add_argument("operation_id", type=int)
        parser.add_argument("--verify-only", action="store_true", help="show the plan only")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="undo without asking, even when some rows changed since (they are left)",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        target = o["operation_id"]
        try:
            if not o["verify_only"] and not o["yes"]:
                check, conflicts = undo(target, verify_only=True)
                if conflicts and not self._confirmed(target, check, conflicts, o["json"]):
                    raise CommandError(
                        f"{check.conflicts:,} row(s) of operation #{target} changed since and "
                        f"would be left as they are; nothing was undone. Run `registrar undo "
                        f"{target} --yes` to undo the rest.",
                        returncode=2,
                    )
            op, conflicts = undo(target, verify_only=o["verify_only"])
        except UndoRefused as e:
            raise CommandError(str(e), returncode=2) from None
        mails = OutboxMail.objects.filter(operation_id=target).count()
        if o["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "operation": op.pk,
                        "kind": op.name,
                        "verify_only": op.verify_only,
                        **op.counts(),
                        "tables": (op.options or {}).get("tables", {}),
                        "conflict_count": op.conflicts,
                        "conflicts": conflicts,
                        "mails_not_unsent": mails,
                    }
                )
            )
        else:
            verb = "Would undo" if op.verify_only else "Undone"
            self.stdout.write(
                f"{verb} #{target} as operation #{op.pk}: {op.deleted:,} removed, "
                f"{op.updated:,} restored, {op.created:,} re-created, {op.conflicts:,} conflict(s)"
            )
            for line in plan_lines(op) + conflict_lines(conflicts, op.conflicts):
                self.stdout.write(line)
            if mails:
                self.stdout.write(
                    f"note: the {mails} mail(s) operation #{target} queued were sent or "
                    "will be: an undo cannot unsend a mail"
                )
        if conflicts:
            sys.exit(1)

    def _confirmed(self, target: int, check, conflicts: list[dict], as_json: bool) -> bool:
        """Show the checked plan and ask; only a person at a terminal can say yes."""
        if as_json or not sys.stdin.isatty():
            return False
        self.stdout.write(
            f"Undoing #{target} would leave {check.conflicts:,} row(s) that changed since as they "
            "are, and:"
        )
        for line in plan_lines(check) + conflict_lines(conflicts, check.conflicts):
            self.stdout.write(line)
        self.stdout.flush()
        answer = input("Undo the rest? [y/N] ").strip().lower()
        return answer in ("y", "yes", "o", "oui")
