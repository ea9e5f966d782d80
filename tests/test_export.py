"""The export (SPEC §6): every column group and filter, the row grain, formula escaping, the
separator, the scope, refusals naming the key, saved configurations, and the job and API path."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from registrar.bulk import export
from registrar.catalogue.models import Category, CreditType, Folder
from registrar.directory.models import Audience, UserAudience
from registrar.jobs import exports
from registrar.jobs.models import Job, SavedExport
from registrar.journal.models import Operation
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CreditAward,
    CurriculumAssignment,
    CurriculumRecord,
    ExternalTraining,
    LessonRecord,
)

from . import factories as f
from .portal_fixtures import BOTH, run_jobs
from .test_api import Api

pytestmark = pytest.mark.django_db(databases=BOTH)
DONE_AT = timezone.make_aware(datetime(2024, 6, 15, 10, 30))
DONE_UTC = DONE_AT.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # moments are exported in UTC


@pytest.fixture
def data(db):
    """ROOT ⊃ SALES ⊃ SALES-EU, ROOT ⊃ HR; ann (SALES) assigned FIRE (completed, a lesson
    passed, credits) and ETH, in curriculum CUR1; bob (HR) on FIRE in progress; cid (SALES-EU)
    with a record of OTHER without assignment and an external training; dan (HR) nothing."""
    root = f.org("ROOT")
    sales = f.org("SALES", root, label="Sales")
    eu = f.org("SALES-EU", sales, label="Sales Europe")
    hr = f.org("HR", root, label="=HR")
    bob = f.user("bob", hr, extid="B-1", city="Lyon", country="FR")
    ann = f.user(
        "ann",
        sales,
        extid="A-1",
        culture="fr-FR",
        manager=bob,
        custom1='=HYPERLINK("http://x")',
        activation_date=date(2024, 1, 2),
    )
    cid = f.user("cid", eu)
    f.user("dan", hr, disabled=True)
    managers = Audience.objects.create(name="Managers")
    UserAudience.objects.create(user=ann, audience=managers)
    UserAudience.objects.create(user=ann, audience=Audience.objects.create(name="All"))
    safety = Category.objects.create(name="Safety")
    comp = Folder.objects.create(name="Compliance", path="Compliance")
    fire_folder = Folder.objects.create(name="Fire", parent=comp, path="Compliance/Fire")
    fire = f.course(
        "FIRE", "Fire safety", category=safety, folder=fire_folder, custom={"custom1": "red"}
    )
    eth = f.course("ETH", "Ethics", folder=comp)
    other = f.course("OTHER", "+Other")
    cur = f.curriculum("CUR1", [fire, eth], title="Onboarding", category=safety)
    l1 = f.lesson("FIRE-L1", fire, position=1)
    f.lesson("FIRE-L2", fire, position=2)
    CourseAssignment.objects.create(
        user=ann, course=fire, start_date=date(2024, 3, 1), option="mandatory"
    )
    CourseAssignment.objects.create(user=ann, course=eth, start_date=date(2023, 5, 1))
    CourseAssignment.objects.create(user=bob, course=fire, start_date=date(2024, 4, 1))
    CourseRecord.objects.create(
        user=ann,
        course=fire,
        status="C",
        status_date=DONE_AT,
        score=Decimal("90.50"),
        time_spent=600,
    )
    CourseRecord.objects.create(user=bob, course=fire, status="I")
    CourseRecord.objects.create(
        user=cid, course=other, status="C", status_date=DONE_AT, legacy=True
    )
    LessonRecord.objects.create(user=ann, lesson=l1, status="P", score=Decimal("80"), time_spent=60)
    CurriculumAssignment.objects.create(user=ann, curriculum=cur, start_date=date(2024, 2, 1))
    CurriculumRecord.objects.create(user=ann, curriculum=cur, status="I")
    cme = CreditType.objects.create(name="CME")
    CreditAward.objects.create(
        user=ann, course=fire, credit_type=cme, amount=Decimal("2.50"), awarded_on=date(2024, 6, 15)
    )
    ExternalTraining.objects.create(
        user=cid,
        course_name="First aid",
        course_code="EXT-1",
        start_date=date(2024, 2, 1),
        end_date=date(2024, 2, 2),
    )
    return None


def rows(tmp_path, columns, filters=None, scope=None, delimiter=";", name="out.csv"):
    """Run an export to a CSV file; its rows as dicts (the header checked)."""
    cfg = export.Config.from_json(
        {"columns": columns, "filters": filters or {}, "delimiter": delimiter}
    )
    path = tmp_path / name
    report = export.run(cfg, output=str(path), scope=scope)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        text = fh.read()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    assert header == columns
    out = [dict(zip(header, r, strict=True)) for r in reader]
    assert report.rows == len(out)
    return out


def pick(rs, *keys):
    return [tuple(r[k] for k in keys) for r in rs]


# --- columns -------------------------------------------------------------------------------------


def test_user_columns_one_row_per_user_with_managers_audiences_and_iso_dates(data, tmp_path):
    cols = [
        "user_login",
        "user_extid",
        "user_lname",
        "user_fname",
        "user_email",
        "user_culture",
        "user_activation_date",
        "user_disabled",
        "org_label",
        "org_extid",
        "user_audiences",
        "user_city",
        "user_country",
        "manager_login",
        "manager_extid",
        "alternate_manager_login",
    ]
    out = rows(tmp_path, cols)
    assert [r["user_login"] for r in out] == ["ann", "bob", "cid", "dan"]
    ann = out[0]
    assert ann["user_extid"] == "A-1" and ann["user_culture"] == "fr-FR"
    assert ann["user_activation_date"] == "2024-01-02"
    assert ann["user_audiences"] == "All||Managers"
    assert (ann["manager_login"], ann["manager_extid"]) == ("bob", "B-1")
    assert ann["alternate_manager_login"] == "" and ann["org_extid"] == "SALES"
    assert out[3]["user_disabled"] == "yes" and ann["user_disabled"] == "no"
    assert out[1]["user_city"] == "Lyon" and out[1]["org_label"] == "'=HR"


def test_course_columns_one_row_per_user_and_course_statuses_as_letters(data, tmp_path):
    cols = [
        "user_login",
        "course_code",
        "course_title",
        "course_category",
        "course_folder",
        "course_status",
        "course_status_date",
        "course_enrolment_date",
        "course_start_date",
        "course_option",
        "course_score",
        "course_time",
        "course_legacy",
        "course_custom1",
        "course_disabled",
    ]
    out = rows(tmp_path, cols)
    assert pick(out, "user_login", "course_code", "course_status") == [
        ("ann", "ETH", "N"),
        ("ann", "FIRE", "C"),
        ("bob", "FIRE", "I"),
        ("cid", "OTHER", "C"),
        ("dan", "", ""),
    ]
    fire = out[1]
    assert fire["course_status_date"] == DONE_UTC == "2024-06-15T08:30:00Z"
    assert fire["course_start_date"] == "2024-03-01" and fire["course_option"] == "mandatory"
    assert fire["course_score"] == "90.5" and fire["course_time"] == "600"
    assert fire["course_category"] == "Safety" and fire["course_folder"] == "Compliance/Fire"
    assert fire["course_custom1"] == "red" and fire["course_disabled"] == "no"
    assert fire["course_enrolment_date"] == timezone.localdate().isoformat()  # assigned today
    assert out[3]["course_legacy"] == "yes" and out[3]["course_title"] == "'+Other"


def test_curriculum_columns_one_row_per_user_and_curriculum(data, tmp_path):
    cols = [
        "user_login",
        "curriculum_code",
        "curriculum_title",
        "curriculum_category",
        "curriculum_status",
        "curriculum_start_date",
    ]
    out = rows(tmp_path, cols)
    assert pick(out, "user_login", "curriculum_code", "curriculum_status") == [
        ("ann", "CUR1", "I"),
        ("bob", "", ""),
        ("cid", "", ""),
        ("dan", "", ""),
    ]
    assert out[0]["curriculum_start_date"] == "2024-02-01"
    assert out[0]["curriculum_category"] == "Safety"


def test_curriculum_and_course_columns_give_course_rows_with_their_curriculum(data, tmp_path):
    out = rows(tmp_path, ["user_login", "curriculum_code", "course_code"])
    assert pick(out, "user_login", "curriculum_code", "course_code") == [
        ("ann", "CUR1", "ETH"),
        ("ann", "CUR1", "FIRE"),
        ("bob", "", "FIRE"),
        ("cid", "", "OTHER"),
        ("dan", "", ""),
    ]


def test_lesson_columns_one_row_per_user_and_lesson_of_their_courses(data, tmp_path):
    cols = [
        "user_login",
        "course_code",
        "lesson_code",
        "lesson_status",
        "lesson_score",
        "lesson_time",
        "lesson_type",
    ]
    out = rows(tmp_path, cols)
    assert pick(out, "user_login", "lesson_code", "lesson_status") == [
        ("ann", "FIRE-L1", "P"),
        ("ann", "FIRE-L2", "N"),
        ("bob", "FIRE-L1", "N"),
        ("bob", "FIRE-L2", "N"),
        ("cid", "", ""),
        ("dan", "", ""),
    ]
    assert out[0]["lesson_score"] == "80" and out[0]["lesson_time"] == "60"
    assert out[0]["lesson_type"] == "L"


def test_credit_columns_one_row_per_award(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code", "credit_type", "credits", "credit_date"])
    fire = [r for r in out if r["user_login"] == "ann" and r["course_code"] == "FIRE"]
    assert pick(fire, "credit_type", "credits", "credit_date") == [("CME", "2.5", "2024-06-15")]
    assert [r["credit_type"] for r in out if r["user_login"] == "bob"] == [""]


def test_user_custom_fields_and_last_login(data, tmp_path):
    from registrar.directory.models import User

    User.objects.filter(login="bob").update(last_login=DONE_AT)
    out = rows(tmp_path, ["user_login", "user_udtf1", "last_login"])
    assert out[0]["user_udtf1"] == '\'=HYPERLINK("http://x")'
    assert out[1]["last_login"] == DONE_UTC


# --- grain and filters ---------------------------------------------------------------------------


def test_user_without_assignment_appears_once_with_empty_cells(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code", "course_status"])
    dan = [r for r in out if r["user_login"] == "dan"]
    assert dan == [{"user_login": "dan", "course_code": "", "course_status": ""}]


def test_status_filter_at_the_highest_level_drops_users_without_a_match(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code"], {"status": ["C"]})
    assert pick(out, "user_login", "course_code") == [("ann", "FIRE"), ("cid", "OTHER")]
    out = rows(tmp_path, ["user_login", "curriculum_code", "course_code"], {"status": ["I"]})
    assert sorted(pick(out, "user_login", "course_code")) == [("ann", "ETH"), ("ann", "FIRE")]
    out = rows(tmp_path, ["user_login", "lesson_code"], {"status": ["P"]})
    assert pick(out, "user_login", "lesson_code") == [("ann", "FIRE-L1")]


def test_org_filter_is_the_subtree(data, tmp_path):
    out = rows(tmp_path, ["user_login"], {"org": "SALES"})
    assert [r["user_login"] for r in out] == ["ann", "cid"]


def test_audience_filter(data, tmp_path):
    assert [r["user_login"] for r in rows(tmp_path, ["user_login"], {"audience": "Managers"})] == [
        "ann"
    ]


def test_category_filter(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code"], {"category": "Safety"})
    assert pick(out, "user_login", "course_code") == [
        ("ann", "FIRE"),
        ("bob", "FIRE"),
        ("cid", ""),
        ("dan", ""),
    ]


def test_folder_filter_with_and_without_subfolders(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code"], {"folder": "Compliance"})
    assert [r["course_code"] for r in out if r["user_login"] == "ann"] == ["ETH"]
    out = rows(
        tmp_path, ["user_login", "course_code"], {"folder": "Compliance", "subfolders": True}
    )
    assert [r["course_code"] for r in out if r["user_login"] == "ann"] == ["ETH", "FIRE"]


def test_course_and_curriculum_filters(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code"], {"course": "ETH"})
    assert [r["course_code"] for r in out] == ["ETH", "", "", ""]
    out = rows(tmp_path, ["user_login", "course_code"], {"curriculum": "CUR1"})
    assert pick(out, "user_login", "course_code")[:3] == [
        ("ann", "ETH"),
        ("ann", "FIRE"),
        ("bob", "FIRE"),
    ]
    out = rows(tmp_path, ["user_login", "curriculum_code"], {"course": "OTHER"})
    assert [r["curriculum_code"] for r in out] == ["", "", "", ""]


def test_external_trainings_are_course_rows_when_included(data, tmp_path):
    cols = [
        "user_login",
        "course_code",
        "course_title",
        "course_status",
        "course_start_date",
        "course_external",
    ]
    out = rows(tmp_path, cols)
    assert [r["course_code"] for r in out if r["user_login"] == "cid"] == ["OTHER"]
    out = rows(tmp_path, cols, {"external_trainings": True})
    cid = [r for r in out if r["user_login"] == "cid"]
    assert pick(cid, "course_code", "course_title", "course_status", "course_external") == [
        ("EXT-1", "First aid", "C", "yes"),
        ("OTHER", "'+Other", "C", "no"),
    ]
    assert cid[0]["course_start_date"] == "2024-02-01"


def test_assignment_date_range_filter(data, tmp_path):
    out = rows(
        tmp_path,
        ["user_login", "course_code"],
        {"assigned_from": "2024-01-01", "assigned_to": "2024-03-31"},
    )
    assert pick(out, "user_login", "course_code") == [
        ("ann", "FIRE"),
        ("bob", ""),
        ("cid", ""),
        ("dan", ""),
    ]


# --- escaping, separator, format ---------------------------------------------------------------


def test_formula_cells_are_escaped_in_csv(data, tmp_path):
    out = rows(tmp_path, ["user_login", "user_udtf1", "org_label"], delimiter=",")
    assert out[0]["user_udtf1"].startswith("'=") and out[1]["org_label"] == "'=HR"


def test_delimiter_comma_or_semicolon(data, tmp_path):
    for sep in (";", ","):
        cfg = export.Config.from_json({"columns": ["user_login", "org_extid"], "delimiter": sep})
        path = tmp_path / f"d{ord(sep)}.csv"
        export.run(cfg, output=str(path))
        assert path.read_text(encoding="utf-8-sig").splitlines()[1] == f"ann{sep}SALES"


def test_xlsx_formula_cells_are_text_never_formulas_and_numbers_are_numbers(data, tmp_path):
    from python_calamine import CalamineWorkbook

    cfg = export.Config.from_json(
        {"columns": ["user_login", "user_udtf1", "course_code", "course_score"]}
    )
    path = tmp_path / "out.xlsx"
    report = export.run(cfg, output=str(path))
    assert report.format == "xlsx"
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["user_login", "user_udtf1", "course_code", "course_score"]
    fire = next(r for r in sheet if r[2] == "FIRE" and r[0] == "ann")
    assert fire[3] == 90.5
    # A text cell of a workbook is never evaluated: the value is kept as typed, and no cell of
    # the sheet holds a formula.
    assert fire[1] == '=HYPERLINK("http://x")'
    import zipfile

    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml


# --- scope and refusals ---------------------------------------------------------------------------


def test_scope_confines_the_export_to_the_subtree(data, tmp_path):
    out = rows(tmp_path, ["user_login", "course_code"], scope="SALES")
    assert {r["user_login"] for r in out} == {"ann", "cid"}
    with pytest.raises(export.FileError) as e:
        rows(tmp_path, ["user_login"], {"org": "HR"}, scope="SALES")
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "org"


def cli(*args):
    out = io.StringIO()
    call_command("export", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(*args) -> str:
    with pytest.raises(CommandError) as e:
        cli(*args)
    assert e.value.returncode == 2
    return str(e.value)


def test_unknown_column_or_filter_exits_2_naming_it(data, tmp_path):
    out = str(tmp_path / "x.csv")
    assert "user_shoe_size" in refused(
        "--config", '{"columns": ["user_shoe_size"]}', "--output", out
    )
    msg = refused(
        "--config", '{"columns": ["user_login"], "filters": {"colour": 1}}', "--output", out
    )
    assert msg.startswith("unknown_field") and "colour" in msg
    msg = refused(
        "--config", '{"columns": ["course_code"], "filters": {"status": ["Z"]}}', "--output", out
    )
    assert msg.startswith("invalid_parameter") and "status" in msg
    msg = refused(
        "--config", '{"columns": ["user_login"], "filters": {"course": "C"}}', "--output", out
    )
    assert "course" in msg
    msg = refused(
        "--config",
        '{"columns": ["course_code"], "filters": {"assigned_from": "soon"}}',
        "--output",
        out,
    )
    assert "assigned_from" in msg
    assert not Operation.objects.filter(kind="export").exists()


def test_cli_writes_the_file_and_journals_an_export_operation(data, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"columns": ["user_login", "course_code"]}))
    out = tmp_path / "out.csv"
    summary = json.loads(cli("--config", f"@{cfg}", "--output", str(out), "--json"))
    assert summary["rows"] == 5 and summary["format"] == "csv"
    op = Operation.objects.get(pk=summary["operation"])
    assert (op.kind, op.status, op.rows, op.results_path) == ("export", "done", 5, str(out))


def test_saved_configuration_from_the_cli(data, tmp_path):
    out = str(tmp_path / "o.csv")
    cli("--config", '{"columns": ["user_login"]}', "--output", out, "--save", "logins")
    summary = json.loads(cli("--saved", "logins", "--output", out, "--json"))
    assert summary["rows"] == 4
    assert "saved" in refused("--saved", "nothing", "--output", out)


# --- saved configurations, jobs and the API -------------------------------------------------------


def test_saved_configurations_owner_sees_own_and_shared(world):
    cfg = export.Config.from_json({"columns": ["user_login"]})
    exports.save(world.admin, "mine", cfg)
    exports.save(world.admin, "team", cfg, shared=True)
    exports.save(world.eu_admin, "eu", cfg)
    assert {s.name for s in exports.saved_for(world.eu_admin)} == {"team", "eu"}
    assert {s.name for s in exports.saved_for(world.admin)} == {"mine", "team"}
    exports.save(world.admin, "mine", export.Config.from_json({"columns": ["user_email"]}))
    assert SavedExport.objects.filter(name="mine").count() == 1
    assert exports.saved_config(world.admin, "mine").columns == ["user_email"]
    team = SavedExport.objects.get(name="team")
    with pytest.raises(exports.Refused) as e:
        exports.delete_saved(world.eu_admin, team.pk)
    assert e.value.status == 403


def test_api_export_start_job_download(world, tokens):
    CourseRecord.objects.create(
        user=world.eve, course=world.course, status="C", status_date=DONE_AT
    )
    api = Api(tokens.admin)
    body = {"config": {"columns": ["user_login", "course_code", "course_status"], "delimiter": ","}}
    r = api.post("/api/exports", body)
    assert r.status_code == 202, r.content
    job_id = r.json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "done" and job["what"] == "export", job
    assert job["rows_done"] == job["result"]["rows"]
    r = api.get(f"/api/exports/{job_id}/download")
    assert r.status_code == 200
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    assert "eve,SAFE-101,C" in text.splitlines()
    op = Operation.objects.get(pk=job["operation"])
    assert op.kind == "export" and op.rows == job["rows_done"]
    assert Job.objects.get(pk=job_id).what == Job.EXPORT


def test_api_export_scoped_user_exports_only_their_subtree(world, tokens):
    api = Api(tokens.eu)
    r = api.post("/api/exports", {"config": {"columns": ["user_login"]}})
    assert r.status_code == 202
    run_jobs()
    text = b"".join(api.get(f"/api/exports/{r.json()['id']}/download").streaming_content)
    logins = set(text.decode("utf-8-sig").split()[1:])
    assert logins == {"eu.admin", "eve"}
    r = api.post("/api/exports", {"config": {"columns": ["user_login"]}, "scope": "ACME-US"})
    assert r.status_code == 403


def test_api_export_refuses_unknown_column_with_400_naming_it(world, tokens):
    r = Api(tokens.admin).post("/api/exports", {"config": {"columns": ["user_shoe_size"]}})
    assert r.status_code == 400 and "user_shoe_size" in r.json()["detail"]


def delete(api, url: str):
    return api.client.delete(url, headers=api.headers)


def test_api_saved_configurations(world, tokens):
    admin, eu = Api(tokens.admin), Api(tokens.eu)
    body = {"name": "logins", "shared": True, "config": {"columns": ["user_login"]}}
    r = admin.post("/api/exports/saved", body)
    assert r.status_code == 201, r.content
    assert [s["name"] for s in eu.get("/api/exports/saved").json()] == ["logins"]
    assert delete(eu, f"/api/exports/saved/{r.json()['id']}").status_code == 403
    assert delete(admin, f"/api/exports/saved/{r.json()['id']}").status_code == 204
    assert admin.get("/api/exports/saved").json() == []


# --- the portal -----------------------------------------------------------------------------------


def portal(login: str):
    from .test_portal import signed_in

    return signed_in(login)


def test_portal_export_page_lists_every_column_group(world):
    html = portal("admin").get("/export/").content.decode()
    for name in ("user_login", "curriculum_status", "course_score", "credits", "lesson_time"):
        assert f'value="{name}"' in html
    assert 'href="/export/"' in html  # the navigation's link


def test_portal_export_preview_shows_the_first_rows_and_the_count(world):
    r = portal("admin").post(
        "/export/", {"columns": ["user_login", "org_extid"], "org": "ACME-EU", "action": "preview"}
    )
    html = r.content.decode()
    assert r.status_code == 200 and "2 rows to export" in html
    assert "<td>eve</td>" in html and "<td>sam</td>" not in html


def test_portal_export_refuses_a_bad_filter_naming_it(world):
    r = portal("admin").post(
        "/export/", {"columns": ["user_login"], "course": "SAFE-101", "action": "preview"}
    )
    assert r.status_code == 400 and "course" in r.content.decode()


def test_portal_export_job_downloads_the_file_of_the_scope(world):
    c = portal("eu.admin")
    r = c.post("/export/", {"columns": ["user_login"], "delimiter": ",", "action": "start"})
    assert r.status_code == 302
    run_jobs()
    html = c.get(r["Location"]).content.decode()
    assert "Exported: 2 rows" in html
    href = re.search(r'href="([^"]+)"[^>]*data-testid="export-download"', html).group(1)
    text = b"".join(c.get(href).streaming_content).decode("utf-8-sig")
    assert text.split() == ["user_login", "eu.admin", "eve"]


def test_portal_saved_configuration_save_load_shared(world):
    admin, eu = portal("admin"), portal("eu.admin")
    admin.post(
        "/export/",
        {"columns": ["user_email"], "name": "emails", "shared": "on", "action": "save"},
    )
    row = SavedExport.objects.get(name="emails")
    assert row.shared and row.config["columns"] == ["user_email"]
    html = eu.get("/export/", {"saved": row.pk}).content.decode()
    assert 'value="user_email" checked' in html and "Loaded emails." in html
    r = eu.post("/export/", {"saved_id": row.pk, "action": "delete"})
    assert r.status_code == 403 and SavedExport.objects.filter(pk=row.pk).exists()


def test_csv_escaping_is_the_results_files_escape_formula_for_every_prefix(db, tmp_path):
    from registrar.bulk.io.writers import ESCAPE_PREFIXES, escape_formula

    values = [f"{p}x" for p in ESCAPE_PREFIXES] + ["plain", "a=b", ""]
    f.user("esc", **{f"custom{i}": v for i, v in enumerate(values, 1)})
    cols = ["user_login", *[f"user_udtf{i}" for i in range(1, len(values) + 1)]]
    out = rows(tmp_path, cols)
    assert [out[0][c] for c in cols[1:]] == [escape_formula(v) for v in values]
