"""Calendar events and the per-user iCalendar feed: the verb (journalled, undone), the calendar
page, the feed's secret address (stored hashed, shown once, replaced, stopped) and its content,
and the secret kept out of request logs."""

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from registrar.journal import service
from registrar.journal.models import Change, Operation
from registrar.journal.undo import undo
from registrar.notify import calendar
from registrar.notify.feed_logging import redact
from registrar.notify.feed_models import CalendarFeedToken
from registrar.notify.models import CalendarEvent

from .portal_fixtures import BOTH

pytestmark = pytest.mark.django_db(databases=BOTH)

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2030, 6, 15, 14, 30, tzinfo=PARIS)  # 12:30 UTC
END = datetime(2030, 6, 15, 17, 0, tzinfo=PARIS)


def signed_in(user, password: str) -> Client:
    c = Client()
    assert c.login(username=user.login, password=password)
    return c


def added(user_ids, name="Fire drill", description="Meet in the car park.", start=START, end=END):
    """Add events as the bulk action does: an operation, the verb, the operation closed."""
    op = service.start_operation("action", "users.add-calendar-event")
    ids = calendar.add_events(op, user_ids, name, description, start, end)
    service.finish_operation(op, Operation.Status.DONE, rows=len(ids), created=len(ids))
    return op, ids


def new_feed(c: Client) -> str:
    """Make a feed address on the calendar page; returns the token it showed."""
    r = c.post("/calendar/feed/")
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    body = r.content.decode()
    start = body.index("/calendar/rcf_") + len("/calendar/")
    return body[start : body.index(".ics", start)]


# The verb -----------------------------------------------------------------------------------


def test_add_events_writes_one_row_per_user_and_journals_them(world):
    op, ids = added([world.eve.pk, world.sam.pk, world.sam.pk])
    rows = CalendarEvent.objects.filter(pk__in=ids).order_by("pk")
    assert [(e.user_id, e.name, e.description, e.start, e.end, e.op) for e in rows] == [
        (world.eve.pk, "Fire drill", "Meet in the car park.", START, END, op.pk),
        (world.sam.pk, "Fire drill", "Meet in the car park.", START, END, op.pk),
    ]
    (change,) = Change.objects.filter(operation=op)
    assert (change.table, change.action, sorted(change.pks)) == (
        "notify.CalendarEvent",
        Change.Action.CREATE,
        sorted(ids),
    )
    undo_op, conflicts = undo(op.pk)
    assert (conflicts, undo_op.deleted) == ([], 2)
    assert not CalendarEvent.objects.exists()


def test_a_time_without_zone_is_in_the_platform_time_zone(world):
    _, (pk,) = added(
        [world.eve.pk], start=datetime(2030, 1, 10, 9, 0), end=datetime(2030, 1, 10, 10)
    )
    assert CalendarEvent.objects.get(pk=pk).start == datetime(2030, 1, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"end": START}, "end after it starts"),
        ({"end": START - timedelta(hours=1)}, "end after it starts"),
        ({"name": "  "}, "needs a name"),
        ({"name": "x" * 256}, "255"),
        ({"start": START.date()}, "date and time"),
        ({"description": "a\x00b"}, "NUL"),
    ],
)
def test_a_bad_event_is_refused_before_anything_is_written(world, change, message):
    fields = {"name": "Drill", "description": "", "start": START, "end": END, **change}
    op = service.start_operation("action", "users.add-calendar-event")
    with pytest.raises(ValueError, match=message):
        calendar.add_events(op, [world.eve.pk], **fields)
    assert not CalendarEvent.objects.exists()


# The calendar page --------------------------------------------------------------------------


def test_the_page_shows_the_users_upcoming_events_soonest_first(world):
    now = timezone.now()
    added([world.admin.pk], "Later one", "", now + timedelta(days=9), now + timedelta(days=10))
    added([world.admin.pk], "Sooner one", "", now + timedelta(days=1), now + timedelta(days=2))
    added([world.admin.pk], "Past one", "", now - timedelta(days=3), now - timedelta(days=2))
    added([world.eve.pk], "Eve's own", "", now + timedelta(days=1), now + timedelta(days=2))
    body = signed_in(world.admin, "admin-pass").get("/calendar/").content.decode()
    assert body.index("Sooner one") < body.index("Later one")
    assert "Past one" not in body and "Eve&#x27;s own" not in body
    assert "You have no feed address yet." in body


def test_the_feed_address_is_shown_once_and_stored_only_as_a_hash(world):
    c = signed_in(world.admin, "admin-pass")
    token = new_feed(c)
    assert token.startswith("rcf_") and len(token) > 40
    row = CalendarFeedToken.objects.get(user=world.admin)
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token[:10] == row.hint
    # Not in any column of any row, in clear.
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM notify_calendarfeedtoken")
        assert not any(token in str(v) for r in cur.fetchall() for v in r)
    assert not any(token in str(ch.before) + str(ch.after) for ch in Change.objects.all())
    # Shown again later: the state, not the address.
    body = c.get("/calendar/").content.decode()
    assert token not in body and row.hint in body


# The feed -----------------------------------------------------------------------------------


def test_the_feed_serves_one_vevent_per_event_in_utc(world):
    _, (first,) = added([world.admin.pk])
    _, (second,) = added(
        [world.admin.pk], "Résumé & co", "", START + timedelta(days=1), END + timedelta(days=1)
    )
    added([world.eve.pk], "Eve's own")
    token = new_feed(signed_in(world.admin, "admin-pass"))
    r = Client().get(f"/calendar/{token}.ics")  # no sign-in
    assert r.status_code == 200
    assert r["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in r["Cache-Control"]
    assert b"DTSTART:20300615T123000Z" in r.content
    cal = Calendar.from_ical(r.content)
    assert str(cal["VERSION"]) == "2.0" and "Registrar" in str(cal["PRODID"])
    events = cal.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Fire drill", "Résumé & co"]
    one, two = events
    assert one.decoded("DTSTART") == START and one.decoded("DTSTART").utcoffset() == timedelta(0)
    assert one.decoded("DTEND") == END
    assert str(one["DESCRIPTION"]) == "Meet in the car park."
    assert "DESCRIPTION" not in two
    # UIDs: one per event, the same on every fetch.
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 2 and uids[0] == calendar.event_uid(first)
    again = Calendar.from_ical(Client().get(f"/calendar/{token}.ics").content)
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == uids
    assert calendar.event_uid(second) == uids[1]


def test_the_feed_leaves_events_ended_long_ago(world, settings):
    now = timezone.now()
    added([world.admin.pk], "Last month", "", now - timedelta(days=31), now - timedelta(days=30))
    added(
        [world.admin.pk], "Two years ago", "", now - timedelta(days=731), now - timedelta(days=730)
    )
    token = new_feed(signed_in(world.admin, "admin-pass"))
    names = lambda: [  # noqa: E731
        str(e["SUMMARY"])
        for e in Calendar.from_ical(Client().get(f"/calendar/{token}.ics").content).walk("VEVENT")
    ]
    assert names() == ["Last month"]
    settings.REGISTRAR_CALENDAR_FEED_PAST_DAYS = 0
    assert names() == ["Two years ago", "Last month"]


def test_the_feed_name_is_in_the_users_language(world):
    token = new_feed(signed_in(world.us_admin, "us-pass"))  # fr-FR
    cal = Calendar.from_ical(Client().get(f"/calendar/{token}.ics").content)
    assert str(cal["X-WR-CALNAME"])  # the French text once the catalogue has it


def test_unknown_replaced_and_stopped_addresses_are_404(world):
    c = signed_in(world.admin, "admin-pass")
    assert Client().get("/calendar/rcf_nothing-here.ics").status_code == 404
    old = new_feed(c)
    assert Client().get(f"/calendar/{old}.ics").status_code == 200
    new = new_feed(c)
    assert new != old
    assert Client().get(f"/calendar/{old}.ics").status_code == 404
    assert Client().get(f"/calendar/{new}.ics").status_code == 200
    assert CalendarFeedToken.objects.filter(user=world.admin).count() == 1
    r = c.post("/calendar/feed/stop/")
    assert r.status_code == 302
    assert Client().get(f"/calendar/{new}.ics").status_code == 404
    assert not CalendarFeedToken.objects.exists()


def test_a_disabled_users_feed_is_404(world):
    token = new_feed(signed_in(world.admin, "admin-pass"))
    world.admin.disabled = True
    world.admin.save()
    assert Client().get(f"/calendar/{token}.ics").status_code == 404


def test_the_feed_pages_need_a_post_and_a_sign_in(world):
    assert signed_in(world.admin, "admin-pass").get("/calendar/feed/").status_code == 405
    r = Client().post("/calendar/feed/")
    assert r.status_code == 302 and r.url.startswith("/login/")
    assert not CalendarFeedToken.objects.exists()


# Logs ---------------------------------------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_the_secret_stays_out_of_the_request_logs(world, caplog):
    token = new_feed(signed_in(world.admin, "admin-pass"))
    c = signed_in(world.admin, "admin-pass")
    c.post("/calendar/feed/")  # the old address now answers 404, which django.request logs
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert Client().get(f"/calendar/{token}.ics").status_code == 404
    assert "Not Found: /calendar/…" in caplog.text
    assert token not in caplog.text
    # The development server's access line, written by Django's own handler.
    collect = Collect()
    server = logging.getLogger("django.server")
    server.addHandler(collect)
    try:
        handler = SimpleNamespace(request=None, log_date_time_string=lambda: "now")
        line = f"GET /calendar/{token}.ics HTTP/1.1"
        WSGIRequestHandler.log_message(handler, '"%s" %s %s', line, "200", "512")
        WSGIRequestHandler.log_message(handler, '"%s" %s %s', line, "404", "30")
    finally:
        server.removeHandler(collect)
    assert collect.lines == [
        '"GET /calendar/… HTTP/1.1" 200 512',
        '"GET /calendar/… HTTP/1.1" 404 30',
    ]


def test_redact_masks_only_feed_addresses():
    assert redact("GET /calendar/rcf_a-b_c.ics?x=1 HTTP/1.1") == "GET /calendar/…?x=1 HTTP/1.1"
    assert redact("Not Found: /calendar/rcf_x%2Eics") == "Not Found: /calendar/…"
    for kept in ("GET /calendar/ HTTP/1.1", "POST /calendar/feed/ HTTP/1.1", "GET /history/"):
        assert redact(kept) == kept


def test_a_busy_database_refuses_a_new_address_with_503(world):
    c = signed_in(world.admin, "admin-pass")
    locked = OperationalError("database is locked")
    with patch.object(CalendarFeedToken, "issue", side_effect=locked):
        r = c.post("/calendar/feed/")
    assert r.status_code == 503
    assert 'data-testid="feed-error"' in r.content.decode()
    assert "/calendar/rcf_" not in r.content.decode()
