"""The columnar lane for course-statistics (SPEC §4.11): the same results, codes, messages and
writes as the row path, whatever the file holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registrar.bulk.imports.course_statistics import CourseStatistics
from registrar.directory.models import Organisation
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CourseStatus,
    CurriculumAssignment,
    CurriculumRecord,
    ProgrammeRecord,
)

from . import columnar_fixtures
from . import factories as f

H = ["user_loginid", "crsvname", "course_status", "course_status_date", "course_enrollment_date"]


@pytest.fixture
def messy(db):
    """Learners and courses for every case the course-statistics plan knows, and a file."""
    other = Organisation.objects.create(extid="FAR", label="Far away")
    learners = {
        name: f.user(name, **kw)
        for name, kw in (
            ("alice", {}),
            ("bob", {}),
            ("carol", {"disabled": True}),
            ("dan", {"training_access": False}),
            ("gina", {"organisation": other}),
            ("hugo", {}),
            ("ines", {}),
            ("jo", {}),
        )
    }
    f.user("kim")  # assigned nothing
    a, b = f.course("A"), f.course("B")
    f.course("C")  # nobody is assigned to it
    j = f.curriculum("J", courses=[a, b])
    f.programme("P", curricula=[j])
    for u in learners.values():
        for course in (a, b):
            CourseAssignment.objects.create(user=u, course=course)
    CurriculumAssignment.objects.create(user=learners["jo"], curriculum=j)
    CourseRecord.objects.create(
        user=learners["hugo"], course=a, status=CourseStatus.IN_PROGRESS, completion_percent=40
    )
    CourseRecord.objects.create(
        user=learners["ines"],
        course=a,
        status=CourseStatus.COMPLETED,
        status_date=timezone.now() - timedelta(days=40),
        completion_percent=100,
    )
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    return [
        ["alice", "A", "C", "2024/04/20", "2024/03/01"],
        ["alice", "B", "C", "2024-04-21T10:00:00", ""],  # finishes J, then P
        ["bob", "A", "I", "2024/05/10", ""],
        ["bob", "B", "N", "", ""],
        ["BOB", "A", "C", "2024/05/11", ""],  # logins are matched exactly
        ["bob", "a", "C", "2024/05/11", ""],  # so are codes
        ["bob", "A", "C", "2024/05/12", ""],  # duplicate key
        ["bob", "C", "C", "2024/05/12", ""],  # not assigned
        ["carol", "A", "C", "2024/04/20", ""],  # disabled
        ["dan", "A", "C", "2024/04/20", ""],  # no training access
        ["gina", "A", "C", "2024/04/20", ""],  # out of a scope
        ["hugo", "A", "C", "2024/04/20", ""],  # a status already: a new attempt
        ["hugo", "B", "completed", "", "2024/03/01"],  # the import's moment
        ["ines", "A", "C", "", ""],  # completed already: unchanged
        ["ines", "B", "I", "2024/04/20", ""],
        ["jo", "A", "C", "2024/04/20", ""],  # assigned through the curriculum too
        ["kim", "A", "C", "2024/04/20", ""],  # not assigned
        ["nobody", "A", "C", "2024/04/20", ""],
        ["jo", "B", "X", "2024/04/20", ""],
        ["jo", "B", "C", tomorrow, ""],  # in the future
        ["jo", "B", "C", "20/04/2024", ""],
        ["jo", "B", "C", "2024/04/20", tomorrow],
        ["=cmd|' /C calc'!A0", "B", "C", "2024/04/20", ""],  # a formula
        ["jo", "B"],  # short
        ["jo", "B", "C", "2024/04/20", ""],
    ]


def state():
    """Every record and assignment, the import's moment shown as such."""
    recent = timezone.now() - timedelta(hours=1)
    out = []
    for model, field, more in (
        (CourseRecord, "course__code", ("attempts", "completion_percent", "enrolled_date")),
        (CurriculumRecord, "curriculum__code", ()),
        (ProgrammeRecord, "programme__code", ()),
    ):
        for login, code, status, when, *rest in model.objects.values_list(
            "user__login", field, "status", "status_date", *more
        ):
            out.append((login, code, status, "now" if when and when > recent else when, *rest))
    out += CourseAssignment.objects.values_list("user__login", "course__code", "source")
    return sorted(out, key=str)


def run_both(run_import, rows, monkeypatch, bulk_rows=3, **kw):
    """The file through the lane, undone, then through the row path."""
    return columnar_fixtures.run_both(
        run_import, monkeypatch, CourseStatistics, H, rows, state, bulk_rows, **kw
    )


@pytest.mark.parametrize(
    "options",
    [None, {"when_status_exists": "reject"}, {"assign_if_needed": "true"}],
    ids=["defaults", "reject", "assign-if-needed"],
)
def test_the_course_statistics_lane_gives_the_row_paths_results_and_writes(
    run_import, messy, monkeypatch, options
):
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, options=options)
    )
    assert ("alice", "J", "C", "2024-04-21") in {
        (x[0], x[1], x[2], timezone.localtime(x[3]).date().isoformat())
        for x in after_lane
        if len(x) > 3 and hasattr(x[3], "tzinfo")
    }


def test_the_course_statistics_lane_keeps_the_scope(run_import, messy, monkeypatch):
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, scope="ORG")
    )
    gina = [r for r in lane_rows if r["user_loginid"] == "gina"][0]
    assert gina["codes"] == "out_of_scope"


def test_the_course_statistics_lane_across_batches(run_import, messy, monkeypatch, settings):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 4
    settings.REGISTRAR_BATCH_SIZE = 4
    lane_rows, after_lane = columnar_fixtures.same(run_both(run_import, messy, monkeypatch))
