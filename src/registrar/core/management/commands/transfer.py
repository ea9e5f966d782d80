"""registrar transfer user|content: transfer progress between users or contents (SPEC §3, §8)."""

import sys

from django.core.management.base import BaseCommand
from django.utils import translation

from registrar.bulk import engine
from registrar.bulk.io.readers import FileError

from ..reporting import progress_printer, refused
from .merge_users import print_moves


class Command(BaseCommand):
    help = (
        "Transfer progress: from one user to another (transfer user --from LOGIN --to LOGIN "
        "[--on-conflict refuse|merge]), or from one content to another of the same kind for "
        "everyone who completed it (transfer content --from UUID|CODE --to UUID|CODE)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        user = sub.add_parser("user", help="Move a user's progress to another user.")
        user.add_argument("--from", dest="source", required=True, metavar="LOGIN")
        user.add_argument("--to", dest="dest", required=True, metavar="LOGIN")
        user.add_argument("--on-conflict", choices=("refuse", "merge"), default="refuse")
        content = sub.add_parser("content", help="Complete new content for old completers.")
        content.add_argument("--from", dest="source", required=True, metavar="UUID|CODE")
        content.add_argument("--to", dest="dest", required=True, metavar="UUID|CODE")
        for p in (user, content):
            p.add_argument("--scope", help="Organisation extid the transfer is confined to.")
            p.add_argument("--verify-only", action="store_true", help="Plan; write nothing.")
            p.add_argument("--results", help="Also write the results file here.")
            p.add_argument("--json", action="store_true", help="Print one JSON summary object.")
            p.add_argument("--lang", default="en", choices=("en", "fr"), help="en or fr.")

    def handle(self, *args, **o):
        with translation.override(o["lang"]):
            params = {"from": o["source"], "to": o["dest"]}
            if o["what"] == "user":
                params["on_conflict"] = o["on_conflict"]
            try:
                report = engine.run(
                    engine.Request(
                        kind=f"transfer-{o['what']}",
                        params=params,
                        verify_only=o["verify_only"],
                        scope=o["scope"],
                        results_path=o["results"],
                        progress=None if o["json"] else progress_printer(sys.stderr),
                    )
                )
            except FileError as e:
                raise refused(e) from None
            summary = print_moves(self.stdout, report, o["json"])
        if summary["rejected"]:
            sys.exit(1)
