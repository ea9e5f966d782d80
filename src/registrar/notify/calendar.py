"""Calendar events: the verb that adds them, each user's upcoming events, and their iCalendar
feed, reached at a secret address (registrar.notify.feed_models) without signing in."""

import hmac
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from icalendar import Calendar, Event

from registrar.journal import writes
from registrar.journal.models import Operation

from .feed_models import CalendarFeedToken, digest
from .models import CalendarEvent

MAX_NAME = CalendarEvent._meta.get_field("name").max_length  # 255
PRODID = "-//Registrar//Calendar feed//EN"


def _text(value, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"an event's {what} must be text")
    if "\x00" in value:  # PostgreSQL cannot store it, and no person typed it
        raise ValueError(f"an event's {what} cannot contain a NUL character")
    return value.strip()


def _moment(value, what: str) -> datetime:
    """An aware datetime; a naive one is in the platform's time zone (SPEC §2.11)."""
    if not isinstance(value, datetime):
        kind = "a date without a time" if isinstance(value, date) else type(value).__name__
        raise ValueError(f"an event's {what} must be a date and time, not {kind}")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def clean_event(name, description, start, end) -> dict:
    """The event's fields as stored, or ValueError naming what is wrong."""
    name = _text(name, "name")
    if not name:
        raise ValueError("an event needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(
            f"an event's name is at most {MAX_NAME} characters (this one has {len(name)})"
        )
    description = _text(description or "", "description")
    start, end = _moment(start, "start"), _moment(end, "end")
    if end <= start:  # RFC 5545: DTEND is later than DTSTART
        raise ValueError("an event must end after it starts")
    return {"name": name, "description": description, "start": start, "end": end}


def add_events(
    op: Operation, user_ids: Iterable[int], name: str, description: str, start, end
) -> list[int]:
    """Add one event to each user's calendar (a user listed twice gets it once), as one
    journalled insert batch under `op`; returns the new events' ids, in the users' order.
    Undoing `op` removes them. The ids are trusted: the caller resolved its selection."""
    fields = clean_event(name, description, start, end)
    ids = list(dict.fromkeys(int(u) for u in user_ids))
    rows = [{"user_id": uid, **fields} for uid in ids]
    with transaction.atomic():
        return writes.insert(CalendarEvent, rows, op)


def upcoming(user):
    """The user's events that have not ended yet, soonest first."""
    return CalendarEvent.objects.filter(user_id=user.pk, end__gte=timezone.now()).order_by(
        "start", "pk"
    )


def feed_user(token: str):
    """The active user whose feed secret this is, else None. The token is looked up by its hash
    (a guess tells nothing about stored hashes), then compared again in constant time."""
    if not token or len(token) > 100:
        return None
    wanted = digest(token)
    row = CalendarFeedToken.objects.select_related("user").filter(key_hash=wanted).first()
    if row is None or not hmac.compare_digest(row.key_hash, wanted):
        return None
    return row.user if row.user.is_active else None


def event_uid(pk: int) -> str:
    """An event's UID: the same in every feed for as long as the event exists."""
    host = urlparse(settings.REGISTRAR_BASE_URL).hostname or "registrar"
    return f"event-{pk}@{host}"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def feed_events(user):
    """The events a feed carries: every event of the user that ended at most
    REGISTRAR_CALENDAR_FEED_PAST_DAYS ago (0: every past event too), soonest first."""
    qs = CalendarEvent.objects.filter(user_id=user.pk)
    days = getattr(settings, "REGISTRAR_CALENDAR_FEED_PAST_DAYS", 365)
    if days:
        qs = qs.filter(end__gte=timezone.now() - timedelta(days=days))
    return qs.order_by("start", "pk")


def feed(user, name: str = "Registrar") -> bytes:
    """The user's calendar as iCalendar (RFC 5545): one VEVENT per event, times in UTC."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    stamp = _utc(timezone.now()).replace(microsecond=0)
    rows = feed_events(user).values_list("pk", "name", "description", "start", "end")
    for pk, summary, description, start, end in rows.iterator(chunk_size=2000):
        ev = Event()
        ev.add("uid", event_uid(pk))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", _utc(start))
        ev.add("dtend", _utc(end))
        ev.add("summary", summary)
        if description:
            ev.add("description", description)
        cal.add_component(ev)
    return cal.to_ical()
