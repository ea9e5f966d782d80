"""course-statistics import (SPEC §4.11, seed 003): one test per rule."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from registrar.bulk import engine
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.catalogue.models import Course, Curriculum, Lesson
from registrar.directory.models import User
from registrar.journal.undo import undo
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumAssignment,
    CurriculumRecord,
    LessonRecord,
    ProgrammeRecord,
)

from . import factories as f

KIND = "course-statistics"
H = ["user_loginid", "crsvname", "course_status", "course_status_date", "course_enrollment_date"]


@pytest.fixture
def world(db):
    """amartin assigned to C1 and C2, which make curriculum CUR-1 (in programme PRG-1); C1 has
    two lessons; bdurand assigned nothing."""
    alice = f.user("amartin")
    f.user("bdurand")
    c1, c2 = f.course("C1"), f.course("C2")
    f.lesson("C1-L1", c1, "L")
    f.lesson("C1-L2", c1, "A")
    for c in (c1, c2):
        CourseAssignment.objects.create(user=alice, course=c)
    cur = f.curriculum("CUR-1", courses=[c1, c2])
    f.programme("PRG-1", curricula=[cur])
    return None


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def local_day(dt) -> str:
    return timezone.localtime(dt).date().isoformat()


def record(course="C1", user="amartin") -> CourseRecord:
    return CourseRecord.objects.get(user__login=user, course__code=course)


def existing(course="C1", status="I", day=(2024, 3, 1), user="amartin", **kw) -> CourseRecord:
    return CourseRecord.objects.create(
        user=User.objects.get(login=user),
        course=Course.objects.get(code=course),
        status=status,
        status_date=timezone.make_aware(datetime(*day)) if day else None,
        attempts=kw.pop("attempts", 1),
        completion_percent=kw.pop("completion_percent", 100 if status == "C" else 40),
        source="learner",
        **kw,
    )


def state() -> dict:
    """Everything this import may write, for before/after comparisons."""
    return {
        m.__name__: sorted(m.objects.values_list(*fields))
        for m, fields in (
            (CourseAssignment, ("user__login", "course__code", "start_date", "source")),
            (
                CourseRecord,
                ("user__login", "course__code", "status", "status_date", "enrolled_date"),
            ),
            (CourseRecord, ("user__login", "course__code", "attempts", "completion_percent")),
            (CourseRecord, ("user__login", "course__code", "source")),
            (LessonRecord, ("user__login", "lesson__code", "status")),
            (CurriculumRecord, ("user__login", "curriculum__code", "status")),
            (ProgrammeRecord, ("user__login", "programme__code", "status")),
        )
    }


# The course record -----------------------------------------------------------------------------


def test_a_first_status_creates_the_course_record(run_import, world):
    rep = run_import(KIND, H, [["amartin", "C1", "I", "2024/05/10", "2024/03/01"]])
    assert results(rep) == [("created", "")]
    rec = record()
    assert (rec.status, local_day(rec.status_date), rec.enrolled_date) == (
        "I",
        "2024-05-10",
        date(2024, 3, 1),
    )
    assert (rec.attempts, rec.completion_percent, rec.source, rec.legacy) == (1, 0, "import", False)


def test_a_course_may_be_completed_while_its_lessons_are_not(run_import, world):
    alice = User.objects.get(login="amartin")
    LessonRecord.objects.create(user=alice, lesson=Lesson.objects.get(code="C1-L1"), status="I")
    rep = run_import(KIND, H, [["amartin", "C1", "C", "2024-05-10", ""]])
    assert results(rep) == [("created", "")]
    assert (record().status, record().completion_percent) == ("C", 100)
    # Lesson records are not touched, and none is created for the other lesson.
    assert list(LessonRecord.objects.values_list("lesson__code", "status")) == [("C1-L1", "I")]


def test_the_vendors_spelling_course_enrollement_date_is_accepted(run_import, world):
    header = [*H[:4], "course_enrollement_date"]
    rep = run_import(KIND, header, [["amartin", "C1", "N", "", "2024/03/01"]])
    assert results(rep) == [("created", "")]
    rec = record()
    assert (rec.status, rec.status_date, rec.enrolled_date, rec.attempts) == (
        "N",
        None,
        date(2024, 3, 1),
        0,
    )
    assert rep.file_warnings == []


def test_an_empty_status_date_is_the_moment_the_import_started(run_import, world):
    before = timezone.now()
    run_import(KIND, H, [["amartin", "C1", "C", "", ""], ["amartin", "C2", "I", "", ""]])
    a, b = record("C1").status_date, record("C2").status_date
    assert a == b and before <= a <= timezone.now()


@pytest.mark.parametrize(
    "cells,code",
    [
        (["", "C1", "C", "2024-05-10", ""], "missing_value"),
        (["amartin", "", "C", "2024-05-10", ""], "missing_value"),
        (["amartin", "C1", "", "2024-05-10", ""], "missing_value"),
        (["amartin", "C1", "P", "2024-05-10", ""], "invalid_choice"),
        (["amartin", "C1", "C", "10/05/2024", ""], "invalid_date"),
        (["amartin", "C1", "C", "2024-05-10", "someday"], "invalid_date"),
        (["nobody", "C1", "C", "2024-05-10", ""], "user_not_found"),
        (["amartin", "NOPE", "C", "2024-05-10", ""], "course_not_found"),
    ],
)
def test_row_errors_of_the_vendor_table(run_import, world, cells, code):
    rep = run_import(KIND, H, [cells])
    assert results(rep) == [("rejected", code)]
    assert not CourseRecord.objects.exists()


def test_dates_in_the_future_are_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", tomorrow, ""], ["amartin", "C2", "C", "2024-05-10", tomorrow]],
    )
    assert results(rep) == [("rejected", "future_date")] * 2


def test_status_words_are_accepted(run_import, world):
    rep = run_import(
        KIND, H, [["amartin", "C1", "completed", "", ""], ["amartin", "C2", "i", "", ""]]
    )
    assert results(rep) == [("created", "")] * 2
    assert (record("C1").status, record("C2").status) == ("C", "I")


# Users, scope and assignment -------------------------------------------------------------------


def test_user_disabled_is_rejected(run_import, world):
    f.user("gone", disabled=True)
    rep = run_import(KIND, H, [["gone", "C1", "C", "2024-05-10", ""]])
    assert results(rep) == [("rejected", "user_disabled")]


def test_user_not_in_training_is_rejected(run_import, world):
    f.user("office", training_access=False)
    rep = run_import(KIND, H, [["office", "C1", "C", "2024-05-10", ""]])
    assert results(rep) == [("rejected", "user_not_in_training")]


def test_out_of_scope_user_is_rejected(run_import, world):
    gina = f.user("gina", organisation=f.org("A"))
    CourseAssignment.objects.create(user=gina, course=Course.objects.get(code="C1"))
    rep = run_import(
        KIND,
        H,
        [["gina", "C1", "C", "2024-05-10", ""], ["amartin", "C1", "C", "2024-05-10", ""]],
        scope="A",
    )
    assert results(rep) == [("created", ""), ("rejected", "out_of_scope")]


def test_user_not_assigned_to_the_course_is_rejected(run_import, world):
    rep = run_import(KIND, H, [["bdurand", "C1", "C", "2024-05-10", ""]])
    assert results(rep) == [("rejected", "not_assigned")]
    assert "not assigned to course 'C1'" in rep.rows[0]["message"]


def test_assignment_through_a_curriculum_counts(run_import, world):
    bob = User.objects.get(login="bdurand")
    CurriculumAssignment.objects.create(user=bob, curriculum=Curriculum.objects.get(code="CUR-1"))
    rep = run_import(KIND, H, [["bdurand", "C1", "C", "2024-05-10", ""]])
    assert results(rep) == [("created", "")]
    assert not CourseAssignment.objects.filter(user=bob).exists()


def test_assign_if_needed_assigns_from_the_enrolment_date(run_import, world):
    rep = run_import(
        KIND,
        H,
        [["bdurand", "C1", "I", "2024-05-10", "2024-03-01"], ["bdurand", "C2", "N", "", ""]],
        options={"assign_if_needed": "yes"},
    )
    assert results(rep) == [("created", "")] * 2
    a = CourseAssignment.objects.get(user__login="bdurand", course__code="C1")
    assert (a.source, a.start_date, local_day(a.assigned_at)) == (
        "import",
        date(2024, 3, 1),
        "2024-03-01",
    )
    b = CourseAssignment.objects.get(user__login="bdurand", course__code="C2")
    assert (b.source, b.start_date) == ("import", None)


# When a status exists --------------------------------------------------------------------------


def test_when_status_exists_reject_rejects_a_learner_who_has_a_status(run_import, world):
    existing("C1", "I")
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-05-10", ""]],
        options={"when_status_exists": "reject"},
    )
    assert results(rep) == [("rejected", "status_exists")]
    assert "Course C1 already has a status (in progress)" in rep.rows[0]["message"]
    assert record().status == "I"


def test_a_not_started_record_is_no_status_and_takes_the_row(run_import, world):
    existing("C1", "N", None, attempts=0, completion_percent=0, enrolled_date=date(2024, 2, 1))
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-05-10", ""]],
        options={"when_status_exists": "reject"},
    )
    assert results(rep) == [("updated", "")]
    rec = record()
    assert (rec.status, rec.attempts, rec.enrolled_date, rec.source) == (
        "C",
        1,
        date(2024, 2, 1),
        "import",
    )


def test_new_attempt_updates_the_status_and_counts_an_attempt(run_import, world):
    existing("C1", "I", completion_percent=40)
    rep = run_import(KIND, H, [["amartin", "C1", "C", "2024-05-10", "2024-01-15"]])
    assert results(rep) == [("updated", "")]
    rec = record()
    assert (rec.status, local_day(rec.status_date), rec.enrolled_date) == (
        "C",
        "2024-05-10",
        date(2024, 1, 15),
    )
    assert (rec.attempts, rec.completion_percent, rec.source) == (2, 100, "import")


def test_in_progress_again_keeps_the_share_done(run_import, world):
    existing("C1", "I", completion_percent=40)
    rep = run_import(KIND, H, [["amartin", "C1", "I", "2024-05-10", ""]])
    assert results(rep) == [("updated", "")]
    assert (record().completion_percent, record().attempts) == (40, 2)


def test_a_completed_course_taken_back_warns_completion_replaced(run_import, world):
    existing("C1", "C", (2024, 2, 1))
    rep = run_import(KIND, H, [["amartin", "C1", "I", "2024-05-10", ""]])
    assert results(rep) == [("updated", "completion_replaced")]
    assert "completed (2024-02-01)" in rep.rows[0]["message"]
    assert (record().status, record().completion_percent) == ("I", 0)


def test_a_row_that_says_what_the_record_says_is_unchanged(run_import, world):
    existing("C1", "C", (2024, 2, 1), enrolled_date=date(2024, 1, 5))
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-02-01", "2024-01-05"]],
        options={"when_status_exists": "reject"},
    )
    assert results(rep) == [("unchanged", "")]
    # Empty dates say nothing: they match the record's.
    rep = run_import(KIND, H, [["amartin", "C1", "C", "", ""]])
    assert results(rep) == [("unchanged", "")]
    assert record().attempts == 1


def test_duplicate_row_rejects_the_later_row(run_import, world):
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-05-10", ""], ["amartin", "C1", "I", "2024-05-11", ""]],
    )
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]


# Roll-up ---------------------------------------------------------------------------------------


def test_completed_courses_roll_up_to_curricula_and_programmes(run_import, world):
    rep = run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-05-10", ""], ["amartin", "C2", "C", "2024-05-12", ""]],
    )
    assert results(rep) == [("created", "")] * 2
    cur = CurriculumRecord.objects.get(user__login="amartin")
    assert (cur.status, local_day(cur.status_date)) == ("C", "2024-05-12")
    assert ProgrammeRecord.objects.get(user__login="amartin").status == "C"


def test_an_in_progress_course_does_not_roll_up(run_import, world):
    run_import(
        KIND,
        H,
        [["amartin", "C1", "C", "2024-05-10", ""], ["amartin", "C2", "I", "2024-05-12", ""]],
    )
    assert not CurriculumRecord.objects.exists()


# §2 rules: verify-only, idempotence, undo, template -------------------------------------------


def mixed(run_import):
    return run_import.file(
        H,
        [
            ["amartin", "C1", "C", "2024-05-10", "2024-03-01"],
            ["amartin", "C2", "C", "2024-05-12", ""],
            ["bdurand", "C1", "I", "2024-05-10", ""],
            ["amartin", "NOPE", "C", "2024-05-10", ""],
        ],
    )


EXPECTED = [
    ("created", ""),
    ("created", ""),
    ("rejected", "not_assigned"),
    ("rejected", "course_not_found"),
]


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    path = mixed(run_import)
    before = state()
    verified = run_import.run(KIND, path, verify_only=True)
    assert state() == before
    assert verified.operation.status == "verified"
    real = run_import.run(KIND, path)
    assert results(verified) == results(real) == EXPECTED


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = mixed(run_import)
    first = run_import.run(KIND, path)
    assert results(first) == EXPECTED
    after = state()
    second = run_import.run(KIND, path)
    assert results(second) == [("unchanged", "")] * 2 + EXPECTED[2:]
    assert state() == after


def test_undo_restores_the_database(run_import, world):
    existing("C2", "I", enrolled_date=date(2024, 1, 5))
    before = state()
    rep = run_import(
        KIND,
        H,
        [
            ["amartin", "C1", "C", "2024-05-10", "2024-03-01"],
            ["amartin", "C2", "C", "2024-05-12", ""],
            ["bdurand", "C1", "I", "2024-05-10", "2024-03-01"],
        ],
        options={"assign_if_needed": "yes"},
    )
    assert results(rep) == [("created", ""), ("updated", ""), ("created", "")]
    assert state() != before and ProgrammeRecord.objects.exists()
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


@pytest.mark.parametrize("xlsx", [False, True])
def test_template_imports_into_a_database_holding_its_identifiers(db, tmp_path, xlsx):
    alice, bob = f.user("amartin"), f.user("bdurand")
    safe, eth = f.course("SAFE-201"), f.course("ETH-101")
    for u, c in ((bob, safe), (alice, eth)):
        CourseAssignment.objects.create(user=u, course=c)
    path = str(tmp_path / ("t.xlsx" if xlsx else "t.csv"))
    write_template(KIND, path)
    first = engine.run_import(engine.Request(kind=KIND, path=path))
    assert (first.counts["rows"], first.counts["rejected"]) == (len(KINDS[KIND].template), 0)
    again = engine.run_import(engine.Request(kind=KIND, path=path))
    assert again.counts["unchanged"] == again.counts["rows"]


@pytest.mark.parametrize("lane", [True, False], ids=["columnar-lane", "row-path"])
def test_a_status_date_in_the_repeated_autumn_hour_imported_twice_is_unchanged(
    run_import, world, settings, lane
):
    """02:30 on the last Sunday of October happens twice in Paris: read as the first, it is the
    same instant the record holds when the file comes again (Python never finds a time of the
    repeated hour equal to one in another zone, so parsed moments are kept in UTC)."""
    settings.REGISTRAR_COLUMNAR = lane
    rows = [["amartin", "C1", "C", "2024-10-27T02:30:00", ""]]
    assert results(run_import(KIND, H, rows)) == [("created", "")]
    assert results(run_import(KIND, H, rows)) == [("unchanged", "")]
    first = timezone.make_aware(datetime(2024, 10, 27, 2, 30))  # 00:30 UTC
    assert record().status_date.timestamp() == first.timestamp()
