"""A user's own preferences, changed by themselves: journalled like any change of a user."""

from django.conf import settings

from registrar.journal import service, writes
from registrar.journal.models import Operation

from .models import User

# The culture a language choice gives a user whose culture is in another language.
CULTURE_OF = {"en": "en-GB", "fr": "fr-FR"}


def culture_for(current: str, language: str) -> str:
    """The culture that speaks `language`: the current one when it does (fr-CA stays fr-CA)."""
    if (current or "")[:2].lower() == language:
        return current
    return CULTURE_OF.get(language, language)


def set_language(user: User, language: str) -> bool:
    """Make `user` speak `language` (one of settings.LANGUAGES) through their culture, as an
    operation of theirs; False when it already did (nothing written)."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    before = User.objects.filter(pk=user.pk).values("culture", "op").get()
    culture = culture_for(before["culture"], language)
    if culture == before["culture"]:
        return False
    op = service.start_operation("admin", "settings: language", user)
    try:
        writes.update(User, [(user.pk, {"culture": culture}, before, None)], op)
    except BaseException as e:
        service.fail_operation(op, e)
        raise
    service.finish_operation(op, Operation.Status.DONE, rows=1, updated=1)
    user.culture = culture
    return True
