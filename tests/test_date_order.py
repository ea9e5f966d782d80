"""The date_order option (issue 14, item 4; SPEC §2.11): day-first and month-first dates on every
import kind, ISO 8601 and YYYY/MM/DD always accepted, and an invalid_date that says which order
was expected and which option would read the value."""

import io
import json
from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from registrar.bulk import engine, imports, parsers
from registrar.bulk.codes import CODES
from registrar.bulk.parsers import CellError
from registrar.catalogue.models import ClassroomSession
from registrar.directory.models import User
from registrar.jobs.models import Job
from registrar.learning.models import CourseAssignment, CourseRecord

from . import factories as f
from .conftest import write_csv
from .portal_fixtures import BOTH, run_jobs

H = ["course_id", "user_email", "completion_date", "course_title"]


def day_of(v) -> date:
    """The day of a date, or of a moment in the platform's zone (moments are parsed in UTC)."""
    return timezone.localtime(v).date() if isinstance(v, datetime) else v


def date_columns():
    """(kind, column) for every column of every kind that reads a date or a moment."""
    out = []
    for kind in imports.KINDS.values():
        for c in kind.columns:
            try:
                v = c.parse("2024-06-15")
            except CellError:
                continue
            if isinstance(v, date):
                out.append(pytest.param(kind.name, c, id=f"{kind.name}.{c.name}"))
    return out


DATE_COLUMNS = date_columns()


def test_every_kind_has_date_columns_to_check():
    kinds = {p.values[0] for p in DATE_COLUMNS}
    assert {"completions", "users", "course-assignments", "classroom-sessions"} <= kinds
    assert len(DATE_COLUMNS) >= 15


@pytest.mark.parametrize("kind,column", DATE_COLUMNS)
def test_every_date_column_of_every_kind_honours_date_order(kind, column):
    with parsers.date_order("dmy"):
        for s in ("15/06/2024", "15.06.2024", "15-06-2024", "2024-06-15", "2024/06/15"):
            assert day_of(column.parse(s)) == date(2024, 6, 15), s
    with parsers.date_order("mdy"):
        for s in ("06/15/2024", "06.15.2024", "2024-06-15", "2024/06/15"):
            assert day_of(column.parse(s)) == date(2024, 6, 15), s
    with parsers.date_order("ymd"):
        with pytest.raises(CellError) as e:
            column.parse("15/06/2024")
        assert e.value.code == "invalid_date"


def test_the_same_cell_reads_by_the_order_in_force_each_time():
    parse = parsers.date_()
    with parsers.date_order("dmy"):
        assert parse("05/06/2024") == date(2024, 6, 5)
    with parsers.date_order("mdy"):
        assert parse("05/06/2024") == date(2024, 5, 6)
    with pytest.raises(CellError):
        parse("05/06/2024")  # outside an import: ISO 8601 and YYYY/MM/DD only


def test_a_day_first_moment_keeps_its_time():
    with parsers.date_order("dmy"):
        v = timezone.localtime(parsers.datetime_()("15/06/2024 14:30"))
    assert (v.date(), v.hour, v.minute) == (date(2024, 6, 15), 14, 30)


@pytest.mark.parametrize(
    "cell", ["31/02/2024", "15/13/2024", "15/06/24", "1506/2024", "15/06-2024"]
)
def test_impossible_or_malformed_day_first_dates_are_invalid(cell):
    with parsers.date_order("dmy"), pytest.raises(CellError) as e:
        parsers.date_()(cell)
    assert e.value.code == "invalid_date"


def message(order: str | None, cell: str) -> str:
    try:
        if order is None:
            parsers.date_()(cell)
        else:
            with parsers.date_order(order):
                parsers.date_()(cell)
    except CellError as e:
        return CODES[e.code].format(column="birth_date", value=cell, **e.params)
    raise AssertionError(f"{cell} parsed")


def test_invalid_date_names_the_expected_order_and_suggests_the_option():
    text = message("ymd", "15/06/2024")
    assert "expected year-month-day" in text
    assert text.endswith("; set date_order=dmy for 15/06/2024")
    assert message("dmy", "06/15/2024").endswith("; set date_order=mdy for 06/15/2024")
    assert "expected day-month-year" in message("dmy", "06/15/2024")
    both = message("ymd", "05/06/2024")
    assert both.endswith("; set date_order=dmy or date_order=mdy for 05/06/2024")
    assert "date_order=" not in message("ymd", "32/13/2024")
    assert "date_order=" not in message("dmy", "yesterday")
    # An action parameter has no date_order option: no suggestion there.
    assert "date_order=" not in message(None, "15/06/2024")


# Through the engine, the command line, the API and the portal -------------------------------


@pytest.fixture
def world(db):
    f.user("alice")
    f.course("SAFE-101", "Workplace safety")


def test_an_import_with_date_order_dmy_reads_day_first_dates(world, run_import):
    rows = [["SAFE-101", "alice@example.com", "15/06/2024", ""]]
    rep = run_import("completions", H, rows)
    assert (rep.counts["rejected"], rep.rows[0]["codes"]) == (1, "invalid_date")
    assert "set date_order=dmy for 15/06/2024" in rep.rows[0]["message"]
    rep = run_import("completions", H, rows, options={"date_order": "dmy"})
    assert rep.counts["created"] == 1
    record = CourseRecord.objects.get()
    assert timezone.localtime(record.status_date).date() == date(2024, 6, 15)


def test_users_and_assignments_read_their_dates_by_date_order(db, run_import):
    org = f.org("ACME")
    f.course("SAFE-101")
    header = ["user_lname", "user_fname", "user_login", "user_password", "org_extid"]
    header += ["birth_date", "user_expiration_date"]
    rows = [["Martin", "Ann", "amartin", "Secret-pass-1", org.extid, "31.12.1990", "06-30-2031"]]
    rep = run_import("users", header, rows, options={"date_order": "dmy"})
    assert rep.rows[0]["codes"] == "invalid_date"  # 06-30-2031 is not day-first
    rows[0][-1] = "30-06-2031"
    rep = run_import("users", header, rows, options={"date_order": "dmy"})
    assert rep.counts["created"] == 1, rep.rows
    u = User.objects.get(login="amartin")
    assert (u.birth_date, u.expiration_date) == (date(1990, 12, 31), date(2031, 6, 30))
    header = ["user_loginid", "crsvname", "start_date", "target_date"]
    rep = run_import(
        "course-assignments",
        header,
        [["amartin", "SAFE-101", "06/01/2030", "12/31/2030"]],
        options={"date_order": "mdy"},
    )
    assert rep.counts["created"] == 1, rep.rows
    a = CourseAssignment.objects.get()
    assert (a.start_date.date() if isinstance(a.start_date, datetime) else a.start_date) == date(
        2030, 6, 1
    )


def test_classroom_lesson_slots_read_by_date_order(db, run_import):
    course = f.course("ILT-1")
    from registrar.catalogue.models import Lesson

    Lesson.objects.create(course=course, code="ILT-1-L1", title="Day 1", lesson_type="T")
    f.user("trainer")
    header = ["crsvname", "lesson_slots", "start", "session_extid", "max_participants", "trainer"]
    row = ["ILT-1", "ILT-1-L1|04/03/2030 09:00|04/03/2030 12:00", "04/03/2030 09:00", "S1", "10"]
    rep = run_import(
        "classroom-sessions", header, [[*row, "trainer"]], options={"date_order": "dmy"}
    )
    assert rep.counts["created"] == 1, rep.rows
    session = ClassroomSession.objects.get(extid="S1")
    assert timezone.localtime(session.start).date() == date(2030, 3, 4)


def cli(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
    except SystemExit as e:
        return e.code, out.getvalue()
    return 0, out.getvalue()


def test_the_command_line_accepts_set_date_order(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, ["SAFE-101", "alice@example.com", "15/06/2024"]])
    status, out = cli("import_file", "completions", path, "--json", "--set", "date_order=dmy")
    assert (status, json.loads(out)["created"]) == (0, 1)
    with pytest.raises(CommandError) as e:
        cli("import_file", "completions", path, "--set", "date_order=ydm")
    assert e.value.returncode == 2
    assert "date_order: expects one of ymd, dmy, mdy" in str(e.value)


def test_an_empty_date_order_means_the_default():
    kind = imports.KINDS["completions"]
    assert engine.parse_options(kind, {"date_order": ""})["date_order"] == "ymd"
    assert engine.parse_options(kind, {})["date_order"] == "ymd"


def test_the_preview_shows_the_date_order_and_suggests_another(world, tmp_path):
    path = write_csv(tmp_path / "in.csv", [H, ["SAFE-101", "alice@example.com", "15/06/2024"]])
    p = engine.preview("completions", path)
    assert (p["date_order"], p["date_order_suggested"]) == ("ymd", ["dmy"])
    assert {c["column"]: c["status"] for c in p["columns"]}["completion_date"] == "invalid_date"
    p = engine.preview("completions", path, {"date_order": "dmy"})
    assert (p["date_order"], p["date_order_suggested"]) == ("dmy", [])
    assert {c["column"]: c["status"] for c in p["columns"]}["completion_date"] == "ok"


@pytest.mark.django_db(databases=BOTH)
def test_the_api_takes_date_order_among_the_options(world, tmp_path):
    from registrar.api.models import ApiToken

    admin = f.user("admin", is_staff=True)
    f.grant(admin, "Site administrator")
    token = ApiToken.issue(admin, "test")[1]
    c, headers = Client(), {"Authorization": f"Bearer {token}"}
    body = "course_id;user_email;completion_date\r\nSAFE-101;alice@example.com;15/06/2024\r\n"
    up = SimpleUploadedFile("c.csv", body.encode(), content_type="text/csv")
    r = c.post("/api/uploads", {"kind": "completions", "file": up}, headers=headers)
    assert r.status_code == 201, r.content
    assert r.json()["preview"]["date_order_suggested"] == ["dmy"]
    r = c.post(
        f"/api/uploads/{r.json()['id']}/run",
        {"options": {"date_order": "dmy"}},
        content_type="application/json",
        headers=headers,
    )
    assert r.status_code == 202, r.content
    run_jobs()
    assert Job.objects.get().result["created"] == 1
    assert timezone.localtime(CourseRecord.objects.get().status_date).date() == date(2024, 6, 15)


@pytest.mark.django_db(databases=BOTH)
def test_the_portal_options_form_offers_date_order(world):
    admin = f.user("admin", is_staff=True)
    admin.set_password("admin-pass")
    admin.save()
    f.grant(admin, "Site administrator")
    c = Client()
    assert c.login(username="admin", password="admin-pass")
    body = "course_id;user_email;completion_date\r\nSAFE-101;alice@example.com;15/06/2024\r\n"
    up = SimpleUploadedFile("c.csv", body.encode(), content_type="text/csv")
    assert "date_order dmy or mdy" in c.get("/imports/completions/").content.decode()
    r = c.post("/imports/completions/", {"file": up})
    assert r.status_code == 302
    html = c.get(r.url).content.decode()
    assert 'name="opt_date_order"' in html
    for order in ("ymd", "dmy", "mdy"):
        assert f'<option value="{order}"' in html
    assert "date_order=dmy" in html  # the preview's suggestion
    r = c.post(r.url, {"opt_header": "on", "opt_date_order": "dmy", "action": "run"})
    assert r.status_code == 302, r.content
    run_jobs()
    assert Job.objects.get().result["created"] == 1
