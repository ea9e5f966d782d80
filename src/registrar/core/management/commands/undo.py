"""registrar undo OPERATION_ID: restore what an operation changed, as a new operation."""

import json
import sys

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registrar.journal.undo import UndoRefused, undo
from registrar.notify.models import OutboxMail

from ..reporting import number, progress_printer

CONFLICTS_SHOWN = 50


def table_name(label: str, n: int) -> str:
    """A table's rows as a person says it: `39 users`."""
    meta = apps.get_model(label)._meta
    return f"{number(n)} {meta.verbose_name if n == 1 else meta.verbose_name_plural}"


def plan_lines(op) -> list[str]:
    """What the undo removes, restores and re-creates, per table."""
    tables = (op.options or {}).get("tables", {})
    lines = []
    verbs = (
        ("deleted", _("  remove: %(tables)s")),
        ("updated", _("  restore: %(tables)s")),
        ("created", _("  re-create: %(tables)s")),
    )
    for what, line in verbs:
        per = tables.get(what) or {}
        if per:
            parts = ", ".join(table_name(t, n) for t, n in sorted(per.items(), key=lambda x: -x[1]))
            lines.append(line % {"tables": parts})
    return lines


def conflict_lines(conflicts: list[dict], total: int) -> list[str]:
    lines = []
    for c in conflicts[:CONFLICTS_SHOWN]:
        name = c.get("label") or f"#{c['pk']}"
        row = _(", input row %(row)s") % {"row": c["row"]} if c.get("row") else ""
        lines.append(
            _("  conflict: %(table)s %(name)s (#%(pk)s%(row)s) changed since: left as it is")
            % {"table": c["table"], "name": name, "pk": c["pk"], "row": row}
        )
    if total > CONFLICTS_SHOWN:
        more = total - CONFLICTS_SHOWN
        lines.append(
            ngettext("  … and %(n)s more conflict", "  … and %(n)s more conflicts", more)
            % {"n": number(more)}
        )
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
        parser.add_argument(
            "--lang", default="en", choices=("en", "fr"), help="Messages language: en or fr."
        )

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            self._handle(o)

    def _handle(self, o):
        target = o["operation_id"]
        progress = None if o["json"] else progress_printer(sys.stderr)
        try:
            if not o["verify_only"] and not o["yes"]:
                check, conflicts = undo(target, verify_only=True)
                if conflicts and not self._confirmed(target, check, conflicts, o["json"]):
                    raise CommandError(
                        _(
                            "%(n)s row(s) of operation #%(id)s changed since and would be left "
                            "as they are; nothing was undone. Run `registrar undo %(id)s --yes` "
                            "to undo the rest."
                        )
                        % {"n": number(check.conflicts), "id": target},
                        returncode=2,
                    )
            op, conflicts = undo(target, verify_only=o["verify_only"], progress=progress)
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
            line = (
                _(
                    "Would undo #%(id)s as operation #%(op)s: %(deleted)s removed, "
                    "%(updated)s restored, %(created)s re-created, %(conflicts)s conflict(s)"
                )
                if op.verify_only
                else _(
                    "Undone #%(id)s as operation #%(op)s: %(deleted)s removed, "
                    "%(updated)s restored, %(created)s re-created, %(conflicts)s conflict(s)"
                )
            )
            self.stdout.write(
                line
                % {
                    "id": target,
                    "op": op.pk,
                    "deleted": number(op.deleted),
                    "updated": number(op.updated),
                    "created": number(op.created),
                    "conflicts": number(op.conflicts),
                }
            )
            for text in plan_lines(op) + conflict_lines(conflicts, op.conflicts):
                self.stdout.write(text)
            if mails:
                self.stdout.write(
                    _(
                        "note: the %(n)s mail(s) operation #%(id)s queued were sent or will be: "
                        "an undo cannot unsend a mail"
                    )
                    % {"n": mails, "id": target}
                )
        if conflicts:
            sys.exit(1)

    def _confirmed(self, target: int, check, conflicts: list[dict], as_json: bool) -> bool:
        """Show the checked plan and ask; only a person at a terminal can say yes."""
        if as_json or not sys.stdin.isatty():
            return False
        self.stdout.write(
            _("Undoing #%(id)s would leave %(n)s row(s) that changed since as they are, and:")
            % {"id": target, "n": number(check.conflicts)}
        )
        for line in plan_lines(check) + conflict_lines(conflicts, check.conflicts):
            self.stdout.write(line)
        self.stdout.flush()
        answer = input(_("Undo the rest? [y/N] ")).strip().lower()
        return answer in ("y", "yes", "o", "oui")
