"""Shared model pieces: the journalled mixin every bulk-written table carries."""

from django.db import models


class Journalled(models.Model):
    """A row written by bulk jobs: `op` is the operation that last wrote it (undo checks it)."""

    op = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def choices_text(choices) -> str:
    """The accepted values of a choices class, for messages and docs."""
    return ", ".join(str(v) for v, _ in choices)
