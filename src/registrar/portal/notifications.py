"""The signed-in user's notifications and calendar pages, and the calendar feed, which is
reached without signing in: its secret address is the credential (registrar.notify.calendar)."""

import contextlib

from django.conf import settings
from django.core.paginator import Paginator
from django.db import OperationalError, connection
from django.http import HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST, require_safe

from registrar.notify import calendar as events
from registrar.notify import notifications as notices
from registrar.notify.feed_models import CalendarFeedToken

from .context import forget_unread
from .views import guarded

PER_PAGE = 50
BUSY = gettext_lazy("An import is writing to the database: try again in a moment.")


@contextlib.contextmanager
def brief_wait(ms: int):
    """On SQLite, writes inside wait at most `ms` for another writer's lock (an import holds it
    for minutes; the usual REGISTRAR_DB_TIMEOUT would hang the page). Elsewhere: nothing."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as c:
        c.execute("PRAGMA busy_timeout")
        (before,) = c.fetchone()
        c.execute(f"PRAGMA busy_timeout = {int(ms)}")
        try:
            yield
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(before)}")


def _locked(e: OperationalError) -> bool:
    return "database is locked" in str(e)


@guarded
@require_GET
def notifications(request):
    """The user's notifications, newest first; the ones shown are marked read by showing them
    (only the user's own rows: a GET that changes nothing anyone else sees)."""
    page = Paginator(notices.for_user(request.user), PER_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    new = {n.pk for n in shown if not n.read}
    if new:
        try:
            with brief_wait(200):
                notices.mark_read(request.user, new)
            forget_unread(request)  # the header counts after the marking
        except OperationalError as e:
            if not _locked(e):
                raise
            # An import holds the database: the page shows them as new, and the next visit
            # marks them.
    return render(
        request,
        "portal/notifications.html",
        {"page": page, "items": shown, "new": new, "nav": "notifications"},
    )


def feed_url(token: str) -> str:
    """The feed's full address, on the platform's public address (as links in mails are)."""
    return settings.REGISTRAR_BASE_URL + reverse("portal:calendar_feed", args=[token])


def _calendar_page(request, token: str = "", error: str = "", status: int = 200):
    page = Paginator(events.upcoming(request.user), PER_PAGE).get_page(request.GET.get("page"))
    url = feed_url(token) if token else ""
    response = render(
        request,
        "portal/calendar.html",
        {
            "page": page,
            "feed": CalendarFeedToken.objects.filter(user_id=request.user.pk).first(),
            "feed_url": url,
            "webcal_url": "webcal" + url[url.index(":") :] if url else "",
            "error": error,
            "nav": "calendar",
        },
        status=status,
    )
    if token:
        # The one answer that shows the secret: kept out of every cache.
        patch_cache_control(response, no_store=True, private=True)
    return response


@guarded
@require_GET
def calendar(request):
    """The user's upcoming events and the state of their feed address."""
    return _calendar_page(request)


@guarded
@require_POST
def calendar_feed_new(request):
    """Make a new feed address (the old one stops working) and show it, this once."""
    try:
        with brief_wait(2000):
            _, token = CalendarFeedToken.issue(request.user)
    except OperationalError as e:
        if not _locked(e):
            raise
        return _calendar_page(request, error=BUSY, status=503)
    return _calendar_page(request, token)


@guarded
@require_POST
def calendar_feed_stop(request):
    """Stop the feed: its address stops working; a new one can be made later."""
    try:
        with brief_wait(2000):
            CalendarFeedToken.objects.filter(user_id=request.user.pk).delete()
    except OperationalError as e:
        if not _locked(e):
            raise
        return _calendar_page(request, error=BUSY, status=503)
    return redirect("portal:calendar")


@require_safe
def calendar_feed(request, token):
    """The iCalendar feed of the user whose secret `token` is; 404 for any other address."""
    user = events.feed_user(token)
    if user is None:
        return HttpResponseNotFound(
            _("No calendar at this address."), content_type="text/plain; charset=utf-8"
        )
    lang = (user.culture or "")[:2].lower()
    with translation.override(lang if lang in dict(settings.LANGUAGES) else None):
        name = _("Registrar training calendar")
    response = HttpResponse(events.feed(user, name), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="registrar.ics"'
    # Per-user content behind a secret: no shared cache keeps it; no search engine lists it.
    patch_cache_control(response, private=True, no_cache=True)
    response["X-Robots-Tag"] = "noindex"
    return response
