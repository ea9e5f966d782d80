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


PROG = "registrar"
# The names people type, where they differ from the module's (import is a Python keyword).
PUBLIC = {"import_file": "import"}
MODULE = {v: k for k, v in PUBLIC.items()}
# Registrar's commands in the order of SPEC §3; any other of its commands follows, by name.
ORDER = [
    "init",
    "demo",
    "import",
    "import-template",
    "unlock",
    "act",
    "export",
    "merge-users",
    "transfer",
    "report",
    "history",
    "undo",
    "serve",
    "worker",
    "send-mail",
    "purge",
    "token",
    "write-docs",
]
HELP = ("help", "--help", "-h")


def module_name(name: str) -> str:
    """The module of a command as typed: import → import_file, import-template → import_template."""
    return MODULE.get(name, name.replace("-", "_"))


def public_name(module: str) -> str:
    return PUBLIC.get(module, module.replace("_", "-"))


def main(argv: list[str] | None = None) -> None:
    """Run a subcommand; hyphenated names (import-template) map to module names, and usage and
    errors name the command as typed (`registrar import`)."""
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registrar.settings")
    args = argv[1:]
    if not args or args[0] in HELP:
        print_help(args[1:])
        return
    if args[0].startswith("-"):  # --version and the like: Django's own
        from django.core.management import execute_from_command_line

        execute_from_command_line([PROG, *args])
        return
    module, rest = module_name(args[0]), args[1:]
    command = load(module, args[0])
    if module not in NO_DATABASE and not any(a in ("-h", "--help") for a in rest):
        refuse_without_database()
    from django.db import DatabaseError

    try:
        command.run_from_argv([PROG, public_name(module), *rest])
    except DatabaseError as e:
        sys.stderr.write(database_problem(e) + "\n")
        sys.exit(2)


def load(module: str, typed: str):
    """The command class of `module`; an unknown name exits 2 with the closest names."""
    import difflib

    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    app = get_commands().get(module)
    if app is None:
        close = difflib.get_close_matches(typed, [public_name(m) for m in get_commands()], 3)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        sys.stderr.write(f"unknown command {typed!r}{hint}: `{PROG} help` lists the commands\n")
        sys.exit(2)
    return app if not isinstance(app, str) else load_command_class(app, module)


def registrar_commands() -> list[tuple[str, str]]:
    """(name as typed, one line of help) for each of Registrar's own commands."""
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    ours = {
        public_name(m): app
        for m, app in get_commands().items()
        if isinstance(app, str) and app.startswith("registrar")
    }
    rank = {name: i for i, name in enumerate(ORDER)}
    out = []
    for name in sorted(ours, key=lambda n: (rank.get(n, len(ORDER)), n)):
        text = " ".join(str(load_command_class(ours[name], module_name(name)).help).split())
        out.append((name, text.split(": registrar ")[0].split(". ")[0].rstrip(".")))
    return out


def one_line(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def print_help(args: list[str]) -> None:
    """`registrar`, `registrar help`: Registrar's commands, one line each; `registrar help
    COMMAND`: that command's options; `registrar help --all`: Django's commands as well."""
    if args and args[0] == "--all":
        import django
        from django.core.management import ManagementUtility

        django.setup()
        sys.stdout.write(ManagementUtility([PROG]).main_help_text() + "\n")
        return
    if args:
        module = module_name(args[0])
        load(module, args[0]).print_help(PROG, public_name(module))
        return
    commands = registrar_commands()
    width = max(len(n) for n, _ in commands) + 2
    lines = [
        "Registrar: learner records and bulk jobs (imports, actions, exports, undo).",
        f"Usage: {PROG} COMMAND [options]",
        "",
        *(f"  {n:<{width}}{one_line(text, 98 - width)}" for n, text in commands),
        "",
        f"`{PROG} COMMAND --help` (or `{PROG} help COMMAND`) shows a command's options;",
        f"`{PROG} help --all` also lists Django's own commands (migrate, shell, ...).",
    ]
    sys.stdout.write("\n".join(lines) + "\n")


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
