"""The `registrar` command: Django's management with Registrar's settings."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a subcommand; hyphenated names (import-template) map to module names."""
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = {"import": "import_file"}.get(argv[1], argv[1].replace("-", "_"))
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
