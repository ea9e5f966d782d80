"""The command line as a new user meets it (issue 14, item 8): Registrar's own commands listed
one line each, usage under the names people type, a readable preview, progress on standard
error and warnings that say what they are."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from registrar.core.management import reporting

from . import factories as f
from .conftest import write_csv

OURS = ["init", "demo", "import", "import-template", "unlock", "act", "history", "undo", "serve"]


def registrar(tmp_path, *args) -> subprocess.CompletedProcess:
    """The real command, on a database that does not exist (help needs none)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"REGISTRAR_DB": str(tmp_path / "none.sqlite3"), "REGISTRAR_DATA": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "registrar.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed(stdout: str) -> dict[str, str]:
    """The command lines of the list: name → its one line."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("  ") and line.strip():
            name, _, text = line.strip().partition(" ")
            out[name] = text.strip()
    return out


@pytest.mark.parametrize("args", [[], ["help"], ["--help"], ["-h"]])
def test_registrar_alone_lists_its_own_commands_one_line_each(tmp_path, args):
    done = registrar(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    commands = listed(done.stdout)
    assert set(OURS) <= set(commands)
    assert all(commands[c] for c in OURS)  # each with its line of help
    for django_own in ("runserver", "migrate", "import_file", "shell", "dumpdata"):
        assert django_own not in commands
    assert list(commands)[:3] == ["init", "demo", "import"]  # the order of SPEC §3
    assert all(len(line) <= 100 for line in done.stdout.splitlines())


def test_usage_names_the_command_as_typed_and_needs_no_database(tmp_path):
    done = registrar(tmp_path, "import", "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: registrar import ")
    assert "import_file" not in done.stdout
    assert "--preview" in done.stdout and ".csv or .xlsx" in done.stdout
    helped = registrar(tmp_path, "help", "import-template")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: registrar import-template")


def test_a_command_error_names_the_command_as_typed(tmp_path):
    done = registrar(tmp_path, "import-template")
    assert done.returncode == 2
    assert "registrar import-template: error: the following arguments are required: kind" in (
        done.stderr
    )


def test_an_unknown_command_exits_2_with_the_closest_names(tmp_path):
    done = registrar(tmp_path, "imprt", "users", "x.csv")
    assert done.returncode == 2
    assert "unknown command 'imprt'" in done.stderr and "did you mean import" in done.stderr


def test_help_all_lists_djangos_commands_too(tmp_path):
    done = registrar(tmp_path, "help", "--all")
    assert done.returncode == 0 and "migrate" in done.stdout and "import_file" in done.stdout


# --preview -------------------------------------------------------------------------------


H = ["course_id", "user_email", "completion_date", "course_title"]


def cli(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_preview_prints_a_table_and_json_with_json(db, tmp_path):
    path = write_csv(
        tmp_path / "in.csv", [[*H[:3], "colour"], ["SAFE-101", "a@example.com", "15/06/2024", "x"]]
    )
    out = cli("import_file", "completions", path, "--preview")
    lines = out.splitlines()
    assert "row 2" in lines[0] and "CSV" in lines[0] and "date_order=ymd" in lines[0]
    assert lines[1].split()[:2] == ["column", "header"] and set(lines[2]) <= {"-", " "}
    rows = {line.split()[0]: line for line in lines[3:7]}
    assert rows["course_id*"].split()[1:4] == ["course_id", "SAFE-101", "SAFE-101"]
    assert rows["completion_date*"].split()[-1] == "invalid_date"
    assert rows["course_title"].endswith("not in the file")
    assert "unknown columns, ignored: colour" in out
    assert "--set date_order=dmy" in out
    assert not out.lstrip().startswith("{")
    p = json.loads(cli("import_file", "completions", path, "--preview", "--json"))
    assert (p["kind"], p["row"], p["unknown_columns"]) == ("completions", 2, ["colour"])


def test_preview_of_a_file_missing_a_column_says_it_will_be_refused(db, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H[:2], ["SAFE-101", "a@example.com"]])
    out = cli("import_file", "completions", path, "--preview")
    assert "missing_column: Required column completion_date is missing" in out
    assert "the import will refuse this file" in out


# Progress and warnings --------------------------------------------------------------------


def test_progress_on_a_terminal_is_one_line_updated_in_place():
    stream = io.StringIO()
    p = reporting.Progress(stream, tty=True)
    p(100, 1000, 0.1, 1.0)
    p.last = 0.0
    p(500, 1000, 0.5, 5.0)
    p(1000, 1000, 1.0, 10.0)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1 and text.endswith("\n")
    assert "50.0%" in text and "100 rows/s" in text


def test_progress_elsewhere_is_a_few_plain_lines_and_nothing_for_a_short_run(monkeypatch):
    stream = io.StringIO()
    p = reporting.Progress(stream, tty=False)
    p(10, 100, 0.1, 0.1)
    p(100, 100, 1.0, 0.2)
    assert stream.getvalue() == ""  # a short run prints nothing
    monkeypatch.setattr(reporting, "PLAIN_EVERY", 0.0)
    p = reporting.Progress(stream, tty=False)
    p(10, 100, 0.1, 0.1)
    p(100, 100, 1.0, 0.2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert lines[0].split()[0] == "10.0%" and lines[1].split()[0] == "100.0%"


def test_warnings_say_which_codes_and_how_many(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text(
        "row 2: warning manager_not_found: Manager 'X' (m) was not found: left empty\n"
        "row 3: error org_not_found: No organisation has the external id 'Y'\n"
        "row 4: warning list_created: List 'L' did not exist and was created\n"
        "row 5: warning manager_not_found: Manager 'Z' (m) was not found: left empty\n"
        "ligne 6 : avertissement list_created: Liste 'M' créée\n",
        encoding="utf-8",
    )
    assert reporting.warnings_text(4, str(log)) == (
        "4 warnings (manager_not_found 2, list_created 2)"
    )
    assert reporting.warnings_text(0, str(log)) == "0 warnings"


def test_an_import_summary_lists_its_warnings_by_code(db, tmp_path):
    f.org("ACME")
    path = write_csv(
        tmp_path / "users.csv",
        [
            ["user_lname", "user_fname", "user_login", "user_password", "org_extid"]
            + ["user_manager_extid"],
            ["Martin", "Ann", "amartin", "Secret-pass-1", "ACME", "NOBODY"],
        ],
    )
    out = cli("import_file", "users", path)
    assert "1 warning (manager_not_found 1)" in out


def test_demo_shows_its_steps_on_stderr_and_what_its_warnings_are(db, capsys):
    out = io.StringIO()
    call_command("demo", users=60, stdout=out)
    text = out.getvalue()
    assert "13 warnings (credit_type_created 13)" in text
    assert "2 warnings (list_created 2)" in text
    err = capsys.readouterr().err.splitlines()
    assert "demo: import users…" in err and "demo: classroom sessions…" in err
    assert 5 <= len(err) <= 20  # a few plain lines, not a line per batch
