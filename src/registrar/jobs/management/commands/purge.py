"""registrar purge: delete old uploads and old operations' files (the retention settings)."""

import json

from django.core.management.base import BaseCommand

from registrar.jobs import retention


class Command(BaseCommand):
    help = (
        "Delete uploads older than REGISTRAR_UPLOAD_RETENTION_HOURS and the results, rejects and "
        "log files of operations finished more than REGISTRAR_OPERATION_FILE_RETENTION_DAYS ago."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--verify-only", action="store_true", help="Say what would be deleted; delete nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print the counts as JSON.")

    def handle(self, *args, **o):
        done = retention.purge(verify_only=o["verify_only"])
        if o["json"]:
            self.stdout.write(json.dumps(done))
            return
        verb = "would delete" if o["verify_only"] else "deleted"
        self.stdout.write(
            f"uploads: {verb} {done['uploads']} ({done['upload_bytes']:,} bytes)\n"
            f"operation files: {verb} those of {done['operations']} operations "
            f"({done['operation_files']} files, {done['operation_bytes']:,} bytes)"
        )
