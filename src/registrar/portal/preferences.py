"""The language switch in the header, and the signed-in user's own settings page."""

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registrar.directory.preferences import set_language
from registrar.jobs.quick import quick

from .views import guarded


def _back(request) -> str:
    """Where to go after the switch: the page it was used on, if it is ours."""
    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    ok = url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure())
    return nxt if ok else "/"


def _remember(response, language: str):
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    return response


@require_POST
def switch_language(request):
    """The header's switch: this browser speaks the language chosen (a cookie), before and after
    signing in; a signed-in user's culture follows, so mails and jobs speak it too."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(_("Unknown language."))
    if request.user.is_authenticated:
        try:
            with quick(), transaction.atomic():
                set_language(request.user, language)
        except DatabaseError:  # SQLite busy behind an import: the cookie is enough for now
            pass
    return _remember(redirect(_back(request)), language)


@guarded
@require_http_methods(["GET", "POST"])
def settings_page(request):
    """The user's own settings: the language the portal, their mails and their jobs speak."""
    saved = busy = False
    if request.method == "POST":
        language = request.POST.get("language", "")
        if language not in dict(settings.LANGUAGES):
            return HttpResponseBadRequest(_("Unknown language."))
        try:
            with quick(), transaction.atomic():
                set_language(request.user, language)
            saved = True
        except DatabaseError:
            busy = True
    # The page answers in the language just chosen, for this response only: activating it
    # would leave the worker thread in that language for whatever it serves next.
    current = language if saved else translation.get_language()
    with translation.override(current):
        request.LANGUAGE_CODE = current
        response = render(
            request,
            "portal/settings.html",
            {
                "languages": settings.LANGUAGES,
                "current": current,
                "culture": request.user.culture,
                "saved": saved,
                "busy": busy,
                "nav": "settings",
            },
        )
    return _remember(response, current) if saved else response
