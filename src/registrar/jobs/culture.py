"""The language a job speaks in: its owner's culture (fr-* → French), else the default."""

from django.conf import settings


def language_for(user) -> str:
    """The language code of `user`'s culture when Registrar speaks it, else LANGUAGE_CODE."""
    lang = ((getattr(user, "culture", "") or "") if user else "")[:2].lower()
    return lang if lang in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def language_of(user_id: int | None) -> str:
    """language_for the user with this id (the default when there is none)."""
    from registrar.directory.models import User

    user = User.objects.filter(pk=user_id).only("culture").first() if user_id else None
    return language_for(user)
