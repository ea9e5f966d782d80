"""Mail templates, the outbox, notifications and calendar events."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.core.models import Journalled


class MailTemplate(Journalled):
    """A mail's subject and body in Django's template language (registrar.notify.templates),
    once per culture: a user gets the template of their culture, else of their language, else
    the default (culture "")."""

    code = models.CharField(max_length=100)
    culture = models.CharField(max_length=10, blank=True, default="")
    subject = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code", "culture"], name="mailtemplate_code_culture")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.culture})" if self.culture else self.code

    def clean(self):
        """The admin's check: a template that parses and names only known fields."""
        from django.core.exceptions import ValidationError

        from . import templates

        for name, text in (("subject", self.subject), ("body", self.body)):
            available = templates.SUBJECT_FIELDS if name == "subject" else templates.KNOWN
            try:
                templates.check(self.code, [text or ""], available)
            except templates.TemplateError as e:
                message = _("Not a field a mail can fill, or not allowed in a template: %(field)s")
                raise ValidationError({name: message % {"field": e.field}}) from None


class OutboxMail(models.Model):
    """Every mail the system sends, with its state. Bodies never hold a password, nor a working
    link: a mail with `link` set carries a placeholder that is replaced by a fresh link for its
    user only in the message handed to the SMTP server (registrar.notify.password_links)."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    class Link(models.TextChoices):
        NONE = "", "none"
        SET_PASSWORD = "set-password", "set-password"

    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    link = models.CharField(max_length=20, choices=Link.choices, blank=True, default="")
    template = models.ForeignKey(MailTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    user = models.ForeignKey("directory.User", null=True, blank=True, on_delete=models.SET_NULL)
    operation = models.ForeignKey(
        "journal.Operation", null=True, blank=True, on_delete=models.SET_NULL
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Failed tries so far, and when a queued mail may be tried again (None: at once).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due")]


class Notification(Journalled):
    user = models.ForeignKey(
        "directory.User", on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    read = models.BooleanField(default=False)


class CalendarEvent(Journalled):
    user = models.ForeignKey(
        "directory.User", on_delete=models.CASCADE, related_name="calendar_events"
    )
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    start = models.DateTimeField()
    end = models.DateTimeField()


# The calendar feed's secret lives in a module of its own (issue 11); imported here so that
# Django finds the model in this app.
from .feed_models import CalendarFeedToken  # noqa: E402, F401
