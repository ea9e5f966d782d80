"""Template context for every page: the signed-in user's unread notification count."""

from registrar.notify.notifications import unread_count

ATTR = "_registrar_unread_notifications"


def notifications(request) -> dict:
    """`unread_notifications`: counted at most once per request, and only when a template shows
    it (a callable: fragments and pages without the header cost no query)."""

    def count() -> int:
        cached = getattr(request, ATTR, None)
        if cached is None:
            user = getattr(request, "user", None)
            cached = unread_count(user) if user is not None and user.is_authenticated else 0
            setattr(request, ATTR, cached)
        return cached

    return {"unread_notifications": count}


def forget_unread(request) -> None:
    """Count again at the next use (after the request marked notifications read)."""
    if hasattr(request, ATTR):
        delattr(request, ATTR)
