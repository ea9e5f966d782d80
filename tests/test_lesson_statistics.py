"""lesson-statistics import (SPEC §4.10, seed 003): one test per rule."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from registrar.bulk import engine
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.catalogue.models import Course, Lesson, Programme
from registrar.directory.models import User
from registrar.journal.undo import undo
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeAssignment,
    ProgrammeRecord,
)

from . import factories as f

KIND = "lesson-statistics"
H = [
    "user_loginid",
    "crsvname",
    "lsnvname",
    "lnk_type",
    "lesson_status",
    "lesson_status_date",
    "lesson_score",
    "lesson_time",
    "ilt_status",
]


@pytest.fixture
def world(db):
    """amartin assigned to C1 (lessons L1 type L, L2 type A, T1 type T), which is the only
    course of curriculum CUR-1 in programme PRG-1; bdurand assigned nothing."""
    alice = f.user("amartin")
    f.user("bdurand")
    c1 = f.course("C1")
    f.lesson("C1-L1", c1, "L")
    f.lesson("C1-L2", c1, "A")
    f.lesson("C1-T1", c1, "T")
    c2 = f.course("C2")
    f.lesson("C2-L1", c2, "L")
    CourseAssignment.objects.create(user=alice, course=c1)
    cur = f.curriculum("CUR-1", courses=[c1])
    f.programme("PRG-1", curricula=[cur])
    return None


def row(lesson="C1-L1", status="C", date="2024-05-02", score="", time="", ilt="", **kw):
    course = kw.get("course", lesson.split("-")[0])
    kind = kw.get("type", {"L1": "L", "L2": "A", "T1": "T"}.get(lesson.split("-")[-1], "L"))
    return [kw.get("user", "amartin"), course, lesson, kind, status, date, score, time, ilt]


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def local_day(dt) -> str:
    return timezone.localtime(dt).date().isoformat()


def record(lesson="C1-L1", user="amartin") -> LessonRecord:
    return LessonRecord.objects.get(user__login=user, lesson__code=lesson)


def attempts(lesson="C1-L1", user="amartin") -> list[tuple]:
    return list(
        LessonAttempt.objects.filter(record__user__login=user, record__lesson__code=lesson)
        .order_by("number")
        .values_list("number", "status", "score", "time_spent")
    )


def course_record(course="C1", user="amartin") -> CourseRecord | None:
    return CourseRecord.objects.filter(user__login=user, course__code=course).first()


def state() -> dict:
    """Everything this import may write, for before/after comparisons."""
    return {
        m.__name__: sorted(m.objects.values_list(*fields))
        for m, fields in (
            (CourseAssignment, ("user__login", "course__code", "source")),
            (
                LessonRecord,
                ("user__login", "lesson__code", "status", "status_date", "score", "time_spent"),
            ),
            (LessonRecord, ("user__login", "lesson__code", "attempts", "present", "source")),
            (LessonAttempt, ("record__lesson__code", "number", "status", "score", "present")),
            (CourseRecord, ("user__login", "course__code", "status", "status_date", "source")),
            (CurriculumRecord, ("user__login", "curriculum__code", "status")),
            (ProgrammeRecord, ("user__login", "programme__code", "status")),
        )
    }


def existing(lesson="C1-L1", status="P", score="90", date=(2024, 3, 1), time=300, **kw):
    """A record the learner made (source learner) with one attempt."""
    when = timezone.make_aware(datetime(*date))
    rec = LessonRecord.objects.create(
        user=User.objects.get(login=kw.get("user", "amartin")),
        lesson=Lesson.objects.get(code=lesson),
        status=status,
        status_date=when,
        score=Decimal(score) if score else None,
        time_spent=time,
        attempts=1,
        present=kw.get("present"),
    )
    LessonAttempt.objects.create(
        record=rec,
        number=1,
        status=status,
        status_date=when,
        score=rec.score,
        time_spent=time,
        present=kw.get("present"),
    )
    return rec


# The lesson record and its attempt -------------------------------------------------------------


def test_a_first_status_creates_the_lesson_record_and_its_first_attempt(run_import, world):
    rep = run_import(KIND, H, [row("C1-L2", "P", "2024/05/02", "85.5", "600")])
    assert results(rep) == [("created", "")]
    rec = record("C1-L2")
    assert (rec.status, rec.score, rec.time_spent, rec.attempts, rec.source) == (
        "P",
        Decimal("85.5"),
        600,
        1,
        "import",
    )
    assert (local_day(rec.status_date), rec.completion_percent, rec.present) == (
        "2024-05-02",
        100,
        None,
    )
    assert attempts("C1-L2") == [(1, "P", Decimal("85.5"), 600)]
    assert LessonAttempt.objects.get().source == "import"


def test_an_empty_status_date_is_the_moment_the_import_started(run_import, world):
    before = timezone.now()
    run_import(KIND, H, [row("C1-L1", "C", ""), row("C1-L2", "P", "")])
    a, b = record("C1-L1").status_date, record("C1-L2").status_date
    assert a == b and before <= a <= timezone.now()


@pytest.mark.parametrize(
    "cells,code",
    [
        (row(user=""), "missing_value"),
        (row(course=""), "missing_value"),
        (row(lesson="", course="C1"), "missing_value"),
        (row(type=""), "missing_value"),
        (row(status=""), "missing_value"),
        (row(status="X"), "invalid_choice"),
        (row(type="Z"), "invalid_choice"),
        (row(ilt="Y", lesson="C1-T1"), "invalid_choice"),
        (row(date="02/05/2024"), "invalid_date"),
        (row(score="101"), "invalid_number"),
        (row(score="-1"), "invalid_number"),
        (row(score="85.555"), "invalid_number"),
        (row(time="-5"), "invalid_number"),
        (row(time="12.5"), "invalid_number"),
        (row(user="nobody"), "user_not_found"),
        (row(course="NOPE"), "course_not_found"),
        (row(lesson="C1-L9", course="C1"), "lesson_not_found"),
    ],
)
def test_row_errors_of_the_vendor_table(run_import, world, cells, code):
    rep = run_import(KIND, H, [cells])
    assert results(rep) == [("rejected", code)]
    assert not LessonRecord.objects.exists() and not CourseRecord.objects.exists()


def test_status_date_in_the_future_is_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run_import(KIND, H, [row(date=tomorrow)])
    assert results(rep) == [("rejected", "future_date")]


def test_lesson_of_another_course_is_lesson_not_found(run_import, world):
    rep = run_import(KIND, H, [row("C2-L1", course="C1")])
    assert results(rep) == [("rejected", "lesson_not_found")]
    assert "No lesson 'C2-L1' in course 'C1'" in rep.rows[0]["message"]


def test_lnk_type_must_match_the_lesson_type(run_import, world):
    rep = run_import(KIND, H, [row("C1-L1", type="A")])
    assert results(rep) == [("rejected", "lesson_type_mismatch")]
    assert "is of type L, not A" in rep.rows[0]["message"]


def test_lesson_and_status_letters_are_case_insensitive_and_words_are_accepted(run_import, world):
    rep = run_import(KIND, H, [row("C1-L1", "completed", type="l"), row("C1-L2", "p", type="a")])
    assert results(rep) == [("created", "")] * 2
    assert (record("C1-L1").status, record("C1-L2").status) == ("C", "P")


# Users, scope and assignment -------------------------------------------------------------------


def test_user_disabled_is_rejected(run_import, world):
    f.user("gone", disabled=True)
    rep = run_import(KIND, H, [row(user="gone")])
    assert results(rep) == [("rejected", "user_disabled")]


def test_user_not_in_training_is_rejected(run_import, world):
    f.user("office", training_access=False)
    rep = run_import(KIND, H, [row(user="office")])
    assert results(rep) == [("rejected", "user_not_in_training")]


def test_out_of_scope_user_is_rejected(run_import, world):
    a = f.org("A")
    gina = f.user("gina", organisation=a)
    CourseAssignment.objects.create(user=gina, course=Course.objects.get(code="C1"))
    rep = run_import(KIND, H, [row(user="gina"), row(user="amartin")], scope="A")
    assert results(rep) == [("created", ""), ("rejected", "out_of_scope")]


def test_user_not_assigned_to_the_course_is_rejected(run_import, world):
    rep = run_import(KIND, H, [row(user="bdurand")])
    assert results(rep) == [("rejected", "not_assigned")]
    assert not LessonRecord.objects.exists()


def test_assignment_through_a_curriculum_or_programme_counts(run_import, world):
    bob = User.objects.get(login="bdurand")
    ProgrammeAssignment.objects.create(user=bob, programme=Programme.objects.get(code="PRG-1"))
    rep = run_import(KIND, H, [row(user="bdurand")])
    assert results(rep) == [("created", "")]
    assert not CourseAssignment.objects.filter(user=bob).exists()


def test_assign_if_needed_assigns_the_course_with_source_import(run_import, world):
    rep = run_import(
        KIND,
        H,
        [row("C1-L1", user="bdurand"), row("C1-L2", "P", user="bdurand")],
        options={"assign_if_needed": "yes"},
    )
    assert results(rep) == [("created", "")] * 2
    a = CourseAssignment.objects.get(user__login="bdurand")
    assert (a.course.code, a.source) == ("C1", "import")


def test_assign_if_needed_on_a_row_already_recorded_only_assigns(run_import, world):
    existing("C1-L1", "C", "", user="bdurand")
    rep = run_import(
        KIND,
        H,
        [row("C1-L1", "C", "2024-03-01", time="300", user="bdurand")],
        options={"assign_if_needed": "yes"},
    )
    assert results(rep) == [("updated", "")]
    assert CourseAssignment.objects.filter(user__login="bdurand").exists()
    assert attempts("C1-L1", "bdurand") == [(1, "C", None, 300)]


# When a status exists --------------------------------------------------------------------------


def test_when_status_exists_reject_rejects_a_learner_who_has_a_status(run_import, world):
    existing("C1-L1", "I", "")
    rep = run_import(
        KIND, H, [row("C1-L1", "C", "2024-05-02")], options={"when_status_exists": "reject"}
    )
    assert results(rep) == [("rejected", "status_exists")]
    assert "Lesson C1-L1 already has a status (in progress)" in rep.rows[0]["message"]
    assert record().status == "I" and len(attempts()) == 1
    # A row that only repeats what is recorded is no new status: unchanged, not rejected.
    rep = run_import(
        KIND, H, [row("C1-L1", "I", "2024-03-01")], options={"when_status_exists": "reject"}
    )
    assert results(rep) == [("unchanged", "")]


def test_a_not_started_record_is_no_status_and_takes_the_row(run_import, world):
    LessonRecord.objects.create(
        user=User.objects.get(login="amartin"), lesson=Lesson.objects.get(code="C1-L1")
    )
    rep = run_import(
        KIND, H, [row("C1-L1", "C", "2024-05-02")], options={"when_status_exists": "reject"}
    )
    assert results(rep) == [("updated", "")]
    assert (record().status, record().attempts) == ("C", 1)


def test_new_attempt_keeps_the_better_status_on_the_record(run_import, world):
    existing("C1-L2", "P", "90", (2024, 3, 1), 300)
    rep = run_import(KIND, H, [row("C1-L2", "F", "2024-05-02", "40", "200")])
    assert results(rep) == [("updated", "")]
    rec = record("C1-L2")
    # The failed attempt is recorded; the record keeps its pass, adds the time, counts the attempt.
    assert (rec.status, rec.score, local_day(rec.status_date)) == ("P", Decimal("90"), "2024-03-01")
    assert (rec.time_spent, rec.attempts, rec.source) == (500, 2, "learner")
    assert attempts("C1-L2") == [(1, "P", Decimal("90"), 300), (2, "F", Decimal("40"), 200)]


def test_new_attempt_that_is_better_becomes_the_record(run_import, world):
    existing("C1-L2", "P", "60", (2024, 3, 1), 300)
    rep = run_import(KIND, H, [row("C1-L2", "P", "2024-05-02", "95", "100")])
    assert results(rep) == [("updated", "")]
    rec = record("C1-L2")
    assert (rec.status, rec.score, local_day(rec.status_date)) == ("P", Decimal("95"), "2024-05-02")
    assert (rec.time_spent, rec.attempts, rec.source) == (400, 2, "import")


def test_several_attempts_of_a_lesson_in_one_file(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("C1-L2", "F", "2024-05-01", "40", "300"),
            row("C1-L2", "P", "2024-05-03", "80", "250"),
        ],
    )
    assert results(rep) == [("created", ""), ("updated", "")]
    rec = record("C1-L2")
    assert (rec.status, rec.score, rec.time_spent, rec.attempts) == ("P", Decimal("80"), 550, 2)
    assert attempts("C1-L2") == [(1, "F", Decimal("40"), 300), (2, "P", Decimal("80"), 250)]
    again = run_import.run(KIND, run_import.file(H, [row("C1-L2", "F", "2024-05-01", "40", "300")]))
    assert results(again) == [("unchanged", "")]


def test_several_attempts_across_batches_give_the_same_result(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = run_import(
        KIND,
        H,
        [
            row("C1-L2", "F", "2024-05-01", "40", "300"),
            row("C1-L2", "P", "2024-05-03", "80", "250"),
        ],
    )
    assert results(rep) == [("created", ""), ("updated", "")]
    assert attempts("C1-L2") == [(1, "F", Decimal("40"), 300), (2, "P", Decimal("80"), 250)]


def test_a_row_identical_to_a_recorded_attempt_is_unchanged(run_import, world):
    existing("C1-L2", "P", "90", (2024, 3, 1), 300)
    rep = run_import(
        KIND,
        H,
        [
            row("C1-L2", "P", "2024-03-01", "90", "300"),  # every cell as recorded
        ],
    )
    assert results(rep) == [("unchanged", "")]
    # Empty optional cells say nothing: they match whatever is recorded.
    rep = run_import(KIND, H, [row("C1-L2", "P", "", "", "")])
    assert results(rep) == [("unchanged", "")]
    assert len(attempts("C1-L2")) == 1 and record("C1-L2").attempts == 1
    rep = run_import(KIND, H, [row("C1-L2", "P", "2024-03-01", "91", "300")])
    assert results(rep) == [("updated", "")]


def test_a_record_without_attempt_rows_is_compared_as_it_is(run_import, world):
    LessonRecord.objects.create(
        user=User.objects.get(login="amartin"),
        lesson=Lesson.objects.get(code="C1-L1"),
        status="C",
        status_date=timezone.make_aware(datetime(2024, 3, 1)),
        attempts=1,
    )
    rep = run_import(KIND, H, [row("C1-L1", "C", "2024-03-01")])
    assert results(rep) == [("unchanged", "")]
    rep = run_import(KIND, H, [row("C1-L1", "C", "2024-04-01")])
    assert results(rep) == [("updated", "")]
    assert [n for n, *_ in attempts()] == [2]  # numbered after the record's count


def test_duplicate_row_rejects_the_later_row(run_import, world):
    rep = run_import(
        KIND, H, [row("C1-L1", "C", "2024-05-02"), row("C1-L1", "I", "2024-05-02", type="L")]
    )
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]


# Presence --------------------------------------------------------------------------------------


def test_ilt_status_records_presence_on_classroom_lessons(run_import, world):
    rep = run_import(KIND, H, [row("C1-T1", "C", "2024-05-02", ilt="P"), row("C1-L1", "C", ilt="")])
    assert results(rep) == [("created", "")] * 2
    assert (record("C1-T1").present, record("C1-L1").present) == (True, None)
    rep = run_import(KIND, H, [row("C1-T1", "I", "2024-05-03", ilt="A", user="amartin")])
    # An absence after a presence: the attempt says absent, the record keeps the presence.
    assert results(rep) == [("updated", "")]
    assert record("C1-T1").present is True
    assert LessonAttempt.objects.get(number=2, record__lesson__code="C1-T1").present is False


def test_absent_is_accepted_as_a_presence(run_import, world):
    rep = run_import(KIND, H, [row("C1-T1", "N", "2024-05-02", ilt="absent")])
    assert results(rep) == [("created", "")]
    assert record("C1-T1").present is False


def test_ilt_status_on_a_lesson_that_is_not_classroom_is_ignored_with_a_warning(run_import, world):
    rep = run_import(KIND, H, [row("C1-L1", "C", "2024-05-02", ilt="P")])
    assert results(rep) == [("created", "presence_ignored")]
    assert record().present is None
    assert rep.counts["warnings"] == 1


# The course status, recomputed from its lessons ------------------------------------------------


def test_course_is_in_progress_when_a_lesson_is_started(run_import, world):
    rep = run_import(KIND, H, [row("C1-L1", "C", "2024-05-02", time="120")])
    assert results(rep) == [("created", "")]
    c = course_record()
    assert (c.status, local_day(c.status_date), c.completion_percent, c.time_spent) == (
        "I",
        "2024-05-02",
        33,
        120,
    )
    assert c.source == "import"


def test_not_started_lessons_leave_the_course_without_a_record(run_import, world):
    rep = run_import(KIND, H, [row("C1-L1", "N", "2024-05-02")])
    assert results(rep) == [("created", "")]
    assert course_record() is None


def test_course_completed_when_all_lessons_are_completed_or_passed_and_rolls_up(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("C1-L1", "C", "2024-05-02"),
            row("C1-L2", "P", "2024-05-04", "70"),
            row("C1-T1", "C", "2024-05-03", ilt="P"),
        ],
    )
    assert results(rep) == [("created", "")] * 3
    c = course_record()
    assert (c.status, local_day(c.status_date), c.completion_percent) == ("C", "2024-05-04", 100)
    assert CurriculumRecord.objects.get(user__login="amartin").status == "C"
    assert ProgrammeRecord.objects.get(user__login="amartin").status == "C"


def test_roll_up_past_the_pairs_limit_filters_each_side_in_one_batch(
    run_import, world, monkeypatch
):
    """More (user, course) combinations than pairs() lists one by one: the roll-up filters users
    and courses separately, and the batch is applied whole, never row by row."""
    from registrar.core import lookups

    monkeypatch.setattr(lookups, "PAIRS_LIMIT", 0)
    monkeypatch.setattr(engine, "_recover", lambda *a: pytest.fail("the batch failed"))
    rep = run_import(
        KIND,
        H,
        [
            row("C1-L1", "C", "2024-05-02"),
            row("C1-L2", "P", "2024-05-04", "70"),
            row("C1-T1", "C", "2024-05-03", ilt="P"),
        ],
    )
    assert results(rep) == [("created", "")] * 3
    assert CurriculumRecord.objects.get(user__login="amartin").status == "C"
    assert ProgrammeRecord.objects.get(user__login="amartin").status == "C"


def test_a_failed_lesson_keeps_the_course_in_progress(run_import, world):
    rep = run_import(
        KIND,
        H,
        [row("C1-L1", "C"), row("C1-L2", "F", score="30"), row("C1-T1", "C", ilt="P")],
    )
    assert results(rep) == [("created", "")] * 3
    assert course_record().status == "I"


def test_a_disabled_lesson_does_not_hold_the_course_back(run_import, world):
    Lesson.objects.filter(code="C1-T1").update(disabled=True)
    run_import(KIND, H, [row("C1-L1", "C"), row("C1-L2", "P")])
    assert course_record().status == "C"


def test_a_completed_course_is_never_taken_back_by_its_lessons(run_import, world):
    alice = User.objects.get(login="amartin")
    done = timezone.make_aware(datetime(2024, 1, 10))
    CourseRecord.objects.create(
        user=alice,
        course=Course.objects.get(code="C1"),
        status="C",
        status_date=done,
        completion_percent=100,
    )
    rep = run_import(KIND, H, [row("C1-L1", "I", "2024-05-02")])
    assert results(rep) == [("created", "")]
    c = course_record()
    assert (c.status, c.status_date) == ("C", done)


# §2 rules: verify-only, idempotence, undo, template -------------------------------------------


def mixed(run_import):
    return run_import.file(
        H,
        [
            row("C1-L1", "C", "2024-05-02", time="120"),
            row("C1-L2", "F", "2024-05-03", "40", "300"),
            row("C1-L2", "P", "2024-05-04", "80", "300"),
            row("C1-T1", "C", "2024-05-05", ilt="P"),
            row("C1-L1", date="2024-05-06", type="A"),
            row(user="bdurand"),
        ],
    )


EXPECTED = [
    ("created", ""),
    ("created", ""),
    ("updated", ""),
    ("created", ""),
    ("rejected", "lesson_type_mismatch"),
    ("rejected", "not_assigned"),
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
    assert course_record().status == "C"
    after = state()
    second = run_import.run(KIND, path)
    assert results(second) == [("unchanged", "")] * 4 + EXPECTED[4:]
    assert state() == after


def test_undo_restores_the_database(run_import, world):
    existing("C1-L2", "F", "30", (2024, 3, 1), 100)
    before = state()
    rep = run_import(
        KIND,
        H,
        [row("C1-L1", "C"), row("C1-L2", "P", score="75"), row("C1-T1", "C", ilt="P")],
        options={"assign_if_needed": "yes"},
    )
    assert results(rep) == [("created", ""), ("updated", ""), ("created", "")]
    assert state() != before and CurriculumRecord.objects.exists()
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


@pytest.mark.parametrize("xlsx", [False, True])
def test_template_imports_into_a_database_holding_its_identifiers(db, tmp_path, xlsx):
    alice = f.user("amartin")
    safe = f.course("SAFE-201")
    for i, t in enumerate("LLA", 1):
        f.lesson(f"SAFE-201-L{i}", safe, t)
    CourseAssignment.objects.create(user=alice, course=safe)
    path = str(tmp_path / ("t.xlsx" if xlsx else "t.csv"))
    write_template(KIND, path)
    first = engine.run_import(engine.Request(kind=KIND, path=path))
    assert (first.counts["rows"], first.counts["rejected"]) == (len(KINDS[KIND].template), 0)
    assert first.counts["created"] == len(KINDS[KIND].template)
    again = engine.run_import(engine.Request(kind=KIND, path=path))
    assert again.counts["unchanged"] == again.counts["rows"]
