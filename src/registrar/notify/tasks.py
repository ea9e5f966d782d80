"""Background tasks of the outbox (django-tasks; `registrar worker` runs every queued task): mails
are delivered over SMTP here, never inside a web request."""

import logging

from django.db import transaction
from django_tasks import task

from . import outbox, password_links

log = logging.getLogger("registrar.mail")


@task()
def deliver_mails(operation: int | None = None) -> dict:
    """Deliver the queued mails (only those of `operation` when given)."""
    sent, failed = outbox.deliver(operation=operation)
    return {"sent": sent, "failed": failed}


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
    sent, failed = outbox.deliver(ids=[m.pk for m in mails])
    return {"sent": sent, "failed": failed}


def deliver_after_commit(operation: int) -> None:
    """Have a background task deliver an operation's mails once its transaction commits (a
    rolled-back operation drops the request with its mails)."""

    def enqueue():
        try:
            deliver_mails.enqueue(operation=operation)
        except Exception:  # the mails stay queued: `registrar send-mail` delivers them
            log.exception("could not queue the delivery of the mails of operation %s", operation)

    transaction.on_commit(enqueue)
