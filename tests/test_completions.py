"""completions import (SPEC §4.1, seed 000): one test per rule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus

from . import factories as f

H = ["course_id", "user_email", "completion_date", "course_title"]


@pytest.fixture
def world(db):
    f.user("alice", email="Alice@Example.com")
    f.course("SAFE-101", "Workplace safety")
    return None


def result(report, n=0):
    row = report.rows[n]
    return row["result"], row["codes"]


def test_completion_creates_completed_record_and_assignment(run_import, world):
    rep = run_import(
        "completions", H, [["SAFE-101", "alice@example.com", "2024-06-15", "Workplace safety"]]
    )
    assert result(rep) == ("created", "")
    rec = CourseRecord.objects.get(user__login="alice", course__code="SAFE-101")
    assert (rec.status, rec.completion_percent, rec.source, rec.score) == (
        CourseStatus.COMPLETED,
        100,
        "import",
        None,
    )
    assert timezone.localtime(rec.status_date).date().isoformat() == "2024-06-15"
    assert CourseAssignment.objects.filter(
        user__login="alice", course__code="SAFE-101", source="import"
    ).exists()


def test_email_is_compared_case_insensitively(run_import, world):
    rep = run_import("completions", H, [["SAFE-101", "ALICE@EXAMPLE.COM", "2024-06-15", ""]])
    assert result(rep) == ("created", "")


@pytest.mark.parametrize(
    "row,code",
    [
        (["", "alice@example.com", "2024-06-15", ""], "missing_value"),
        (["SAFE-101", "", "2024-06-15", ""], "missing_value"),
        (["SAFE-101", "alice@example.com", "", ""], "missing_value"),
        (["SAFE-101", "alice@example.com", "15/06/2024", ""], "invalid_date"),
        (["SAFE-101", "not-an-email", "2024-06-15", ""], "invalid_email"),
        (["NOPE", "alice@example.com", "2024-06-15", ""], "course_not_found"),
        (["SAFE-101", "alice@example.com", "2024-06-15", "Other title"], "course_title_mismatch"),
        (["SAFE-101", "nobody@example.com", "2024-06-15", ""], "user_not_found"),
    ],
)
def test_row_errors_of_the_vendor_table(run_import, world, row, code):
    rep = run_import("completions", H, [row])
    assert result(rep) == ("rejected", code)
    assert rep.counts["rejected"] == 1
    assert not CourseRecord.objects.exists()


def test_future_completion_date_is_rejected(run_import, world):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    rep = run_import("completions", H, [["SAFE-101", "alice@example.com", tomorrow, ""]])
    assert result(rep) == ("rejected", "future_date")


def test_iso_datetime_with_offset_and_slash_dates_are_accepted(run_import, world):
    f.course("SAFE-102")
    rep = run_import(
        "completions",
        H,
        [
            ["SAFE-101", "alice@example.com", "2024-06-15T14:30:00+10:00", ""],
            ["SAFE-102", "alice@example.com", "2024/06/15", ""],
        ],
    )
    assert [r["result"] for r in rep.rows] == ["created", "created"]
    rec = CourseRecord.objects.get(course__code="SAFE-101")
    assert rec.status_date.isoformat().startswith("2024-06-15T04:30:00")


def test_course_not_published_is_rejected(run_import, world):
    f.course("DRAFT", published=False)
    rep = run_import("completions", H, [["DRAFT", "alice@example.com", "2024-06-15", ""]])
    assert result(rep) == ("rejected", "course_not_published")


def test_user_disabled_is_rejected(run_import, world):
    f.user("bob", disabled=True)
    rep = run_import("completions", H, [["SAFE-101", "bob@example.com", "2024-06-15", ""]])
    assert result(rep) == ("rejected", "user_disabled")


def test_user_not_in_training_is_rejected(run_import, world):
    f.user("carol", training_access=False)
    rep = run_import("completions", H, [["SAFE-101", "carol@example.com", "2024-06-15", ""]])
    assert result(rep) == ("rejected", "user_not_in_training")


def test_email_shared_by_two_users_is_ambiguous(run_import, world):
    f.user("dave1", email="dave@example.com")
    f.user("dave2", email="DAVE@example.com")
    rep = run_import("completions", H, [["SAFE-101", "dave@example.com", "2024-06-15", ""]])
    assert result(rep) == ("rejected", "ambiguous_user")


def test_existing_progress_is_skipped_and_left_unchanged(run_import, world):
    alice = f.user("erin")
    rec = CourseRecord.objects.create(
        user=alice, course_id=f.course("C2").pk, status="I", completion_percent=40
    )
    rep = run_import("completions", H, [["C2", "erin@example.com", "2024-06-15", ""]])
    assert result(rep) == ("skipped", "existing_progress")
    rec.refresh_from_db()
    assert (rec.status, rec.completion_percent) == ("I", 40)


def test_not_started_record_is_completed(run_import, world):
    u = f.user("fred")
    rec = CourseRecord.objects.create(user=u, course=f.course("C3"), status="N")
    rep = run_import("completions", H, [["C3", "fred@example.com", "2024-06-15", ""]])
    assert result(rep) == ("updated", "")
    rec.refresh_from_db()
    assert rec.status == "C"


def test_duplicate_row_rejects_the_later_row(run_import, world):
    rep = run_import(
        "completions",
        H,
        [
            ["SAFE-101", "alice@example.com", "2024-06-15", ""],
            ["safe-101", "ALICE@example.com", "2024-06-16", ""],
        ],
    )
    assert [result(rep, i) for i in (0, 1)] == [("created", ""), ("rejected", "duplicate_row")]


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = run_import.file(
        H,
        [
            ["SAFE-101", "alice@example.com", "2024-06-15", ""],
            ["NOPE", "alice@example.com", "2024-06-15", ""],
        ],
    )
    first = run_import.run("completions", path)
    second = run_import.run("completions", path)
    assert [r["result"] for r in first.rows] == ["created", "rejected"]
    assert [(r["result"], r["codes"]) for r in second.rows] == [
        ("skipped", "existing_progress"),
        ("rejected", "course_not_found"),
    ]
    assert CourseRecord.objects.count() == 1


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    path = run_import.file(
        H,
        [
            ["SAFE-101", "alice@example.com", "2024-06-15", ""],
            ["NOPE", "alice@example.com", "2024-06-15", ""],
        ],
    )
    verified = run_import.run("completions", path, verify_only=True)
    assert not CourseRecord.objects.exists() and not CourseAssignment.objects.exists()
    real = run_import.run("completions", path)
    assert [(r["result"], r["codes"]) for r in verified.rows] == [
        (r["result"], r["codes"]) for r in real.rows
    ]


def test_out_of_scope_user_is_rejected(run_import, world):
    a = f.org("A")
    f.org("B")
    f.user("gina", organisation=a)
    rep = run_import(
        "completions",
        H,
        [
            ["SAFE-101", "gina@example.com", "2024-06-15", ""],
            ["SAFE-101", "alice@example.com", "2024-06-15", ""],
        ],
        scope="A",
    )
    assert [result(rep, i) for i in (0, 1)] == [("created", ""), ("rejected", "out_of_scope")]


def test_completions_roll_up_to_curricula_and_programmes(run_import, world):
    """Issue 11's defect: after completing a curriculum's only course there was no curriculum
    record. Completions now go through the verb that rolls up (learning.progress)."""
    from registrar.catalogue.models import Course
    from registrar.journal.undo import undo
    from registrar.learning.models import CurriculumRecord, ProgrammeRecord

    safe = Course.objects.get(code="SAFE-101")
    cur = f.curriculum("CUR-1", courses=[safe])
    prog = f.programme("PROG-1", curricula=[cur])
    rep = run_import("completions", H, [["SAFE-101", "alice@example.com", "2024-06-15", ""]])
    assert rep.rows[0]["result"] == "created"
    c = CurriculumRecord.objects.get(curriculum=cur)
    p = ProgrammeRecord.objects.get(programme=prog)
    assert (c.status, p.status) == (CourseStatus.COMPLETED, CourseStatus.COMPLETED)
    assert timezone.localtime(c.status_date).date().isoformat() == "2024-06-15"
    undo(rep.operation.pk)
    assert not CurriculumRecord.objects.exists() and not ProgrammeRecord.objects.exists()
