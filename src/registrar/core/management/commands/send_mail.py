"""registrar send-mail: deliver the queued outbox over SMTP."""

from django.core.management.base import BaseCommand

from registrar.notify.models import OutboxMail
from registrar.notify.outbox import deliver


class Command(BaseCommand):
    help = "Send the queued mails of the outbox through the SMTP server (EMAIL_HOST, EMAIL_PORT)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="send at most N mails")
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="queue the failed mails again first (e.g. after the SMTP server was down)",
        )

    def handle(self, *args, **o):
        if o["retry_failed"]:
            n = OutboxMail.objects.filter(state=OutboxMail.State.FAILED).update(
                state=OutboxMail.State.QUEUED, error="", attempts=0, next_attempt_at=None
            )
            self.stdout.write(f"Queued {n} failed mail(s) again.")
        # The operator runs this once the SMTP server works again: mails waiting for their next
        # try go now too.
        sent, failed = deliver(limit=o["limit"], waiting=True)
        left = OutboxMail.objects.filter(state=OutboxMail.State.QUEUED).count()
        self.stdout.write(f"Sent {sent} mail(s), {failed} failed, {left} still queued.")
        if failed:
            # Cron and CI see a failed delivery; the reasons are on the mails (state failed).
            raise SystemExit(1)
