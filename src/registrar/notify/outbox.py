"""The outbox: mail templates rendered with checked fields, and delivery of queued mails over SMTP.

Operations queue OutboxMail rows inside their own transaction; `deliver` sends them later (after
the commit, from the background task registrar.notify.tasks.deliver_mails, or from `registrar
send-mail`) through Django's mail API, one SMTP connection a run. A mail that carries a
set-password link gets it only in the message sent (registrar.notify.password_links).
"""

import contextlib
import logging
import smtplib
import string

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from registrar.directory.models import User

from . import password_links
from .models import OutboxMail

log = logging.getLogger("registrar.mail")

CHUNK = 100  # mails claimed (and locked, on PostgreSQL) per round


class TemplateFieldError(ValueError):
    """A template uses a field the operation cannot fill (or is malformed): `field` names it."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _parts(text: str) -> list[tuple[str, str | None]]:
    """A template as (literal, field) pairs. Fields are plain names: `{first_name}`; `{{` and
    `}}` are literal braces. Attribute or index access, conversions and format specs are not
    accepted, so that a template can never reach beyond the values it is given."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise TemplateFieldError("unbalanced braces") from None
    out = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion or not name.isidentifier()):
            raise TemplateFieldError(name or "{}")
        out.append((literal, name))
    return out


def fields_of(*texts: str) -> set[str]:
    """The field names the texts use; TemplateFieldError when one is malformed."""
    return {name for text in texts for _, name in _parts(text) if name is not None}


def check(texts: tuple[str, ...], available) -> None:
    """Refuse a template that uses a field outside `available` (SPEC §2.13), naming the field."""
    for name in sorted(fields_of(*texts)):
        if name not in available:
            raise TemplateFieldError(name)


def render(text: str, values: dict) -> str:
    """Fill the template's fields; a field without a value raises TemplateFieldError."""
    out = []
    for literal, name in _parts(text):
        out.append(literal)
        if name is not None:
            value = values.get(name)
            if value is None:
                raise TemplateFieldError(name)
            out.append(str(value))
    return "".join(out)


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:1000]


def deliver(
    limit: int | None = None, *, operation: int | None = None, ids: list[int] | None = None
) -> tuple[int, int]:
    """Send queued mails (oldest first, at most `limit`; only those of `operation`, or those of
    `ids`, when given).

    Returns (sent, failed). Each mail ends `sent` (with sent_at) or `failed` (with the error).
    One SMTP connection serves the whole run; a mail the server refuses fails alone, while a
    server that cannot be reached fails the round in hand and stops the run (the rest stay
    queued for the next `registrar send-mail`). On PostgreSQL the mails of a round are locked
    (SKIP LOCKED), so two deliveries at once never send the same mail.
    """
    sent = failed = 0
    smtp = None
    try:
        while limit is None or sent + failed < limit:
            take = CHUNK if limit is None else min(CHUNK, limit - sent - failed)
            with transaction.atomic():
                qs = OutboxMail.objects.filter(state=OutboxMail.State.QUEUED)
                if operation is not None:
                    qs = qs.filter(operation_id=operation)
                if ids is not None:
                    qs = qs.filter(pk__in=ids)
                qs = qs.order_by("id")
                if connection.features.has_select_for_update_skip_locked:
                    qs = qs.select_for_update(skip_locked=True)
                mails = list(qs[:take])
                if not mails:
                    break
                users = _link_users(mails)
                stop = ""  # the error that made the server unreachable
                for mail in mails:
                    if stop:
                        mail.state, mail.error = OutboxMail.State.FAILED, stop
                        continue
                    try:
                        if smtp is None:
                            smtp = get_connection(fail_silently=False)
                            smtp.open()
                    except Exception as e:  # nothing listening, TLS or authentication refused
                        log.warning("SMTP server unreachable: %s", _describe(e))
                        smtp, stop = None, _describe(e)
                        mail.state, mail.error = OutboxMail.State.FAILED, stop
                        continue
                    try:
                        smtp.send_messages([_message(mail, users)])
                        mail.state, mail.sent_at, mail.error = (
                            OutboxMail.State.SENT,
                            timezone.now(),
                            "",
                        )
                    except Exception as e:
                        mail.state, mail.error = OutboxMail.State.FAILED, _describe(e)
                        if _connection_lost(e):  # the next mail opens a new connection
                            _close(smtp)
                            smtp = None
                OutboxMail.objects.bulk_update(mails, ["state", "sent_at", "error"])
            done = sum(1 for m in mails if m.state == OutboxMail.State.SENT)
            sent += done
            failed += len(mails) - done
            if stop:
                break
    finally:
        _close(smtp)
    return sent, failed


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


def deliver_after_commit(operation: int) -> None:
    """Deliver an operation's mails once its transaction commits; a rolled-back operation (verify
    only, all-or-nothing) drops the callback with its mails. Delivery errors are recorded on the
    mails, never raised into the operation that queued them."""

    def run():
        try:
            deliver(operation=operation)
        except Exception:
            log.exception("delivery of the mails of operation %s failed", operation)

    transaction.on_commit(run)
