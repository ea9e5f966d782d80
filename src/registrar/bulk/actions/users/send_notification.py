"""users.send-notification (SPEC §5, seed 003 "Envoyer une notification"): a short plain text
shown to each selected user in the portal (the bell)."""

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError
from registrar.notify import notifications

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED


class SendNotification(Action):
    verb = "send-notification"
    title = _("Send a notification")
    description = _(
        "Sends the plain text `text` (at most 500 characters, shown as typed, without "
        "formatting) to each selected user as a portal notification: one result per user, "
        "`created`. Running the action again sends it again. Undo removes the notifications, "
        "read or not."
    )
    domain = "directory"
    repeatable = True  # a second run is a second notification, as a person sending it twice
    params = [
        Param(
            "text",
            P.Text(max_length=notifications.MAX_TEXT, blank=False, widget="textarea"),
            required=True,
            help=_("Plain text, at most 500 characters."),
        )
    ]
    examples = [{"text": "The new safety course is open: please complete it by March."}]

    def check(self, values):
        if "text" in values:
            try:
                values["text"] = notifications.clean_text(values["text"])
            except ValueError as e:
                raise FileError("invalid_parameter", key="text", reason=str(e)) from None

    def plan(self, rows, refs, ctx):
        for r in rows:
            r.result = CREATED

    def apply(self, rows, refs, ctx):
        notifications.send(ctx.op, [r.values["user"]["id"] for r in rows], ctx.options["text"])
