"""Notifications (short plain texts shown to users in the portal): the verbs that send them,
mark them read and count the unread ones."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from registrar.journal import writes
from registrar.journal.models import Operation

from .models import Notification

MAX_TEXT = Notification._meta.get_field("text").max_length  # 500
CHUNK = 900  # ids per IN (...): under every database's parameter limit


def clean_text(text) -> str:
    """The notification text as stored: trimmed plain text of 1 to MAX_TEXT characters."""
    if not isinstance(text, str):
        raise ValueError("a notification text must be text")
    text = text.strip()
    if not text:
        raise ValueError("a notification text cannot be empty")
    if len(text) > MAX_TEXT:
        raise ValueError(
            f"a notification text is at most {MAX_TEXT} characters (this one has {len(text)})"
        )
    if "\x00" in text:  # PostgreSQL cannot store it, and no person typed it
        raise ValueError("a notification text cannot contain a NUL character")
    return text


def send(op: Operation, user_ids: Iterable[int], text: str) -> list[int]:
    """Send `text` to each user (a user listed twice gets it once), as one journalled insert
    batch under `op`; returns the new notifications' ids, in the users' order. Undoing `op`
    removes them, read or not. The ids are trusted: the caller resolved its selection."""
    text = clean_text(text)
    ids = list(dict.fromkeys(int(u) for u in user_ids))
    now = timezone.now()
    rows = [{"user_id": uid, "text": text, "created_at": now} for uid in ids]
    with transaction.atomic():
        return writes.insert(Notification, rows, op)


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all, or those of `ids` that are the user's); returns
    how many changed. Not journalled: reading is the user's own act on their own rows, not a
    change of learner data, and `op` is left as it was, so undoing the send still removes them."""
    mine = Notification.objects.filter(user_id=user.pk, read=False)
    if ids is None:
        return mine.update(read=True)
    wanted = sorted({int(i) for i in ids})
    done = 0
    for i in range(0, len(wanted), CHUNK):
        done += mine.filter(pk__in=wanted[i : i + CHUNK]).update(read=True)
    return done


def unread_count(user) -> int:
    """How many of the user's notifications are unread (one COUNT on the user's rows)."""
    return Notification.objects.filter(user_id=user.pk, read=False).count()


def for_user(user):
    """The user's notifications, newest first."""
    return Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
