"""The columnar lane for course-assignments (SPEC §4.8): the same results, codes, messages and
writes as the row path, whatever the file holds."""

from datetime import datetime

import pytest
from django.utils import timezone

from registrar.bulk.imports.course_assignments import CourseAssignments
from registrar.catalogue.models import ClassroomSession
from registrar.directory.models import Audience, Organisation, UserAudience
from registrar.learning.models import CourseAssignment, Seat

from . import columnar_fixtures
from . import factories as f

H = [
    "user_loginid",
    "crsvname",
    "start_date",
    "end_date",
    "target_date",
    "session_extid",
    "assignment_option",
    "billing_mode",
    "billing_code",
    "unit_cost",
    "session_status",
]


@pytest.fixture
def messy(db):
    """Learners, courses, audiences and a session for every case the plan knows, and a file."""
    other = Organisation.objects.create(extid="FAR", label="Far away")
    people = {
        name: f.user(name, **kw)
        for name, kw in (
            ("alice", {}),
            ("bob", {}),
            ("carol", {"disabled": True}),
            ("dan", {"training_access": False}),
            ("gina", {"organisation": other}),
            ("hugo", {}),
            ("ines", {}),
        )
    }
    a, b = f.course("A"), f.course("B")
    f.course("U", published=False)  # unpublished courses can be assigned
    lead = f.course("LEAD")
    managers = Audience.objects.create(name="Managers")
    lead.audiences.add(managers, through_defaults={})
    UserAudience.objects.create(user=people["alice"], audience=managers)
    ClassroomSession.objects.create(
        course=b,
        extid="B-S1",
        start=timezone.make_aware(datetime(2030, 3, 4, 9, 30)),
        max_participants=10,
    )
    CourseAssignment.objects.create(user=people["hugo"], course=a, option="mandatory")
    return [
        ["alice", "A", "2025-01-06", "2025-12-31", "2025/03/31", "", "M", "By Course", "PO-1",
         "350.00", ""],
        ["alice", "B", "", "", "", "", "", "", "", "", ""],  # every default
        ["alice", "U", "2025-01-06", "", "", "", "recommandé", "hour", "", "12,5", ""],
        ["alice", "LEAD", "", "", "", "", "free", "", "", "", ""],  # in the audience
        ["bob", "LEAD", "", "", "", "", "free", "", "", "", ""],  # not in it
        ["bob", "A", "2025-02-01", "2025-01-01", "", "", "", "", "", "", ""],  # date order
        ["bob", "B", "", "", "", "B-S1", "", "", "", "", ""],  # a seat: the row path
        ["bob", "U", "", "", "", "", "", "", "", "", "waiting"],  # a status without a session
        ["BOB", "A", "", "", "", "", "", "", "", "", ""],  # logins are matched exactly
        ["bob", "a", "", "", "", "", "", "", "", "", ""],  # so are codes
        ["alice", "A", "", "", "", "", "", "", "", "", ""],  # duplicate key
        ["carol", "A", "", "", "", "", "", "", "", "", ""],  # disabled
        ["dan", "A", "", "", "", "", "", "", "", "", ""],  # no training access
        ["gina", "A", "", "", "", "", "", "", "", "", ""],  # out of a scope
        ["hugo", "A", "", "", "", "", "M", "", "", "", ""],  # assigned already: unchanged
        ["hugo", "B", "", "", "", "", "X", "", "", "", ""],  # not an option
        ["nobody", "A", "", "", "", "", "", "", "", "", ""],
        ["ines", "NOPE", "", "", "", "", "", "", "", "", ""],
        ["ines", "A", "", "", "2025-13-01", "", "", "", "", "", ""],  # not a date
        ["ines", "B", "", "", "", "", "", "", "", "-3", ""],  # a negative cost
        ["=cmd|' /C calc'!A0", "B", "", "", "", "", "", "", "", "", ""],  # a formula
        ["ines", "U"],  # short
        ["ines", "LEAD", "2025-01-06", "", "2025-01-06", "", "", "", "", "", ""],
    ]  # fmt: skip


def state():
    """Every assignment with its values, and every seat."""
    out = list(
        CourseAssignment.objects.values_list(
            "user__login",
            "course__code",
            "option",
            "start_date",
            "target_date",
            "end_date",
            "billing_mode",
            "billing_code",
            "unit_cost",
            "source",
            "tutors_id",
        )
    )
    out += Seat.objects.values_list("user__login", "session__extid", "status")
    return sorted(out, key=str)


def run_both(run_import, rows, monkeypatch, bulk_rows=3, **kw):
    """The file through the lane, undone, then through the row path."""
    return columnar_fixtures.run_both(
        run_import, monkeypatch, CourseAssignments, H, rows, state, bulk_rows, **kw
    )


@pytest.mark.parametrize(
    "options",
    [None, {"respect_audiences": "no"}, {"update_existing": "yes"}],
    ids=["defaults", "audiences-ignored", "update-existing"],
)
def test_the_course_assignments_lane_gives_the_row_paths_results_and_writes(
    run_import, messy, monkeypatch, options
):
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, options=options)
    )
    by = {(r["user_loginid"], r["crsvname"]): r for r in lane_rows}
    assert by[("alice", "B")]["result"] == "created"
    assert by[("bob", "A")]["codes"] == "date_order"
    assert ("alice", "B", "free", None, None, None, "", "", None, "import", None) in after_lane
    expected = "created" if options == {"respect_audiences": "no"} else "rejected"
    assert by[("bob", "LEAD")]["result"] == expected


def test_the_course_assignments_lane_keeps_the_scope(run_import, messy, monkeypatch):
    lane_rows, _ = columnar_fixtures.same(run_both(run_import, messy, monkeypatch, scope="ORG"))
    gina = [r for r in lane_rows if r["user_loginid"] == "gina"][0]
    assert gina["codes"] == "out_of_scope"


def test_the_course_assignments_lane_across_batches(run_import, messy, monkeypatch, settings):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 4
    settings.REGISTRAR_BATCH_SIZE = 4
    columnar_fixtures.same(run_both(run_import, messy, monkeypatch, bulk_rows=2))
