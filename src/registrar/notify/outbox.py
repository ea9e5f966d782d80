"""The outbox's delivery: queued mails sent over SMTP, with retries and backoff.

Operations queue OutboxMail rows inside their own transaction (registrar.notify.mail); `deliver`
sends them later (after the commit, from the background task registrar.notify.tasks.deliver_mails,
which comes back for the mails that must wait, or from `registrar send-mail`) through Django's
mail API, one SMTP connection a run. A mail that carries a set-password link gets it only in the
message sent (registrar.notify.password_links).
"""

import contextlib
import logging
import re
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from registrar.directory.models import User

from . import password_links
from .models import OutboxMail

log = logging.getLogger("registrar.mail")

CHUNK = 100  # mails claimed (and locked, on PostgreSQL) per round
RETRY_MINUTES = (1, 5, 30, 120, 480)  # the waits after the 1st, 2nd… failed try
MAX_ATTEMPTS = 6


def max_attempts() -> int:
    return max(1, int(getattr(settings, "REGISTRAR_MAIL_MAX_ATTEMPTS", MAX_ATTEMPTS)))


def backoff(attempts: int) -> timedelta:
    """How long a mail waits after its `attempts`-th failed try."""
    waits = tuple(getattr(settings, "REGISTRAR_MAIL_RETRY_MINUTES", RETRY_MINUTES)) or (1,)
    return timedelta(minutes=float(waits[min(attempts, len(waits)) - 1]))


def _describe(e: BaseException) -> str:
    """An error as stored on the mail: never a link (a link's address starts with the portal's)
    nor the SMTP password, whatever a server echoes back."""
    text = f"{type(e).__name__}: {e}"
    secret = settings.EMAIL_HOST_PASSWORD
    if secret:
        text = text.replace(secret, "[hidden]")
    text = re.sub(re.escape(settings.REGISTRAR_BASE_URL) + r"\S*", "[link]", text)
    return text[:1000]


def _scope(operation: int | None, ids: list[int] | None):
    qs = OutboxMail.objects.filter(state=OutboxMail.State.QUEUED)
    if operation is not None:
        qs = qs.filter(operation_id=operation)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs


def _sent(mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sent_at, mail.error, mail.next_attempt_at = (
        OutboxMail.State.SENT,
        now,
        "",
        None,
    )


def _failed(mail: OutboxMail, error: str, now: datetime, permanent: bool) -> None:
    """A failed try: the mail waits for its next one, or fails for good when the failure is
    permanent (the server refused it for good) or it has had all its tries."""
    mail.attempts += 1
    mail.error = error
    if permanent or mail.attempts >= max_attempts():
        mail.state, mail.next_attempt_at = OutboxMail.State.FAILED, None
    else:
        mail.next_attempt_at = now + backoff(mail.attempts)


def _permanent(e: Exception) -> bool:
    """The server refused this mail for good (a 5xx reply): trying again would not help. A
    4xx reply, a lost connection or a timeout is worth another try."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return e.smtp_code >= 500
    return False


def deliver(
    limit: int | None = None,
    *,
    operation: int | None = None,
    ids: list[int] | None = None,
    waiting: bool = False,
) -> tuple[int, int]:
    """Send the queued mails that are due (oldest first, at most `limit`; only those of
    `operation`, or those of `ids`, when given; with `waiting`, also those waiting for their
    next try: an operator who has just repaired the SMTP server sends them now).

    Returns (sent, failed): failed counts this run's failed tries. A mail that fails waits
    (attempts, next_attempt_at: 1, 5, 30 minutes, 2 h, 8 h; REGISTRAR_MAIL_RETRY_MINUTES)
    and is tried again by the background task (registrar.notify.tasks) until it has had
    REGISTRAR_MAIL_MAX_ATTEMPTS tries; then it is `failed`, with the error. A mail the server
    refuses for good (5xx) fails at once. One SMTP connection serves the whole run; a server
    that cannot be reached is tried once a run, and the run's due mails all wait for their
    next try. On PostgreSQL the mails of a round are locked (SKIP LOCKED), so two deliveries
    at once never send the same mail.
    """
    sent = failed = 0
    smtp = None
    down = ""  # the error that made the server unreachable in this run
    last = 0
    try:
        while limit is None or sent + failed < limit:
            take = CHUNK if limit is None else min(CHUNK, limit - sent - failed)
            with transaction.atomic():
                now = timezone.now()
                # Forward by id: a run tries each mail once, even one it has just made wait.
                qs = _scope(operation, ids).filter(pk__gt=last)
                if not waiting:
                    qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                qs = qs.order_by("id")
                if connection.features.has_select_for_update_skip_locked:
                    qs = qs.select_for_update(skip_locked=True)
                mails = list(qs[:take])
                if not mails:
                    break
                last = mails[-1].pk
                users = _link_users(mails)
                for mail in mails:
                    if not down and smtp is None:
                        try:
                            smtp = get_connection(fail_silently=False)
                            smtp.open()
                        except Exception as e:  # nothing listening, TLS or authentication refused
                            smtp, down = None, _describe(e)
                            log.warning("SMTP server unreachable: %s", down)
                    if down:
                        _failed(mail, down, now, permanent=False)
                        continue
                    try:
                        message = _message(mail, users)
                    except password_links.NoLink as e:
                        _failed(mail, str(e), now, permanent=True)
                        continue
                    except Exception as e:  # a mail that cannot be built: no try will help
                        _failed(mail, _describe(e), now, permanent=True)
                        continue
                    try:
                        smtp.send_messages([message])
                        _sent(mail, timezone.now())
                    except Exception as e:
                        _failed(mail, _describe(e), now, permanent=_permanent(e))
                        if _connection_lost(e):  # the next mail opens a new connection
                            _close(smtp)
                            smtp = None
                OutboxMail.objects.bulk_update(
                    mails, ["state", "sent_at", "error", "attempts", "next_attempt_at"]
                )
            done = sum(1 for m in mails if m.state == OutboxMail.State.SENT)
            sent += done
            failed += len(mails) - done
    finally:
        _close(smtp)
    return sent, failed


def next_attempt(*, operation: int | None = None, ids: list[int] | None = None):
    """When the earliest waiting mail of the scope may be tried again (None: none waits)."""
    return (
        _scope(operation, ids)
        .filter(next_attempt_at__isnull=False)
        .aggregate(at=Min("next_attempt_at"))["at"]
    )


def _connection_lost(e: Exception) -> bool:
    """A dropped or broken connection, as opposed to the server refusing this one mail
    (smtplib's errors are OSErrors too)."""
    return isinstance(e, smtplib.SMTPServerDisconnected) or (
        isinstance(e, OSError) and not isinstance(e, smtplib.SMTPException)
    )


def _link_users(mails: list[OutboxMail]) -> dict[int, User]:
    """The users whose links the round's mails carry, in one query."""
    wanted = {m.user_id for m in mails if m.link and m.user_id}
    return User.objects.in_bulk(wanted) if wanted else {}


def _message(mail: OutboxMail, users: dict[int, User]) -> EmailMessage:
    """The message handed to the SMTP server: a link is made here and stored nowhere."""
    return EmailMessage(
        subject=mail.subject,
        body=password_links.fill(mail, users),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
    )


def _close(smtp) -> None:
    if smtp is not None:
        with contextlib.suppress(Exception):  # closing a dead connection: nothing to save
            smtp.close()
