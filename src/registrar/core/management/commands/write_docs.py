"""registrar write-docs: regenerate docs/codes.md, formats.md and actions.md from the code."""

from pathlib import Path

from django.core.management.base import BaseCommand

from registrar.bulk import docs


class Command(BaseCommand):
    help = "Write docs/codes.md and docs/formats.md (run from the repository root)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", default="docs")

    def handle(self, *args, **o):
        d = Path(o["dir"])
        d.mkdir(exist_ok=True)
        (d / "codes.md").write_text(docs.codes_md(), encoding="utf-8")
        (d / "formats.md").write_text(docs.formats_md(), encoding="utf-8")
        (d / "actions.md").write_text(docs.actions_md(), encoding="utf-8")
        self.stdout.write(f"wrote {d / 'codes.md'}, {d / 'formats.md'} and {d / 'actions.md'}")
