"""Mail templates, the outbox, notifications and calendar events."""

from django.db import models
from django.utils import timezone

from registrar.core.models import Journalled


class MailTemplate(Journalled):
    code = models.CharField(max_length=100, unique=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    language = models.CharField(max_length=10, default="en")

    def __str__(self) -> str:
        return self.code


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
