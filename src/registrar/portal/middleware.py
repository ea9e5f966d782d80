"""Pages speak the language chosen with the header's switch (a cookie), else the signed-in
user's (their culture), else the browser's."""

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.known = dict(settings.LANGUAGES)

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        lang = ((getattr(user, "culture", "") or "") if user and user.is_authenticated else "")[:2]
        if chosen in self.known:
            lang = chosen
        if lang.lower() not in self.known:
            return self.get_response(request)
        # Only for this request: the thread serves other users next (and anonymous pages).
        with translation.override(lang.lower()):
            request.LANGUAGE_CODE = lang.lower()
            return self.get_response(request)
