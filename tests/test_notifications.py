"""Notifications: the send and mark-read verbs (journalled, undone), the header's unread count on
every page and the notifications page, which marks what it shows read."""

import re
from unittest.mock import patch

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registrar.journal import service
from registrar.journal.models import Change, Operation
from registrar.journal.undo import undo
from registrar.notify import notifications
from registrar.notify.models import Notification

from .portal_fixtures import BOTH

pytestmark = pytest.mark.django_db(databases=BOTH)


def signed_in(user, password: str) -> Client:
    c = Client()
    assert c.login(username=user.login, password=password)
    return c


def sent(user_ids, text="Your safety training is due.", actor=None) -> tuple[Operation, list]:
    """Send as the bulk action does: an operation, the verb, the operation closed."""
    op = service.start_operation("action", "users.send-notification", actor)
    ids = notifications.send(op, user_ids, text)
    service.finish_operation(op, Operation.Status.DONE, rows=len(ids), created=len(ids))
    return op, ids


def test_send_writes_one_row_per_user_and_journals_them_as_one_batch(world):
    op, ids = sent([world.eve.pk, world.sam.pk, world.eve.pk], "  Hello\nthere  ")
    rows = Notification.objects.filter(pk__in=ids).order_by("pk")
    assert [(n.user_id, n.text, n.read, n.op) for n in rows] == [
        (world.eve.pk, "Hello\nthere", False, op.pk),
        (world.sam.pk, "Hello\nthere", False, op.pk),
    ]
    (change,) = Change.objects.filter(operation=op)
    assert (change.table, change.action, sorted(change.pks)) == (
        "notify.Notification",
        Change.Action.CREATE,
        sorted(ids),
    )


def test_undo_removes_the_notifications_even_once_read(world):
    op, ids = sent([world.eve.pk, world.sam.pk])
    notifications.mark_read(world.eve)
    undo_op, conflicts = undo(op.pk)
    assert conflicts == []
    assert undo_op.deleted == 2
    assert not Notification.objects.filter(pk__in=ids).exists()


def test_a_text_is_at_most_500_characters_and_not_empty(world):
    op = service.start_operation("action", "users.send-notification")
    assert len(notifications.send(op, [world.eve.pk], "x" * 500)) == 1
    with pytest.raises(ValueError, match="500"):
        notifications.send(op, [world.eve.pk], "x" * 501)
    for empty in ("", "   \n"):
        with pytest.raises(ValueError, match="empty"):
            notifications.send(op, [world.eve.pk], empty)
    with pytest.raises(ValueError, match="NUL"):
        notifications.send(op, [world.eve.pk], "a\x00b")
    assert Notification.objects.count() == 1


def test_no_users_no_rows(world):
    op = service.start_operation("action", "users.send-notification")
    assert notifications.send(op, [], "Hello") == []
    assert not Change.objects.filter(operation=op).exists()


def test_mark_read_touches_only_the_users_own_rows(world):
    op, ids = sent([world.eve.pk, world.sam.pk])
    _, more = sent([world.eve.pk])
    eve_first, sam_one = ids
    # Sam's id given with Eve's: only Eve's changes.
    assert notifications.mark_read(world.eve, [eve_first, sam_one]) == 1
    assert notifications.unread_count(world.eve) == 1
    assert notifications.unread_count(world.sam) == 1
    assert notifications.mark_read(world.eve) == 1
    assert notifications.mark_read(world.eve) == 0
    assert notifications.unread_count(world.eve) == 0
    # Reading is not journalled and leaves the sending operation's stamp.
    assert set(Notification.objects.filter(user=world.eve).values_list("op", flat=True)) == {
        op.pk,
        Operation.objects.latest("pk").pk,
    }


def badge(response) -> str | None:
    """The header's unread badge text, or None when there is none."""
    m = re.search(r'data-testid="unread"[^>]*>([^<]+)<', response.content.decode())
    return m[1] if m else None


def test_the_header_shows_the_unread_count_on_every_page(world):
    c = signed_in(world.admin, "admin-pass")
    assert badge(c.get("/history/")) is None
    sent([world.admin.pk, world.eve.pk])
    sent([world.admin.pk])
    for url in ("/history/", "/imports/", "/calendar/"):
        r = c.get(url)
        assert r.status_code == 200, url
        assert badge(r) == "2", url
        assert 'href="/notifications/"' in r.content.decode()


def test_the_header_counts_with_one_query(world):
    sent([world.admin.pk])
    c = signed_in(world.admin, "admin-pass")
    with CaptureQueriesContext(connection) as q:
        r = c.get("/history/")
    assert badge(r) == "1"
    counts = [x["sql"] for x in q.captured_queries if "notify_notification" in x["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0].upper()


def test_more_than_99_unread_shows_99_plus(world):
    op = service.start_operation("action", "users.send-notification")
    for i in range(100):
        notifications.send(op, [world.admin.pk], f"n{i}")
    c = signed_in(world.admin, "admin-pass")
    assert badge(c.get("/history/")) == "99+"


def test_the_page_lists_the_users_notifications_newest_first_and_marks_them_read(world):
    sent([world.admin.pk], "the older one")
    sent([world.admin.pk], "the newer one")
    sent([world.eve.pk], "not for admin")
    c = signed_in(world.admin, "admin-pass")
    r = c.get("/notifications/")
    body = r.content.decode()
    assert r.status_code == 200
    assert body.index("the newer one") < body.index("the older one")
    assert "not for admin" not in body
    assert body.count('class="notification new"') == 2
    assert badge(r) is None  # counted after the marking
    assert notifications.unread_count(world.admin) == 0
    assert notifications.unread_count(world.eve) == 1
    # Seen again: nothing new.
    assert 'class="notification new"' not in c.get("/notifications/").content.decode()


def test_the_page_is_paginated_and_marks_only_the_page_shown(world):
    op = service.start_operation("action", "users.send-notification")
    for i in range(55):
        notifications.send(op, [world.admin.pk], f"message {i:02d}")
    c = signed_in(world.admin, "admin-pass")
    body = c.get("/notifications/").content.decode()
    assert "message 54" in body and "message 05" in body and "message 04" not in body
    assert "page 1 of 2" in body
    assert notifications.unread_count(world.admin) == 5
    body = c.get("/notifications/?page=2").content.decode()
    assert "message 04" in body and "message 00" in body and "message 05" not in body
    assert notifications.unread_count(world.admin) == 0


def test_text_is_shown_as_plain_text(world):
    sent([world.admin.pk], "<script>alert(1)</script> & co")
    body = signed_in(world.admin, "admin-pass").get("/notifications/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in body


def test_the_pages_need_a_sign_in(world):
    for url in ("/notifications/", "/calendar/"):
        r = Client().get(url)
        assert r.status_code == 302 and r.url.startswith("/login/"), url


def test_a_busy_database_leaves_them_unread_and_the_page_shown(world):
    """On SQLite an import holds the write lock for minutes: the page does not wait for it."""
    sent([world.admin.pk], "while an import runs")
    c = signed_in(world.admin, "admin-pass")
    locked = OperationalError("database is locked")
    with patch("registrar.notify.notifications.mark_read", side_effect=locked):
        r = c.get("/notifications/")
    assert r.status_code == 200
    assert 'class="notification new"' in r.content.decode()
    assert badge(r) == "1"
    assert notifications.unread_count(world.admin) == 1
    c.get("/notifications/")  # the next visit marks it
    assert notifications.unread_count(world.admin) == 0
