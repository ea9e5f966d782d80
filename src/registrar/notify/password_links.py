"""Mails that carry a set-password link (the welcome mail of a users import, the forgot-password
mail), in the user's language.

The stored body holds PLACEHOLDER where the link goes; `deliver` asks `link_for` for a fresh link
when it hands the message to the SMTP server, and the row keeps the placeholder. So a queued,
sent or failed row of the outbox is never a working credential, and a mail sent again
(`send-mail --retry-failed`) gets a link that works. The token is Django's password-reset token,
made from the user's stored password hash and last sign-in: it stops working once used.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from registrar.directory.models import User

from .models import OutboxMail

PLACEHOLDER = "[link made when the mail is sent]"


class NoLink(Exception):
    """The mail's user may not receive a set-password link (gone, disabled, not active)."""


def language_for(culture: str, fallback: str = "") -> str:
    """The language of the platform a culture (fr-FR, en-GB…) speaks, else the fallback's,
    else the platform's default."""
    known = dict(settings.LANGUAGES)
    for code in (culture or "")[:2].lower(), (fallback or "")[:2].lower():
        if code in known:
            return code
    return settings.LANGUAGE_CODE


def link_for(user: User) -> str:
    """A working set-password link for the user, from REGISTRAR_BASE_URL."""
    path = reverse(
        "portal:set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.REGISTRAR_BASE_URL + path


def fill(mail: OutboxMail, users: dict[int, User]) -> str:
    """The body to send: the placeholder replaced by the user's link (NoLink when the user may
    not sign in: no link is sent to an account that could not use it)."""
    if mail.link != OutboxMail.Link.SET_PASSWORD:
        return mail.body
    user = users.get(mail.user_id)
    if user is None:
        raise NoLink("the mail's user no longer exists: no link sent")
    if not user.is_active:
        raise NoLink("the account is disabled, not yet active or expired: no link sent")
    # A link goes only to the address the account has now, and only while the mail is fresh: a
    # retried old mail, or a row edited to another address, never carries a working link.
    if mail.to.strip().casefold() != (user.email or "").strip().casefold():
        raise NoLink("the account's email address changed since the mail was queued: no link sent")
    if (timezone.now() - mail.created_at).total_seconds() > settings.PASSWORD_RESET_TIMEOUT:
        raise NoLink("the mail is older than a link may live: no link sent")
    return mail.body.replace(PLACEHOLDER, link_for(user))


def _hours() -> str:
    return f"{settings.PASSWORD_RESET_TIMEOUT / 3600:g}"


def welcome_texts(culture: str) -> tuple[str, str]:
    """The built-in welcome mail's subject and body (with %(first_name)s, %(login)s and
    %(link)s left to fill) in the language of a culture."""
    with translation.override(language_for(culture)):
        subject = _("Your training account")
        body = _(
            "Hello %(first_name)s,\n\n"
            "Your Registrar account is ready.\n"
            "Login: %(login)s\n"
            "Choose your password here: %(link)s\n\n"
            "The link can be used once and expires after %(hours)s hours; after that, use "
            '"Forgot your password?" on the sign-in page.\n'
        )
    return subject, body


def welcome_mail(
    *, user_id: int, login: str, first_name: str, email: str, culture: str, operation=None
) -> OutboxMail:
    """The welcome mail of a new account (not saved): its login and a link to choose a password."""
    subject, text = welcome_texts(culture)
    body = text % {"first_name": first_name, "login": login, "link": PLACEHOLDER, "hours": _hours()}
    return OutboxMail(
        to=email,
        subject=subject,
        body=body,
        link=OutboxMail.Link.SET_PASSWORD,
        user_id=user_id,
        operation=operation,
    )


def reset_mail(user: User, language: str = "") -> OutboxMail:
    """The forgot-password mail of a user (not saved)."""
    with translation.override(language_for(user.culture, language)):
        subject = _("Choose a new Registrar password")
        body = _(
            "Hello %(first_name)s,\n\n"
            "Someone asked to reset the password of your Registrar account (login: %(login)s).\n"
            "Choose a new password here: %(link)s\n\n"
            "The link can be used once and expires after %(hours)s hours. If you did not ask "
            "for it, ignore this mail: your password stays as it is.\n"
        ) % {
            "first_name": user.first_name,
            "login": user.login,
            "link": PLACEHOLDER,
            "hours": _hours(),
        }
    return OutboxMail(
        to=user.email, subject=subject, body=body, link=OutboxMail.Link.SET_PASSWORD, user=user
    )


def users_for_email(email: str) -> list[User]:
    """The users a forgot-password request for `email` reaches: same address (ignoring case),
    allowed to sign in today, with a password they could have forgotten or never chose (an
    account imported without one; not one whose password another system manages). (Django's
    PasswordResetForm filters on an is_active column, which is a property here.)"""
    email = (email or "").strip()
    if not email:
        return []
    return [
        u
        for u in User.objects.filter(email__iexact=email).order_by("pk")
        if u.is_active
        and (u.has_usable_password() or not u.externally_managed)
        and u.email.casefold() == email.casefold()
    ]
