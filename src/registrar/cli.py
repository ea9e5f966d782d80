"""The `registrar` command: Django's management with Registrar's settings."""

import os
import sys
from pathlib import Path

# Commands that work without a Registrar database (init creates it).
NO_DATABASE = {
    "init",
    "help",
    "version",
    "write_docs",
    "import_template",
    "makemessages",
    "compilemessages",
}


def main(argv: list[str] | None = None) -> None:
    """Run a subcommand; hyphenated names (import-template) map to module names."""
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = {"import": "import_file"}.get(argv[1], argv[1].replace("-", "_"))
    command = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else "help"
    if command not in NO_DATABASE:
        refuse_without_database()
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(argv)
    except DatabaseError as e:
        sys.stderr.write(database_problem(e) + "\n")
        sys.exit(2)


def refuse_without_database() -> None:
    """Exit 2 before anything connects when the SQLite files are not there: connecting would
    create an empty database and every command would then fail on its missing tables."""
    import django
    from django.conf import settings

    django.setup()
    for alias in ("default", "jobs"):
        db = settings.DATABASES[alias]
        if db["ENGINE"].endswith("sqlite3") and not Path(db["NAME"]).is_file():
            sys.stderr.write(
                f"no Registrar database at {db['NAME']}: run `registrar init` or set REGISTRAR_DB\n"
            )
            sys.exit(2)


def database_problem(e: Exception) -> str:
    """A database failure as one line for the person at the command line (exit status 2)."""
    from django.conf import settings

    from registrar.bulk.codes import CODES

    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "database is locked" in text:
        return "database_busy: " + CODES["database_busy"].format(seconds=f"{settings.DB_TIMEOUT:g}")
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"the database is not initialised ({text}): run `registrar init`"
    return f"database error: {text}"


if __name__ == "__main__":
    main()
