"""progress import (SPEC §4.3, seed 002) and the access rules (SPEC §1 Access): one test per rule."""

import uuid
from datetime import date, datetime, timedelta

import pytest
import xlsxwriter
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.bulk import imports
from registrar.bulk.docs import write_template
from registrar.directory.models import Audience
from registrar.journal.undo import undo
from registrar.learning import access
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumAssignment,
    CurriculumRecord,
    ProgrammeAssignment,
    ProgrammeRecord,
)

from . import factories as f

H = ["user_email", "content_uuid", "completion_date"]
TEMPLATE_UUID = "5b0f5f0e-6a8f-4d39-9a3e-3b1f2d8c0a01"


@pytest.fixture
def world(db):
    """Seed 002's shape: programme PROG ⊃ journeys J1 (A, B) and J2 (B, C); course D stands alone."""
    w = type("World", (), {})()
    w.alice = f.user("alice", email="Alice@Example.com")
    w.bob = f.user("bob")
    w.a, w.b, w.c, w.d = (f.course(x) for x in ("A", "B", "C", "D"))
    w.j1 = f.curriculum("J1", courses=[w.a, w.b])
    w.j2 = f.curriculum("J2", courses=[w.b, w.c])
    w.prog = f.programme("PROG", curricula=[w.j1, w.j2])
    return w


def u(content) -> str:
    return str(content.uuid)


def run(run_import, rows, kind=None, **kw):
    options = {"kind": kind} if kind else None
    return run_import("progress", H, rows, options=options, **kw)


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def records(user) -> dict[str, dict[str, str]]:
    """{level: {code: status}} of a user's course, curriculum and programme records."""
    out = {}
    for level, model, field in (
        ("course", CourseRecord, "course"),
        ("curriculum", CurriculumRecord, "curriculum"),
        ("programme", ProgrammeRecord, "programme"),
    ):
        out[level] = dict(
            model.objects.filter(user=user).values_list(f"{field}__code", "status").order_by()
        )
    return out


def day(record) -> str:
    return timezone.localtime(record.status_date).date().isoformat()


def snapshot() -> dict:
    """Every learner-data table, in pk order, without the `op` column."""
    out = {}
    for app in ("directory", "catalogue", "learning"):
        for m in apps.get_app_config(app).get_models(include_auto_created=True):
            rows = [{k: v for k, v in x.items() if k != "op"} for x in m._base_manager.values()]
            out[m._meta.label] = sorted(rows, key=lambda x: x[m._meta.pk.attname])
    return out


# The cascade (seed 002) ---------------------------------------------------------------------


def test_completing_a_programme_completes_its_journeys_and_their_activities(run_import, world):
    rep = run(run_import, [["alice@example.com", u(world.prog), "2024-06-15"]], kind="programme")
    assert results(rep) == [("created", "")]
    assert records(world.alice) == {
        "course": {"A": "C", "B": "C", "C": "C"},
        "curriculum": {"J1": "C", "J2": "C"},
        "programme": {"PROG": "C"},
    }
    every = [
        *CourseRecord.objects.filter(user=world.alice),
        *CurriculumRecord.objects.filter(user=world.alice),
        *ProgrammeRecord.objects.filter(user=world.alice),
    ]
    assert {day(r) for r in every} == {"2024-06-15"}
    assert {(r.completion_percent, r.source, r.score) for r in every} == {(100, "import", None)}
    assert records(world.bob) == {"course": {}, "curriculum": {}, "programme": {}}


def test_completing_a_journey_completes_all_its_activities(run_import, world):
    rep = run(run_import, [["alice@example.com", u(world.j1), "2024-06-15"]], kind="journey")
    assert results(rep) == [("created", "")]
    assert records(world.alice) == {
        "course": {"A": "C", "B": "C"},
        "curriculum": {"J1": "C"},
        "programme": {},  # J2 is not completed, so neither is the programme
    }
    assert {day(r) for r in CourseRecord.objects.all()} == {"2024-06-15"}


def test_completing_an_activity_is_the_default_kind(run_import, world):
    rep = run(run_import, [["alice@example.com", u(world.d), "2024-06-15"]])
    assert results(rep) == [("created", "")]
    assert records(world.alice) == {"course": {"D": "C"}, "curriculum": {}, "programme": {}}


def test_completed_activities_roll_up_to_journeys_and_programmes_once_per_batch(run_import, world):
    rep = run(
        run_import,
        [
            ["alice@example.com", u(world.a), "2024-06-10"],
            ["alice@example.com", u(world.b), "2024-06-12"],
            ["alice@example.com", u(world.c), "2024-06-11"],
            ["bob@example.com", u(world.a), "2024-06-10"],
        ],
    )
    assert [r for r, _ in results(rep)] == ["created"] * 4
    assert records(world.alice) == {
        "course": {"A": "C", "B": "C", "C": "C"},
        "curriculum": {"J1": "C", "J2": "C"},
        "programme": {"PROG": "C"},
    }
    # A roll-up is dated by the last completion below it.
    assert day(CurriculumRecord.objects.get(user=world.alice, curriculum=world.j1)) == "2024-06-12"
    assert day(ProgrammeRecord.objects.get(user=world.alice)) == "2024-06-12"
    assert records(world.bob) == {"course": {"A": "C"}, "curriculum": {}, "programme": {}}


def test_a_journey_completed_over_courses_completed_before_rolls_up_to_its_programme(
    run_import, world
):
    run(run_import, [["alice@example.com", u(world.j2), "2024-06-01"]], kind="journey")
    CourseRecord.objects.create(user=world.alice, course=world.a, status="C")
    rep = run(run_import, [["alice@example.com", u(world.j1), "2024-06-15"]], kind="journey")
    assert results(rep) == [("created", "")]
    assert records(world.alice)["programme"] == {"PROG": "C"}


def test_kind_accepts_the_catalogue_words_too(run_import, world):
    rep = run(run_import, [["alice@example.com", u(world.j1), "2024-06-15"]], kind="curriculum")
    assert results(rep) == [("created", "")]


# Content ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,content,actual,expected",
    [
        ("activity", "j1", "curriculum (kind=journey)", "course (kind=activity)"),
        ("activity", "prog", "programme (kind=programme)", "course (kind=activity)"),
        ("journey", "a", "course (kind=activity)", "curriculum (kind=journey)"),
        ("programme", "j1", "curriculum (kind=journey)", "programme (kind=programme)"),
    ],
)
def test_content_of_another_kind_is_content_kind_mismatch(
    run_import, world, kind, content, actual, expected
):
    uid = u(getattr(world, content))
    rep = run(run_import, [["alice@example.com", uid, "2024-06-15"]], kind=kind)
    assert results(rep) == [("rejected", "content_kind_mismatch")]
    assert rep.rows[0]["message"] == f"Content '{uid}' is a {actual}, not a {expected}"
    assert records(world.alice) == {"course": {}, "curriculum": {}, "programme": {}}


def test_unknown_uuid_is_content_not_found(run_import, world):
    rep = run(run_import, [["alice@example.com", str(uuid.uuid4()), "2024-06-15"]])
    assert results(rep) == [("rejected", "content_not_found")]


def test_a_uuid_that_is_not_a_uuid_is_invalid_identifier(run_import, world):
    rep = run(run_import, [["alice@example.com", "SAFE-101", "2024-06-15"]])
    assert results(rep) == [("rejected", "invalid_identifier")]


def test_uuid_is_read_whatever_its_case_and_the_uuid_alias_is_accepted(run_import, world):
    rep = run_import(
        "progress", ["User Email", "UUID"], [["alice@example.com", u(world.a).upper()]]
    )
    assert results(rep) == [("created", "")]


def test_an_unpublished_content_is_completed_with_no_access(run_import, world):
    draft = f.course("DRAFT", published=False)
    rep = run(run_import, [["alice@example.com", u(draft), "2024-06-15"]])
    assert results(rep) == [("created", "no_access")]
    assert records(world.alice)["course"] == {"DRAFT": "C"}


# Existing progress --------------------------------------------------------------------------


def test_an_existing_completion_keeps_its_date_and_the_row_is_unchanged(run_import, world):
    old = timezone.make_aware(datetime(2023, 1, 2))
    CourseRecord.objects.create(user=world.alice, course=world.d, status="C", status_date=old)
    rep = run(run_import, [["alice@example.com", u(world.d), "2024-06-15"]])
    assert results(rep) == [("unchanged", "")]
    assert CourseRecord.objects.get(user=world.alice, course=world.d).status_date == old


def test_an_existing_record_not_completed_is_completed_and_updated(run_import, world):
    rec = CourseRecord.objects.create(
        user=world.alice, course=world.d, status="I", completion_percent=40
    )
    rep = run(run_import, [["alice@example.com", u(world.d), "2024-06-15"]])
    assert results(rep) == [("updated", "")]
    rec.refresh_from_db()
    assert (rec.status, rec.completion_percent, day(rec)) == ("C", 100, "2024-06-15")


def test_a_completed_journey_with_an_activity_left_to_complete_is_updated(run_import, world):
    old = timezone.make_aware(datetime(2023, 1, 2))
    CurriculumRecord.objects.create(
        user=world.alice, curriculum=world.j1, status="C", status_date=old
    )
    CourseRecord.objects.create(user=world.alice, course=world.a, status="C", status_date=old)
    rep = run(run_import, [["alice@example.com", u(world.j1), "2024-06-15"]], kind="journey")
    assert results(rep) == [("updated", "")]
    a, b = (CourseRecord.objects.get(user=world.alice, course=c) for c in (world.a, world.b))
    assert (day(a), day(b)) == ("2023-01-02", "2024-06-15")
    assert CurriculumRecord.objects.get(user=world.alice).status_date == old


def test_a_new_top_record_is_created_even_when_everything_below_is_completed(run_import, world):
    for c in (world.a, world.b):
        CourseRecord.objects.create(user=world.alice, course=c, status="C")
    rep = run(run_import, [["alice@example.com", u(world.j1), "2024-06-15"]], kind="journey")
    assert results(rep) == [("created", "")]
    assert day(CurriculumRecord.objects.get(user=world.alice)) == "2024-06-15"


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_a_completion_shared_by_two_rows_is_made_by_the_first_whatever_the_batches(
    run_import, world, settings, batch_size
):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    rep = run(
        run_import,
        [
            ["alice@example.com", u(world.j1), "2024-06-15"],
            ["alice@example.com", u(world.j2), "2024-05-01"],  # B is in both journeys
        ],
        kind="journey",
    )
    assert results(rep) == [("created", ""), ("created", "")]
    b = CourseRecord.objects.get(user=world.alice, course=world.b)
    assert day(b) == "2024-06-15"
    assert day(CourseRecord.objects.get(user=world.alice, course=world.c)) == "2024-05-01"
    assert records(world.alice)["programme"] == {"PROG": "C"}


def test_no_assignment_is_created(run_import, world):
    run(run_import, [["alice@example.com", u(world.prog), "2024-06-15"]], kind="programme")
    assert not CourseAssignment.objects.exists()
    assert not CurriculumAssignment.objects.exists()
    assert not ProgrammeAssignment.objects.exists()


# Access -------------------------------------------------------------------------------------


@pytest.fixture
def restricted(world):
    """Course R is meant for the Managers audience only; alice is not a manager."""
    world.managers = Audience.objects.create(name="Managers")
    world.r = f.course("R")
    world.r.audiences.add(world.managers)
    return world


def test_no_access_is_a_warning_and_the_record_is_kept(run_import, restricted):
    w = restricted
    rep = run(run_import, [["alice@example.com", u(w.r), "2024-06-15"]])
    assert results(rep) == [("created", "no_access")]
    assert "no access to 'R'" in rep.rows[0]["message"]
    assert records(w.alice)["course"] == {"R": "C"}
    assert rep.counts["warnings"] == 1 and rep.counts["rejected"] == 0
    # Once access is given, the record is there with the imported date.
    w.alice.audiences.add(w.managers, through_defaults={})
    assert access.has_access("course", {(w.alice.pk, w.r.pk)}) == {(w.alice.pk, w.r.pk)}
    assert day(CourseRecord.objects.get(user=w.alice, course=w.r)) == "2024-06-15"


def test_access_through_an_assignment_of_a_containing_curriculum(run_import, restricted):
    w = restricted
    jr = f.curriculum("JR", courses=[w.r], published=False)
    CurriculumAssignment.objects.create(user=w.alice, curriculum=jr)
    rep = run(run_import, [["alice@example.com", u(w.r), "2024-06-15"]])
    assert results(rep) == [("created", "")]


def test_access_through_a_published_course_with_no_audience(run_import, world):
    rep = run(run_import, [["alice@example.com", u(world.d), "2024-06-15"]])
    assert results(rep) == [("created", "")]


def test_access_through_a_shared_audience(run_import, restricted):
    w = restricted
    w.alice.audiences.add(w.managers, through_defaults={})
    rep = run(run_import, [["alice@example.com", u(w.r), "2024-06-15"]])
    assert results(rep) == [("created", "")]


def test_no_access_to_a_journey_still_completes_its_activities(run_import, world):
    jx = f.curriculum("JX", courses=[world.d], published=False)
    rep = run(run_import, [["alice@example.com", u(jx), "2024-06-15"]], kind="journey")
    assert results(rep) == [("created", "no_access")]
    assert records(world.alice)["course"] == {"D": "C"}


# Users, dates, rows -------------------------------------------------------------------------


def test_email_is_compared_case_insensitively(run_import, world):
    rep = run(run_import, [["ALICE@EXAMPLE.COM", u(world.d), "2024-06-15"]])
    assert results(rep) == [("created", "")]


@pytest.mark.parametrize(
    "email,code",
    [
        ("nobody@example.com", "user_not_found"),
        ("dave@example.com", "ambiguous_user"),
        ("erin@example.com", "user_disabled"),
        ("fred@example.com", "user_not_in_training"),
        ("not-an-email", "invalid_email"),
        ("", "missing_value"),
    ],
)
def test_users_are_found_by_email_or_rejected(run_import, world, email, code):
    f.user("dave1", email="dave@example.com")
    f.user("dave2", email="DAVE@example.com")
    f.user("erin", disabled=True)
    f.user("fred", training_access=False)
    rep = run(run_import, [[email, u(world.d), "2024-06-15"]])
    assert results(rep) == [("rejected", code)]
    assert not CourseRecord.objects.exists()


def test_a_user_outside_the_scope_is_out_of_scope(run_import, world):
    inside = f.org("IN")
    f.org("OUT")
    f.user("gina", organisation=inside)
    rep = run(
        run_import,
        [["gina@example.com", u(world.d), "2024-06-15"], ["alice@example.com", u(world.d), ""]],
        scope="IN",
    )
    assert results(rep) == [("created", ""), ("rejected", "out_of_scope")]
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["gina"]


def test_a_future_completion_date_is_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run(run_import, [["alice@example.com", u(world.d), tomorrow]])
    assert results(rep) == [("rejected", "future_date")]


def test_an_empty_completion_date_is_the_import_date(run_import, world):
    before = timezone.now()
    rep = run(run_import, [["alice@example.com", u(world.d), ""], ["bob@example.com", u(world.d)]])
    assert results(rep) == [("created", ""), ("created", "")]
    dates = {r.status_date for r in CourseRecord.objects.all()}
    assert len(dates) == 1  # one moment for the whole import
    (when,) = dates
    assert before <= when <= timezone.now()
    assert timezone.localtime(when).date() == timezone.localdate()


def test_a_repeated_user_and_content_is_duplicate_row(run_import, world):
    rep = run(
        run_import,
        [
            ["alice@example.com", u(world.d), "2024-06-15"],
            ["ALICE@example.com", u(world.d).upper(), "2024-06-16"],
            ["alice@example.com", "{" + u(world.d) + "}", "2024-06-17"],
        ],
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "duplicate_row"),
        ("rejected", "duplicate_row"),
    ]
    assert day(CourseRecord.objects.get()) == "2024-06-15"


# Files, verify-only, idempotence, undo ------------------------------------------------------


def xlsx(path, rows) -> str:
    """A spreadsheet as the vendor's customers send it: dates as real date cells."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(i, j, datetime.combine(value, datetime.min.time()), dates)
            elif value != "":
                sheet.write(i, j, value)
    book.close()
    return str(path)


def test_an_xlsx_file_with_the_vendor_headers_is_imported(run_import, world, tmp_path):
    path = xlsx(
        tmp_path / "progress.xlsx",
        [
            ["User email", "Content uuid", "Completion date"],
            ["alice@example.com", u(world.j1), date(2024, 6, 15)],
            ["bob@example.com", u(world.j2), ""],
            ["nobody@example.com", u(world.j2), date(2024, 6, 15)],
        ],
    )
    rep = run_import.run("progress", path, options={"kind": "journey"})
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "user_not_found")]
    assert rep.results_path.endswith(".xlsx") and rep.rejects_path.endswith(".xlsx")
    assert records(world.alice)["course"] == {"A": "C", "B": "C"}
    assert day(CurriculumRecord.objects.get(user=world.alice)) == "2024-06-15"
    bob = CurriculumRecord.objects.get(user=world.bob)
    assert timezone.localtime(bob.status_date).date() == timezone.localdate()


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, restricted):
    w = restricted
    CourseRecord.objects.create(user=w.alice, course=w.a, status="I")
    path = run_import.file(
        H,
        [
            ["alice@example.com", u(w.prog), "2024-06-15"],
            ["bob@example.com", u(w.prog), ""],
            ["nobody@example.com", u(w.prog), "2024-06-15"],
            ["bob@example.com", u(w.a), "2024-06-15"],
        ],
    )
    before = snapshot()
    verified = run_import.run("progress", path, options={"kind": "programme"}, verify_only=True)
    assert snapshot() == before
    real = run_import.run("progress", path, options={"kind": "programme"})
    assert results(verified) == results(real)
    assert [r for r, _ in results(real)] == ["created", "created", "rejected", "rejected"]
    assert verified.counts == real.counts


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = run_import.file(
        H,
        [
            ["alice@example.com", u(world.prog), "2024-06-15"],
            ["bob@example.com", u(world.prog), ""],
            ["bob@example.com", u(world.a), "2024-06-15"],
        ],
    )
    first = run_import.run("progress", path, options={"kind": "programme"})
    after_first = snapshot()
    second = run_import.run("progress", path, options={"kind": "programme"})
    assert [r for r, _ in results(first)] == ["created", "created", "rejected"]
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "content_kind_mismatch"),
    ]
    assert snapshot() == after_first


def test_undo_restores_the_database(run_import, world):
    CourseRecord.objects.create(user=world.alice, course=world.a, status="I", completion_percent=5)
    before = snapshot()
    rep = run(
        run_import,
        [
            ["alice@example.com", u(world.j1), "2024-06-15"],
            ["alice@example.com", u(world.j2), "2024-06-16"],
            ["bob@example.com", u(world.j1), ""],
            ["bob@example.com", u(world.prog), ""],
        ],
        kind="journey",
    )
    assert [r for r, _ in results(rep)] == ["created", "created", "created", "rejected"]
    assert records(world.alice)["programme"] == {"PROG": "C"}  # rolled up, journalled too
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    connection.check_constraints()
    assert snapshot() == before


def test_template_imports_cleanly_when_safe_101_has_the_fixed_uuid(run_import, db, tmp_path):
    f.user("alice.martin", email="alice.martin@example.com")
    f.user("bob.durand", email="bob.durand@example.com")
    f.course("SAFE-101", "Workplace safety", uuid=uuid.UUID(TEMPLATE_UUID))
    path = str(tmp_path / "progress-template.csv")
    write_template("progress", path)
    first = run_import.run("progress", path)
    assert results(first) == [("created", ""), ("created", "")]
    again = run_import.run("progress", path)
    assert results(again) == [("unchanged", ""), ("unchanged", "")]


def test_the_kind_is_discovered_and_a_batch_takes_a_fixed_number_of_queries(
    run_import, world, settings
):
    assert "progress" in imports.KINDS
    settings.REGISTRAR_BATCH_SIZE = 10_000

    def queries(prefix: str, n: int) -> int:
        people = [f.user(f"{prefix}{i}") for i in range(n)]
        rows = [[p.email, u(world.prog), "2024-06-15"] for p in people]
        with CaptureQueriesContext(connection) as ctx:
            rep = run(run_import, rows, kind="programme")
        assert [r for r, _ in results(rep)] == ["created"] * n
        return len(ctx.captured_queries)

    assert queries("few", 3) == queries("many", 40)


# learning/access.py -------------------------------------------------------------------------


def test_access_by_direct_assignment(restricted):
    w = restricted
    CourseAssignment.objects.create(user=w.alice, course=w.r)
    pairs = {(w.alice.pk, w.r.pk), (w.bob.pk, w.r.pk)}
    assert access.assigned("course", pairs) == {(w.alice.pk, w.r.pk)}
    assert access.has_access("course", pairs) == {(w.alice.pk, w.r.pk)}


def test_access_through_a_programme_assignment_reaches_its_curricula_and_courses(restricted):
    w = restricted
    jr = f.curriculum("JR", courses=[w.r], published=False)
    pr = f.programme("PR", curricula=[jr], published=False)
    ProgrammeAssignment.objects.create(user=w.bob, programme=pr)
    assert access.has_access("course", {(w.bob.pk, w.r.pk), (w.alice.pk, w.r.pk)}) == {
        (w.bob.pk, w.r.pk)
    }
    assert access.has_access("curriculum", {(w.bob.pk, jr.pk)}) == {(w.bob.pk, jr.pk)}
    assert access.has_access("programme", {(w.bob.pk, pr.pk), (w.alice.pk, pr.pk)}) == {
        (w.bob.pk, pr.pk)
    }


def test_an_assignment_never_reaches_upwards_or_sideways(restricted):
    w = restricted
    CourseAssignment.objects.create(user=w.alice, course=w.r)
    jr = f.curriculum("JR", courses=[w.r], published=False)
    other = f.course("OTHER", published=False)
    jr.courses.add(other, through_defaults={})
    assert access.has_access("curriculum", {(w.alice.pk, jr.pk)}) == set()
    assert access.has_access("course", {(w.alice.pk, other.pk)}) == set()


def test_open_access_needs_published_enabled_content_with_no_or_a_shared_audience(restricted):
    w = restricted
    draft = f.course("DRAFT2", published=False)
    off = f.course("OFF", disabled=True)
    w.bob.audiences.add(w.managers, through_defaults={})
    pairs = {(x.pk, c.pk) for x in (w.alice, w.bob) for c in (w.d, w.r, draft, off)}
    assert access.open_access("course", pairs) == {
        (w.alice.pk, w.d.pk),
        (w.bob.pk, w.d.pk),
        (w.bob.pk, w.r.pk),
    }


def test_open_access_applies_to_curricula_and_programmes_with_their_own_audiences(restricted):
    w = restricted
    w.j1.audiences.add(w.managers)
    w.alice.audiences.add(w.managers, through_defaults={})
    assert access.has_access("curriculum", {(w.alice.pk, w.j1.pk), (w.bob.pk, w.j1.pk)}) == {
        (w.alice.pk, w.j1.pk)
    }
    assert access.has_access("programme", {(w.bob.pk, w.prog.pk)}) == {(w.bob.pk, w.prog.pk)}


def test_access_takes_a_fixed_number_of_queries_whatever_the_number_of_pairs(restricted):
    w = restricted
    people = [f.user(f"u{i}") for i in range(30)]
    jr = f.curriculum("JR", courses=[w.r], published=False)
    f.programme("PR", curricula=[jr], published=False)

    def queries(n: int) -> int:
        pairs = {(p.pk, w.r.pk) for p in people[:n]}
        with CaptureQueriesContext(connection) as ctx:
            assert access.has_access("course", pairs) == set()
        return len(ctx.captured_queries)

    assert queries(2) == queries(30)


def test_access_of_nothing_is_nothing_and_an_unknown_kind_is_refused(db):
    assert access.has_access("course", set()) == set()
    with pytest.raises(ValueError, match="unknown content kind"):
        access.has_access("lesson", {(1, 1)})
