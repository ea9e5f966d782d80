"""The secret of each user's calendar feed: only a SHA-256 of it is stored, as for API tokens.

Imported by registrar.notify.models, so that Django finds the model in the notify app.
"""

import hashlib
import secrets

from django.db import models
from django.utils import timezone

PREFIX = "rcf_"  # Registrar calendar feed: lets secret scanners and people recognise one


def digest(token: str) -> str:
    """The stored form of a feed token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeedToken(models.Model):
    """A user's current feed secret. Making a new one replaces the row, so the old address stops
    working at once; deleting the row stops the feed."""

    user = models.OneToOneField(
        "directory.User", on_delete=models.CASCADE, related_name="calendar_feed"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)  # the first characters, to tell addresses apart
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "notify"

    def __str__(self) -> str:
        return f"{self.hint}…"

    @classmethod
    def issue(cls, user) -> tuple["CalendarFeedToken", str]:
        """A new feed secret for `user`, replacing any other: the row, and the token text (never
        stored, shown once)."""
        token = PREFIX + secrets.token_urlsafe(32)
        row, _ = cls.objects.update_or_create(
            user=user,
            defaults={"key_hash": digest(token), "hint": token[:10], "created_at": timezone.now()},
        )
        return row, token
