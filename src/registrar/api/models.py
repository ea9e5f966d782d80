"""API tokens: only a SHA-256 of each token is stored; the token itself is shown once.

They live in the `jobs` database (registrar.routers), as their last-use time is written on every
call: on SQLite that write must not wait for a running import's lock on the main file."""

import hashlib
import secrets

from django.db import models
from django.utils import timezone

PREFIX = "rgt_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    user_id = models.BigIntegerField(db_index=True)  # directory.User, in the main database
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)  # the first characters, to tell tokens apart
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def user(self):
        from registrar.directory.models import User

        return User.objects.filter(pk=self.user_id).first()

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """A new token for `user`: the row, and the token text (never stored)."""
        token = PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            user_id=user.pk, name=name, key_hash=digest(token), hint=token[:10]
        )
        return row, token
