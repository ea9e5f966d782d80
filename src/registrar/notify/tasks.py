"""Background tasks of the outbox (django-tasks; `registrar worker` runs every queued task): mails
are delivered over SMTP here, never inside a web request. A delivery that leaves mails waiting for
a later try enqueues itself again for that moment (run_after), so retries need nobody."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from . import outbox, password_links

log = logging.getLogger("registrar.mail")


@task()
def deliver_mails(operation: int | None = None, ids: list[int] | None = None) -> dict:
    """Deliver the due queued mails (only those of `operation`, or of `ids`, when given), then
    come back when the earliest of those that must wait may be tried again."""
    sent, failed = outbox.deliver(operation=operation, ids=ids)
    retry_at = retry_later(operation=operation, ids=ids)
    return {"sent": sent, "failed": failed, "retry_at": retry_at.isoformat() if retry_at else None}


def retry_later(*, operation: int | None = None, ids: list[int] | None = None):
    """Enqueue deliver_mails for the scope's earliest waiting mail; returns when (None: no mail
    waits, or the task backend cannot defer a task: `registrar send-mail` sends them then)."""
    at = outbox.next_attempt(operation=operation, ids=ids)
    if at is None:
        return None
    # A mail already due is someone else's (locked by another worker): look again shortly.
    at = max(at, timezone.now() + timedelta(seconds=5))
    if not deliver_mails.get_backend().supports_defer:
        log.warning(
            "the task backend cannot defer a task: waiting mails need `registrar send-mail`"
        )
        return None
    try:
        deliver_mails.using(run_after=at).enqueue(operation=operation, ids=ids)
    except Exception:  # the mails stay queued: `registrar send-mail` delivers them
        log.exception("could not schedule the next delivery try (operation %s)", operation)
        return None
    return at


@task()
def send_password_links(email: str, language: str = "") -> dict:
    """Answer a forgot-password request: queue a mail in the outbox for each user the address
    reaches (none for an unknown address), then deliver them. It runs in the worker, so the
    request that asked writes nothing to the main database and takes the same time whether the
    address is known or not."""
    mails = [password_links.reset_mail(u, language) for u in password_links.users_for_email(email)]
    if not mails:
        return {"sent": 0, "failed": 0}
    with transaction.atomic():
        for m in mails:
            m.save()
    ids = [m.pk for m in mails]
    sent, failed = outbox.deliver(ids=ids)
    retry_later(ids=ids)
    return {"sent": sent, "failed": failed}


def deliver_after_commit(operation: int | None) -> None:
    """Have a background task deliver an operation's mails once its transaction commits (a
    rolled-back operation drops the request with its mails). Asked several times in one
    transaction (a bulk action queues mail batch by batch), it enqueues one task."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(
        getattr(func, "mail_operation", _NONE) == operation for _, func, _ in conn.run_on_commit
    ):
        return

    def enqueue():
        try:
            deliver_mails.enqueue(operation=operation)
        except Exception:  # the mails stay queued: `registrar send-mail` delivers them
            log.exception("could not queue the delivery of the mails of operation %s", operation)

    enqueue.mail_operation = operation
    transaction.on_commit(enqueue)


_NONE = object()
