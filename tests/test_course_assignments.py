"""course-assignments import (SPEC §4.8, seed 003): one test per rule."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from registrar.bulk import engine
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.catalogue.models import ClassroomSession
from registrar.directory.models import Audience, User, UserAudience
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment, Seat

from . import factories as f

KIND = "course-assignments"
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


def row(user, course, start="", end="", target="", session="", option="", **kw) -> list[str]:
    extra = [kw.get(k, "") for k in ("billing_mode", "billing_code", "unit_cost", "status")]
    return [user, course, start, end, target, session, option, *extra]


def session(extid: str, course, max_participants: int = 12, waiting_list: bool = False):
    return ClassroomSession.objects.create(
        course=course,
        extid=extid,
        start=timezone.make_aware(datetime(2030, 3, 4, 9, 30)),
        max_participants=max_participants,
        waiting_list=waiting_list,
    )


@pytest.fixture
def world(db):
    amartin = f.user("amartin", email="alice.martin@example.com")
    f.user("bdurand", email="bob.durand@example.com")
    f.user("cleroy")
    safe = f.course("SAFE-101", "Workplace safety")
    f.course("SAFE-102", "Manual handling")
    aid = f.course("AID-201", "First aid at work")
    session("AID-201-S1", aid, max_participants=2)
    managers = Audience.objects.create(name="Managers")
    lead = f.course("LEAD-101", "The manager's role")
    lead.audiences.add(managers, through_defaults={})
    UserAudience.objects.create(user=amartin, audience=managers)
    return {"amartin": amartin, "safe": safe, "aid": aid, "lead": lead}


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def state() -> dict:
    """Everything this import may write, for before/after comparisons."""
    return {
        "assignments": sorted(
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
            )
        ),
        "seats": sorted(Seat.objects.values_list("user__login", "session__extid", "status")),
    }


def assignment(login: str, code: str) -> CourseAssignment:
    return CourseAssignment.objects.get(user__login=login, course__code=code)


# Creating assignments ---------------------------------------------------------------------------


def test_row_creates_an_assignment_with_dates_option_billing_and_source_import(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row(
                "amartin",
                "SAFE-101",
                "2025-01-06",
                "2025/12/31",
                "2025-03-31",
                option="mandatory",
                billing_mode="By Course",
                billing_code="PO-14",
                unit_cost="350,5",
            )
        ],
    )
    assert results(rep) == [("created", "")]
    a = assignment("amartin", "SAFE-101")
    assert (a.start_date, a.end_date, a.target_date) == (
        date(2025, 1, 6),
        date(2025, 12, 31),
        date(2025, 3, 31),
    )
    assert (a.option, a.billing_mode, a.billing_code, a.unit_cost, a.source) == (
        "mandatory",
        "course",
        "PO-14",
        Decimal("350.50"),
        "import",
    )
    assert a.assigned_at is not None


def test_only_the_two_identifiers_are_required_and_option_defaults_to_free(run_import, world):
    rep = run_import(KIND, ["user_loginid", "crsvname"], [["amartin", "SAFE-101"]])
    assert results(rep) == [("created", "")]
    a = assignment("amartin", "SAFE-101")
    assert (a.option, a.start_date, a.billing_mode, a.unit_cost) == ("free", None, "", None)


@pytest.mark.parametrize(
    "given, stored",
    [
        ("free", "free"),
        ("F", "free"),
        ("Libre", "free"),
        ("recommended", "recommended"),
        ("r", "recommended"),
        ("Recommandé", "recommended"),
        ("MANDATORY", "mandatory"),
        ("M", "mandatory"),
        ("obligatoire", "mandatory"),
    ],
)
def test_assignment_option_accepts_words_letters_and_french(run_import, world, given, stored):
    rep = run_import(KIND, H, [row("amartin", "SAFE-101", option=given)])
    assert results(rep) == [("created", "")]
    assert assignment("amartin", "SAFE-101").option == stored


@pytest.mark.parametrize(
    "given, stored",
    [
        ("By Course", "course"),
        ("by hour", "hour"),
        ("Not Billed", "none"),
        ("Prepaid Account", "prepaid"),
        ("prepaid", "prepaid"),
        ("non facturé", "none"),
    ],
)
def test_billing_mode_accepts_the_vendors_labels(run_import, world, given, stored):
    rep = run_import(KIND, H, [row("amartin", "SAFE-101", billing_mode=given)])
    assert results(rep) == [("created", "")]
    assert assignment("amartin", "SAFE-101").billing_mode == stored


def test_invalid_values_are_rejected_with_their_column(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "SAFE-101", option="sometimes"),
            row("bdurand", "SAFE-101", billing_mode="barter"),
            row("cleroy", "SAFE-101", unit_cost="-3"),
            row("amartin", "SAFE-102", start="31/12/2025"),
        ],
    )
    assert results(rep) == [
        ("rejected", "invalid_choice"),
        ("rejected", "invalid_choice"),
        ("rejected", "invalid_number"),
        ("rejected", "invalid_date"),
    ]
    assert "assignment_option" in rep.rows[0]["message"]
    assert not CourseAssignment.objects.exists()


def test_missing_identifiers_are_missing_value(run_import, world):
    rep = run_import(KIND, H, [row("", "SAFE-101"), row("amartin", "")])
    assert results(rep) == [("rejected", "missing_value"), ("rejected", "missing_value")]


# References ------------------------------------------------------------------------------------


def test_unknown_user_is_user_not_found(run_import, world):
    rep = run_import(KIND, H, [row("nobody", "SAFE-101")])
    assert results(rep) == [("rejected", "user_not_found")]
    assert "nobody" in rep.rows[0]["message"]


def test_unknown_course_is_course_not_found(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "NOPE-1")])
    assert results(rep) == [("rejected", "course_not_found")]
    assert "NOPE-1" in rep.rows[0]["message"]


def test_disabled_untrained_and_out_of_scope_users_are_rejected(run_import, world):
    f.user("gone", disabled=True)
    f.user("notrain", training_access=False)
    f.user("elsewhere", organisation=f.org("OTHER"))
    rep = run_import(
        KIND,
        H,
        [row("gone", "SAFE-101"), row("notrain", "SAFE-101"), row("elsewhere", "SAFE-101")],
        scope="ORG",
    )
    assert results(rep) == [
        ("rejected", "user_disabled"),
        ("rejected", "user_not_in_training"),
        ("rejected", "out_of_scope"),
    ]


def test_unpublished_courses_can_be_assigned(run_import, world):
    f.course("DRAFT-1", published=False)
    rep = run_import(KIND, H, [row("amartin", "DRAFT-1")])
    assert results(rep) == [("created", "")]


# Dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, target, first, second",
    [
        ("2025-06-01", "2025-05-01", "", "start_date", "end_date"),
        ("2025-06-01", "", "2025-05-01", "start_date", "target_date"),
        ("", "2025-05-01", "2025-06-01", "target_date", "end_date"),
    ],
)
def test_dates_must_run_start_target_end_date_order(
    run_import, world, start, end, target, first, second
):
    rep = run_import(KIND, H, [row("amartin", "SAFE-101", start, end, target)])
    assert results(rep) == [("rejected", "date_order")]
    message = rep.rows[0]["message"]
    assert f"{first} " in message and f"is after {second}" in message
    assert not CourseAssignment.objects.exists()


def test_equal_dates_and_dates_in_the_past_or_future_are_accepted(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "SAFE-101", "2025-03-01", "2025-03-01", "2025-03-01"),
            row("bdurand", "SAFE-101", "2001-01-01", "2099-12-31", "2050-01-01"),
        ],
    )
    assert results(rep) == [("created", ""), ("created", "")]


# Existing assignments: update_existing ---------------------------------------------------------


def test_existing_assignment_is_skipped_already_assigned_by_default(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["safe"], start_date=date(2024, 1, 1), source="action"
    )
    before = state()
    rep = run_import(KIND, H, [row("amartin", "SAFE-101", "2025-01-06", option="M")])
    assert results(rep) == [("skipped", "already_assigned")]
    assert "SAFE-101" in rep.rows[0]["message"]
    assert state() == before


def test_existing_assignment_that_says_the_same_is_unchanged(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["safe"], start_date=date(2025, 1, 6), option="mandatory"
    )
    rep = run_import(
        KIND, H, [row("amartin", "SAFE-101", "2025-01-06", option="M"), row("amartin", "SAFE-101")]
    )
    # the second row is the same user and course again: the engine's duplicate check
    assert results(rep) == [("unchanged", ""), ("rejected", "duplicate_row")]


def test_update_existing_changes_the_given_values_and_keeps_empty_cells(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"],
        course=world["safe"],
        start_date=date(2025, 1, 6),
        end_date=date(2025, 12, 31),
        billing_code="OLD",
        source="action",
    )
    rep = run_import(
        KIND,
        H,
        [row("amartin", "SAFE-101", target="2025-04-30", option="R", billing_code="NEW")],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("updated", "")]
    a = assignment("amartin", "SAFE-101")
    assert (a.start_date, a.target_date, a.end_date, a.option, a.billing_code, a.source) == (
        date(2025, 1, 6),
        date(2025, 4, 30),
        date(2025, 12, 31),
        "recommended",
        "NEW",
        "action",  # how it was assigned first stays
    )


def test_update_existing_checks_the_dates_against_the_assignments_own(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["safe"], start_date=date(2025, 6, 1)
    )
    rep = run_import(
        KIND, H, [row("amartin", "SAFE-101", end="2025-05-01")], options={"update_existing": "yes"}
    )
    assert results(rep) == [("rejected", "date_order")]
    assert "current dates" in rep.rows[0]["message"]
    assert assignment("amartin", "SAFE-101").end_date is None


# Audiences --------------------------------------------------------------------------------------


def test_respect_audiences_rejects_a_user_in_none_of_the_courses_audiences(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "LEAD-101"), row("bdurand", "LEAD-101")])
    assert results(rep) == [("created", ""), ("rejected", "audience_mismatch")]
    assert "LEAD-101" in rep.rows[1]["message"]


def test_respect_audiences_no_assigns_whatever_the_audiences(run_import, world):
    rep = run_import(KIND, H, [row("bdurand", "LEAD-101")], options={"respect_audiences": "no"})
    assert results(rep) == [("created", "")]


def test_audiences_are_not_checked_when_updating_an_existing_assignment(run_import, world):
    bob = User.objects.get(login="bdurand")
    CourseAssignment.objects.create(user=bob, course=world["lead"])
    rep = run_import(
        KIND,
        H,
        [row("bdurand", "LEAD-101", target="2025-05-01")],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("updated", "")]


# Classroom sessions -----------------------------------------------------------------------------


def test_session_extid_books_a_seat_in_the_courses_session(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "AID-201", session="AID-201-S1")])
    assert results(rep) == [("created", "")]
    assert assignment("amartin", "AID-201").source == "import"
    seat = Seat.objects.get()
    assert (seat.user.login, seat.session.extid, seat.status) == ("amartin", "AID-201-S1", "booked")


@pytest.mark.parametrize(
    "given, stored",
    [("waiting", "waiting"), ("Présent", "attended"), ("absent", "absent"), ("inscrit", "booked")],
)
def test_session_status_sets_the_seats_status(run_import, world, given, stored):
    rep = run_import(KIND, H, [row("amartin", "AID-201", session="AID-201-S1", status=given)])
    assert results(rep) == [("created", "")]
    assert Seat.objects.get().status == stored


def test_unknown_session_is_session_not_found(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "AID-201", session="NOPE-S1")])
    assert results(rep) == [("rejected", "session_not_found")]
    assert not CourseAssignment.objects.exists()


def test_a_session_of_another_course_is_rejected(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "SAFE-101", session="AID-201-S1")])
    assert results(rep) == [("rejected", "session_course_mismatch")]
    assert "AID-201" in rep.rows[0]["message"] and "SAFE-101" in rep.rows[0]["message"]
    assert not CourseAssignment.objects.exists() and not Seat.objects.exists()


def test_session_status_without_a_session_is_missing_value(run_import, world):
    rep = run_import(KIND, H, [row("amartin", "AID-201", status="booked")])
    assert results(rep) == [("rejected", "missing_value")]
    assert "session_extid" in rep.rows[0]["message"]


def test_a_full_session_without_waiting_list_is_session_full(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "AID-201", session="AID-201-S1"),
            row("bdurand", "AID-201", session="AID-201-S1"),
            row("cleroy", "AID-201", session="AID-201-S1"),  # 2 places
        ],
    )
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "session_full")]
    assert Seat.objects.count() == 2
    assert not CourseAssignment.objects.filter(user__login="cleroy").exists()


def test_places_are_counted_across_batches(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    test_a_full_session_without_waiting_list_is_session_full(run_import, world)


def test_a_waiting_seat_takes_no_place(run_import, world):
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "AID-201", session="AID-201-S1", status="waiting"),
            row("bdurand", "AID-201", session="AID-201-S1"),
            row("cleroy", "AID-201", session="AID-201-S1"),
        ],
    )
    assert results(rep) == [("created", "")] * 3


def test_a_full_session_with_a_waiting_list_puts_the_user_on_it(run_import, world):
    s = session("AID-201-S2", world["aid"], max_participants=1, waiting_list=True)
    Seat.objects.create(session=s, user=world["amartin"])
    rep = run_import(KIND, H, [row("bdurand", "AID-201", session="AID-201-S2")])
    assert results(rep) == [("created", "session_waiting_list")]
    assert Seat.objects.get(user__login="bdurand").status == "waiting"


def test_attendance_is_recorded_in_a_full_session(run_import, world):
    s = ClassroomSession.objects.get(extid="AID-201-S1")
    for login in ("bdurand", "cleroy"):
        Seat.objects.create(session=s, user=User.objects.get(login=login))
    rep = run_import(KIND, H, [row("amartin", "AID-201", session="AID-201-S1", status="attended")])
    assert results(rep) == [("created", "")]
    assert Seat.objects.get(user__login="amartin").status == "attended"


def test_a_capacity_of_zero_means_no_limit(run_import, world):
    session("AID-201-S0", world["aid"], max_participants=0)
    rep = run_import(
        KIND,
        H,
        [row(u, "AID-201", session="AID-201-S0") for u in ("amartin", "bdurand", "cleroy")],
    )
    assert results(rep) == [("created", "")] * 3


def test_booking_an_assigned_user_needs_update_existing(run_import, world):
    CourseAssignment.objects.create(user=world["amartin"], course=world["aid"])
    path = run_import.file(H, [row("amartin", "AID-201", session="AID-201-S1")])
    assert results(run_import.run(KIND, path)) == [("skipped", "already_assigned")]
    assert not Seat.objects.exists()
    rep = run_import.run(KIND, path, options={"update_existing": "yes"})
    assert results(rep) == [("updated", "")]
    assert Seat.objects.get().status == "booked"


def test_update_existing_changes_the_seats_status(run_import, world):
    CourseAssignment.objects.create(user=world["amartin"], course=world["aid"])
    s = ClassroomSession.objects.get(extid="AID-201-S1")
    Seat.objects.create(session=s, user=world["amartin"])
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "AID-201", session="AID-201-S1", status="attended"),
        ],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("updated", "")]
    assert Seat.objects.get().status == "attended"


# §2 rules: verify-only, idempotence, undo, template ---------------------------------------------


def mixed_file(run_import):
    return run_import.file(
        H,
        [
            row("amartin", "SAFE-101", "2025-01-06", "2025-12-31", "2025-03-31", option="M"),
            row("bdurand", "AID-201", session="AID-201-S1", billing_mode="By Hour", unit_cost="80"),
            row("cleroy", "AID-201", session="AID-201-S1", status="waiting"),
            row("bdurand", "LEAD-101"),
            row("nobody", "SAFE-101"),
            row("amartin", "SAFE-102", "2025-05-01", "2025-04-01"),
        ],
    )


EXPECTED = [
    ("created", ""),
    ("created", ""),
    ("created", ""),
    ("rejected", "audience_mismatch"),
    ("rejected", "user_not_found"),
    ("rejected", "date_order"),
]


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    path = mixed_file(run_import)
    before = state()
    verified = run_import.run(KIND, path, verify_only=True)
    assert state() == before
    assert verified.operation.status == "verified"
    real = run_import.run(KIND, path)
    assert results(verified) == results(real) == EXPECTED


@pytest.mark.parametrize("update_existing", ["no", "yes"])
def test_importing_the_same_file_twice_changes_nothing(run_import, world, update_existing):
    path = mixed_file(run_import)
    options = {"update_existing": update_existing}
    first = run_import.run(KIND, path, options=options)
    assert results(first) == EXPECTED
    after_first = state()
    second = run_import.run(KIND, path, options=options)
    assert results(second) == [("unchanged", "")] * 3 + EXPECTED[3:]
    assert state() == after_first


def test_undo_restores_the_database(run_import, world):
    CourseAssignment.objects.create(
        user=world["amartin"], course=world["aid"], option="recommended"
    )
    before = state()
    rep = run_import(
        KIND,
        H,
        [
            row("amartin", "AID-201", "2025-01-01", session="AID-201-S1", option="M"),
            row("bdurand", "SAFE-101", target="2025-03-01"),
        ],
        options={"update_existing": "yes"},
    )
    assert results(rep) == [("updated", ""), ("created", "")]
    assert state() != before
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


def test_english_headers_are_accepted(run_import, world):
    rep = run_import(
        KIND,
        ["User Login", "Course Code", "Start Date", "Option", "Session", "Booking Status"],
        [["amartin", "AID-201", "2025-01-06", "mandatory", "AID-201-S1", "booked"]],
    )
    assert results(rep) == [("created", "")]
    assert rep.file_warnings == []


@pytest.mark.parametrize("xlsx", [False, True])
def test_template_imports_into_a_database_holding_its_identifiers(db, tmp_path, xlsx):
    f.user("amartin", email="alice.martin@example.com")
    f.user("bdurand", email="bob.durand@example.com")
    f.course("SAFE-201", "Fire safety")
    session("SESS-SAFE-202-DEMO", f.course("SAFE-202", "First aid at work"), waiting_list=True)
    path = str(tmp_path / ("t.xlsx" if xlsx else "t.csv"))
    write_template(KIND, path)
    verified = engine.run_import(engine.Request(kind=KIND, path=path, verify_only=True))
    assert (verified.counts["rows"], verified.counts["rejected"]) == (len(KINDS[KIND].template), 0)
    first = engine.run_import(engine.Request(kind=KIND, path=path))
    assert first.counts["rejected"] == 0 and first.counts["created"] == first.counts["rows"]
    assert Seat.objects.get().session.extid == "SESS-SAFE-202-DEMO"
    again = engine.run_import(engine.Request(kind=KIND, path=path))
    assert again.counts["unchanged"] == again.counts["rows"]
