"""users.send-mail (SPEC §5, seed 003 "Envoyer un e-mail"): a mail to each selected user, a free
subject and body or a mail template, with the user's fields; through the outbox and SMTP."""

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError

from ... import params as P
from ...action import MAIL_TEMPLATE, Action, Param
from ...kind import CREATED, SKIPPED


class SendMail(Action):
    verb = "send-mail"
    title = _("Send a mail")
    description = _(
        "Queues a mail to each selected user: `subject` and `body` (Django template language, "
        "with the user's fields: {{ user.first_name }}, {{ user.last_name }}, {{ user.login }}, "
        "{{ user.email }}, {{ portal_url }}), or `mail_template` (the template of each user's "
        "culture). A field no user can have here (a course's) is refused before anything is queued "
        "(`template_field_unavailable`). One result per user: `created` when the mail is queued, "
        "`skipped` with `no_email` for a user without an address. The background worker delivers "
        "the mails over SMTP; running the action again sends them again, and an undo cannot unsend."
    )
    domain = "directory"
    repeatable = True
    mail_fields = ("user",)
    params = [
        Param("subject", P.Text(max_length=255, blank=False), help=_("The mail's subject.")),
        Param(
            "body",
            P.Text(max_length=100_000, blank=False, widget="textarea"),
            help=_("The mail's text."),
        ),
    ]
    examples = [{"subject": "Hello {{ user.first_name }}", "body": "See {{ portal_url }}."}]

    def check(self, values):
        from registrar.notify import mail, templates

        free = "subject" in values or "body" in values
        if free and MAIL_TEMPLATE in values:
            raise FileError("invalid_combination", first="subject", second=MAIL_TEMPLATE)
        if not free and MAIL_TEMPLATE not in values:
            raise FileError(
                "invalid_parameter", key="subject", reason="give subject and body, or mail_template"
            )
        if free:
            for key in ("subject", "body"):
                if key not in values:
                    raise FileError(
                        "invalid_parameter", key=key, reason="is required with the other"
                    )
            try:
                values[MAIL_TEMPLATE] = mail.prepare_text(
                    values["subject"], values["body"], templates.fields(*self.mail_fields)
                )
            except mail.TemplateError as e:
                raise FileError("template_field_unavailable", template="", field=e.field) from None

    def plan(self, rows, refs, ctx):
        for r in rows:
            if (r.values["user"]["email"] or "").strip():
                r.result = CREATED
            else:
                r.warn("no_email", value=r.values["user"]["login"])
                r.result = SKIPPED

    def apply(self, rows, refs, ctx):
        """Nothing but the mails, which the engine queues for the applied rows (notify)."""
