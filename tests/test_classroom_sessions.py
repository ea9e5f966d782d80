"""classroom-sessions import (SPEC §4.13, seed 003): one test per rule."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.bulk.docs import write_template
from registrar.bulk.imports.classroom_sessions import ClassroomSessions, _links
from registrar.bulk.io.readers import FileError
from registrar.bulk.parsers import CellError, compound, datetime_, integer, text
from registrar.catalogue.models import ClassroomSession, Course, SessionSlot
from registrar.journal.undo import undo
from registrar.learning.models import Seat

from . import factories as f

H = [
    "crsvname",
    "lesson_slots",
    "start",
    "session_extid",
    "status",
    "max_participants",
    "immediate_confirmation",
    "waiting_list",
    "trainer",
    "extra_trainers",
    "room_extid",
    "manager",
    "organisations",
]
SLOTS = "FIRE-L1|2030-03-04T09:00|2030-03-04T12:00$FIRE-L2|2030-03-04T13:30|2030-03-04T17:00"


def row(**kw) -> list[str]:
    """A full 13-column row: a new open session of FIRE on 4 March 2030, changed by `kw`."""
    base = {
        "crsvname": "FIRE",
        "lesson_slots": SLOTS,
        "start": "2030-03-04T09:00",
        "session_extid": "FIRE-S1",
        "status": "O",
        "max_participants": "12",
        "immediate_confirmation": "Y",
        "waiting_list": "N",
        "trainer": "amartin",
        "extra_trainers": "bdurand,cgarcia",
        "room_extid": "ROOM-1",
        "manager": "bdurand",
        "organisations": "EU|FR",
    }
    return [kw.get(h, base[h]) for h in H]


def at(text_: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(text_))


@pytest.fixture
def world(db):
    eu = f.org("EU")
    fr = f.org("FR", parent=eu)
    f.org("US")
    users = {
        "amartin": f.user("amartin", organisation=fr),
        "bdurand": f.user("bdurand", organisation=eu),
        "cgarcia": f.user("cgarcia", organisation=fr),
    }
    fire = f.course("FIRE", "Fire warden training")
    lessons = {
        "FIRE-L1": f.lesson("FIRE-L1", fire, "T"),
        "FIRE-L2": f.lesson("FIRE-L2", fire, "T"),
        "FIRE-L3": f.lesson("FIRE-L3", fire, "A"),
    }
    other = f.course("OTHER", "Another classroom course")
    f.lesson("OTHER-L1", other, "T")
    f.lesson("ELEARN-L1", f.course("ELEARN", "An e-learning course"), "L")
    return {"users": users, "fire": fire, "lessons": lessons, "other": other}


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def session(extid: str = "FIRE-S1") -> ClassroomSession:
    return ClassroomSession.objects.get(extid=extid)


def slots(extid: str = "FIRE-S1") -> list[tuple]:
    return sorted(
        (s.lesson.code, timezone.localtime(s.start).isoformat()[:16])
        + (timezone.localtime(s.end).isoformat()[:16],)
        for s in SessionSlot.objects.filter(session__extid=extid).select_related("lesson")
    )


def extra(extid: str = "FIRE-S1") -> set[str]:
    return set(session(extid).extra_trainers.values_list("login", flat=True))


def orgs(extid: str = "FIRE-S1") -> set[str]:
    return set(session(extid).organisations.values_list("extid", flat=True))


def dump() -> dict:
    """Everything this import writes, to compare the database before and after."""
    sessions = list(ClassroomSession.objects.order_by("pk").values())
    return {
        "sessions": sessions,
        "slots": list(SessionSlot.objects.order_by("pk").values()),
        **{
            name: sorted(link.model.objects.values_list(link.src, link.dst))
            for name, link in _links().items()
        },
    }


# Creating and updating ------------------------------------------------------------------------


def test_new_extid_creates_the_session_with_its_slots_trainers_and_organisations(run_import, world):
    rep = run_import("classroom-sessions", H, [row()])
    assert results(rep) == [("created", "")]
    assert rep.counts["created"] == 1
    s = session()
    assert (s.course, s.status, s.max_participants) == (world["fire"], "O", 12)
    assert (s.immediate_confirmation, s.waiting_list, s.room_extid) == (True, False, "ROOM-1")
    assert (s.trainer.login, s.manager.login) == ("amartin", "bdurand")
    assert s.start == at("2030-03-04T09:00")
    assert slots() == [
        ("FIRE-L1", "2030-03-04T09:00", "2030-03-04T12:00"),
        ("FIRE-L2", "2030-03-04T13:30", "2030-03-04T17:00"),
    ]
    assert extra() == {"bdurand", "cgarcia"} and orgs() == {"EU", "FR"}
    assert s.op == rep.operation.pk


def test_existing_extid_updates_the_session_fields(run_import, world):
    run_import("classroom-sessions", H, [row()])
    rep = run_import(
        "classroom-sessions",
        H,
        [row(status="C", max_participants="15", room_extid="ROOM-2", start="2030-03-04T08:30")],
    )
    assert results(rep) == [("updated", "")]
    s = session()
    assert (s.status, s.max_participants, s.room_extid) == ("C", 15, "ROOM-2")
    assert s.start == at("2030-03-04T08:30")
    assert ClassroomSession.objects.count() == 1


def test_changed_trainers_and_organisations_update_the_session(run_import, world):
    run_import("classroom-sessions", H, [row()])
    rep = run_import(
        "classroom-sessions",
        H,
        [row(trainer="bdurand", extra_trainers="cgarcia,amartin", manager="", organisations="US")],
    )
    assert results(rep) == [("updated", "")]
    s = session()
    assert (s.trainer.login, s.manager) == ("bdurand", None)
    assert extra() == {"cgarcia", "amartin"} and orgs() == {"US"}


def test_a_row_that_says_what_the_session_holds_is_unchanged(run_import, world):
    run_import("classroom-sessions", H, [row()])
    # The same moments written differently (another offset, YYYY/MM/DD) change nothing.
    same = row(
        start="2030/03/04 09:00",
        lesson_slots="FIRE-L2|2030-03-04T12:30:00+00:00|2030-03-04T16:00:00+00:00"
        "$FIRE-L1|2030-03-04T09:00|2030-03-04T12:00",
        extra_trainers="cgarcia, bdurand",
        organisations="FR|EU",
        immediate_confirmation="oui",
    )
    rep = run_import("classroom-sessions", H, [same])
    assert results(rep) == [("unchanged", "")]
    assert rep.counts["unchanged"] == 1


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = run_import.file(
        H,
        [
            row(),
            row(session_extid="FIRE-S2", lesson_slots="", extra_trainers="", organisations=""),
            row(session_extid="FIRE-S3", trainer="nobody"),
        ],
    )
    first = run_import.run("classroom-sessions", path)
    before = dump()
    second = run_import.run("classroom-sessions", path)
    assert results(first) == [
        ("created", ""),
        ("created", ""),
        ("rejected", "user_not_found"),
    ]
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "user_not_found"),
    ]
    assert dump() == before


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    run_import("classroom-sessions", H, [row(session_extid="FIRE-S0")])
    path = run_import.file(
        H,
        [
            row(),
            row(session_extid="FIRE-S0", status="X"),
            row(session_extid="FIRE-S9", crsvname="ELEARN", lesson_slots=""),
        ],
    )
    before = dump()
    verified = run_import.run("classroom-sessions", path, verify_only=True)
    assert dump() == before
    assert verified.operation.status == "verified"
    real = run_import.run("classroom-sessions", path)
    assert (
        results(verified)
        == results(real)
        == [
            ("created", ""),
            ("updated", ""),
            ("rejected", "not_classroom_course"),
        ]
    )


def test_undo_restores_created_and_updated_sessions_and_their_slots(run_import, world):
    header = [h for h in H if h not in ("extra_trainers", "organisations")]
    cells = [row()[H.index(h)] for h in header]
    run_import("classroom-sessions", header, [cells])
    before = dump()
    changed = cells.copy()
    changed[header.index("status")] = "X"
    changed[header.index("lesson_slots")] = "FIRE-L1|2030-03-04T09:00|2030-03-04T12:00"
    new = cells.copy()
    new[header.index("session_extid")] = "FIRE-S2"
    rep = run_import("classroom-sessions", header, [changed, new])
    assert results(rep) == [("updated", ""), ("created", "")]
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    after = dump()
    for table in ("sessions", "slots"):  # `op` says who wrote a row last: the undo, now
        for x in (*before[table], *after[table]):
            x.pop("op")
    assert after == before


def test_undo_restores_extra_trainers_and_organisations(run_import, world):
    run_import("classroom-sessions", H, [row()])
    before = dump()
    rep = run_import(
        "classroom-sessions",
        H,
        [row(extra_trainers="amartin,cgarcia", organisations="US|EU"), row(session_extid="S2")],
    )
    assert results(rep) == [("updated", ""), ("created", "")]
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    assert extra() == {"bdurand", "cgarcia"} and orgs() == {"EU", "FR"}
    assert not ClassroomSession.objects.filter(extid="S2").exists()
    assert {k: v for k, v in dump().items() if k in _links()} == {
        k: v for k, v in before.items() if k in _links()
    }


# Slots ------------------------------------------------------------------------------------------


def test_slots_are_replaced_by_the_rows_slots_when_the_column_is_present(run_import, world):
    run_import("classroom-sessions", H, [row()])
    kept = SessionSlot.objects.get(lesson__code="FIRE-L1").pk
    rep = run_import(
        "classroom-sessions",
        H,
        [
            row(
                lesson_slots="FIRE-L1|2030-03-04T09:00|2030-03-04T12:00"
                "$FIRE-L3|2030-03-05T09:00|2030-03-05T10:00"
            )
        ],
    )
    assert results(rep) == [("updated", "")]
    assert slots() == [
        ("FIRE-L1", "2030-03-04T09:00", "2030-03-04T12:00"),
        ("FIRE-L3", "2030-03-05T09:00", "2030-03-05T10:00"),
    ]
    # A slot that stays the same keeps its identity.
    assert SessionSlot.objects.get(lesson__code="FIRE-L1").pk == kept


def test_slots_are_kept_when_the_column_is_absent(run_import, world):
    run_import("classroom-sessions", H, [row()])
    header = [h for h in H if h != "lesson_slots"]
    rep = run_import("classroom-sessions", header, [[row(status="C")[H.index(h)] for h in header]])
    assert results(rep) == [("updated", "")]
    assert len(slots()) == 2 and session().status == "C"


def test_an_empty_cell_erases_and_update_info_if_present_keeps(run_import, world):
    run_import("classroom-sessions", H, [row()])
    empty = row(
        lesson_slots="",
        status="",
        immediate_confirmation="",
        waiting_list="",
        extra_trainers="",
        room_extid="",
        manager="",
        organisations="",
    )
    kept = run_import("classroom-sessions", H, [empty], options={"update_info_if_present": "yes"})
    assert results(kept) == [("unchanged", "")]
    assert len(slots()) == 2 and extra() and orgs() and session().manager_id
    erased = run_import("classroom-sessions", H, [empty])
    assert results(erased) == [("updated", "")]
    s = session()
    assert (s.status, s.immediate_confirmation, s.waiting_list, s.room_extid, s.manager) == (
        "N",
        False,
        False,
        "",
        None,
    )
    assert (slots(), extra(), orgs()) == ([], set(), set())


@pytest.mark.parametrize(
    "cell,value",
    [
        ("NOPE|2030-03-04T09:00|2030-03-04T12:00", "NOPE"),
        ("OTHER-L1|2030-03-04T09:00|2030-03-04T12:00", "OTHER-L1"),  # a lesson of another course
    ],
)
def test_a_slot_lesson_must_be_a_lesson_of_the_course(run_import, world, cell, value):
    rep = run_import("classroom-sessions", H, [row(lesson_slots=cell)])
    assert results(rep) == [("rejected", "lesson_not_found")]
    assert value in rep.rows[0]["message"] and "FIRE" in rep.rows[0]["message"]
    assert not ClassroomSession.objects.exists()


@pytest.mark.parametrize(
    "cell",
    [
        "FIRE-L1|2030-03-04T12:00|2030-03-04T09:00",  # ends before it starts
        "FIRE-L1|2030-03-04T09:00|2030-03-04T09:00",  # ends as it starts
        "FIRE-L1|2030-03-03T09:00|2030-03-03T12:00",  # before the session starts
    ],
)
def test_a_slot_ends_after_it_starts_and_not_before_the_session(run_import, world, cell):
    rep = run_import("classroom-sessions", H, [row(lesson_slots=cell)])
    assert results(rep) == [("rejected", "invalid_slot")]


@pytest.mark.parametrize(
    "cell,code",
    [
        ("FIRE-L1|2030-03-04T09:00", "invalid_format"),
        ("FIRE-L1|2030-03-04T09:00|2030-03-04T12:00|x", "invalid_format"),
        ("FIRE-L1||2030-03-04T12:00", "invalid_format"),
        ("FIRE-L1|2030-03-04T09:00|2030-13-04T12:00", "invalid_date"),
    ],
)
def test_a_malformed_slots_cell_is_rejected(run_import, world, cell, code):
    rep = run_import("classroom-sessions", H, [row(lesson_slots=cell)])
    assert results(rep) == [("rejected", code)]


def test_compound_parser_splits_items_and_fields_and_parses_each_field():
    parse = compound([text(10), integer(0), datetime_()], sep="$", field_sep="|")
    assert parse("A|1|2030-01-02$ B | 2 | 2030/01/03 $") == [
        ("A", 1, at("2030-01-02T00:00")),
        ("B", 2, at("2030-01-03T00:00")),
    ]
    with pytest.raises(CellError) as e:
        parse("A|1|2030-01-02$B|2")
    assert e.value.code == "invalid_format" and "item 2" in e.value.params["detail"]
    with pytest.raises(CellError) as e:
        parse("A|x|2030-01-02")
    assert e.value.code == "invalid_number"
    assert compound([text(), text()], sep=";", field_sep=":")("a:b;c:d") == [("a", "b"), ("c", "d")]


# The course -------------------------------------------------------------------------------------


def test_unknown_course_is_rejected(run_import, world):
    rep = run_import("classroom-sessions", H, [row(crsvname="NOPE", lesson_slots="")])
    assert results(rep) == [("rejected", "course_not_found")]


def test_the_course_must_be_a_classroom_course(run_import, world):
    rep = run_import("classroom-sessions", H, [row(crsvname="ELEARN", lesson_slots="")])
    assert results(rep) == [("rejected", "not_classroom_course")]


def test_a_course_of_type_classroom_without_lessons_yet_is_accepted(run_import, world):
    f.course("ILT-NEW", course_type=Course.CourseType.CLASSROOM, published=False)
    rep = run_import("classroom-sessions", H, [row(crsvname="ILT-NEW", lesson_slots="")])
    assert results(rep) == [("created", "")]


def test_a_session_stays_on_its_course(run_import, world):
    run_import("classroom-sessions", H, [row()])
    rep = run_import("classroom-sessions", H, [row(crsvname="OTHER", lesson_slots="")])
    assert results(rep) == [("rejected", "session_course_mismatch")]
    assert session().course == world["fire"]


# People and organisations ---------------------------------------------------------------------


@pytest.mark.parametrize("column", ["trainer", "extra_trainers", "manager"])
def test_an_unknown_login_is_user_not_found(run_import, world, column):
    rep = run_import("classroom-sessions", H, [row(**{column: "nobody"})])
    assert results(rep) == [("rejected", "user_not_found")]
    assert rep.rows[0]["message"] == f"No user matches {column} 'nobody'"


def test_extra_trainers_are_comma_separated_and_the_trainer_is_left_out(run_import, world):
    rep = run_import("classroom-sessions", H, [row(extra_trainers="bdurand , amartin,bdurand")])
    assert results(rep) == [("created", "")]
    assert extra() == {"bdurand"}


def test_an_unknown_organisation_is_org_not_found(run_import, world):
    rep = run_import("classroom-sessions", H, [row(organisations="EU|NOPE")])
    assert results(rep) == [("rejected", "org_not_found")]
    assert "NOPE" in rep.rows[0]["message"]


def test_a_disabled_user_is_not_newly_placed_but_one_in_place_is_kept(run_import, world):
    run_import("classroom-sessions", H, [row()])
    world["users"]["amartin"].disabled = True
    world["users"]["amartin"].save()
    rep = run_import(
        "classroom-sessions",
        H,
        [row(status="D"), row(session_extid="FIRE-S2")],
    )
    assert results(rep) == [("updated", ""), ("rejected", "user_disabled")]
    assert session().status == "D" and session().trainer.login == "amartin"


# Values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell,expected", [("N", "N"), ("o", "O"), ("0", "O"), ("C", "C"), ("D", "D"), ("X", "X")]
)
def test_status_letters_and_the_seeds_zero_for_open(run_import, world, cell, expected):
    rep = run_import("classroom-sessions", H, [row(status=cell)])
    assert results(rep) == [("created", "")]
    assert session().status == expected


def test_an_unknown_status_is_invalid_choice(run_import, world):
    rep = run_import("classroom-sessions", H, [row(status="Z")])
    assert results(rep) == [("rejected", "invalid_choice")]


@pytest.mark.parametrize(
    "cell,expected", [("Y", True), ("N", False), ("O", True), ("non", False), ("yes", True)]
)
def test_yes_no_columns_accept_y_n_and_french_o_n(run_import, world, cell, expected):
    rep = run_import("classroom-sessions", H, [row(immediate_confirmation=cell, waiting_list=cell)])
    assert results(rep) == [("created", "")]
    s = session()
    assert (s.immediate_confirmation, s.waiting_list) == (expected, expected)


@pytest.mark.parametrize("cell", ["0", "-3", "2.5", "twelve"])
def test_max_participants_is_a_positive_whole_number(run_import, world, cell):
    rep = run_import("classroom-sessions", H, [row(max_participants=cell)])
    assert results(rep) == [("rejected", "invalid_number")]


def test_start_must_be_a_date(run_import, world):
    rep = run_import("classroom-sessions", H, [row(start="04/03/2030")])
    assert results(rep) == [("rejected", "invalid_date")]


@pytest.mark.parametrize(
    "column", ["crsvname", "start", "session_extid", "max_participants", "trainer"]
)
def test_required_values(run_import, world, column):
    rep = run_import("classroom-sessions", H, [row(**{column: ""})])
    assert results(rep) == [("rejected", "missing_value")]


def test_a_missing_required_column_refuses_the_file(run_import, world):
    header = [h for h in H if h != "trainer"]
    with pytest.raises(FileError) as e:
        run_import("classroom-sessions", header, [[row()[H.index(h)] for h in header]])
    assert e.value.code == "missing_column"


def test_a_repeated_session_extid_is_a_duplicate_row(run_import, world):
    rep = run_import("classroom-sessions", H, [row(), row(status="C")])
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]
    assert session().status == "O"


# Capacity and seats -----------------------------------------------------------------------------


def _seat(extid: str, login: str, status: str) -> None:
    u = f.user(login)
    Seat.objects.create(session=session(extid), user=u, status=status)


def test_lowering_max_participants_below_the_seats_taken_is_session_full(run_import, world):
    run_import("classroom-sessions", H, [row()])
    for i, status in enumerate(("booked", "booked", "attended", "absent", "waiting")):
        _seat("FIRE-S1", f"learner{i}", status)
    full = run_import("classroom-sessions", H, [row(max_participants="3")])
    assert results(full) == [("rejected", "session_full")]
    assert session().max_participants == 12
    # The waiting list does not hold places: four seats taken, four places are enough.
    ok = run_import("classroom-sessions", H, [row(max_participants="4")])
    assert results(ok) == [("updated", "")]
    assert session().max_participants == 4


def test_seats_are_never_touched(run_import, world):
    run_import("classroom-sessions", H, [row()])
    _seat("FIRE-S1", "learner", "booked")
    rep = run_import("classroom-sessions", H, [row(status="X", lesson_slots="")])
    assert results(rep) == [("updated", "")]
    assert list(Seat.objects.values_list("user__login", "status")) == [("learner", "booked")]


# Scope ------------------------------------------------------------------------------------------


def test_scope_limits_sessions_to_its_organisations_and_users(run_import, world):
    run_import("classroom-sessions", H, [row(session_extid="US-S1", organisations="US")])
    rep = run_import(
        "classroom-sessions",
        H,
        [
            row(session_extid="S-IN", extra_trainers="cgarcia", manager="", organisations="FR"),
            row(session_extid="S-ORG", extra_trainers="", manager="", organisations="FR|US"),
            row(session_extid="S-ALL", extra_trainers="", manager="", organisations=""),
            row(session_extid="S-USER", manager="bdurand", extra_trainers="", organisations="FR"),
            row(session_extid="US-S1", extra_trainers="", manager="", organisations="FR"),
        ],
        scope="FR",
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
    ]
    assert orgs("US-S1") == {"US"}


def test_a_trainer_from_outside_the_scope_already_in_place_is_kept(run_import, world):
    # A platform administrator put bdurand (organisation EU) as trainer of a session for FR.
    run_import(
        "classroom-sessions",
        H,
        [row(trainer="bdurand", extra_trainers="", manager="", organisations="FR")],
    )
    rep = run_import(
        "classroom-sessions",
        H,
        [row(trainer="bdurand", extra_trainers="", manager="", status="C", organisations="FR")],
        scope="FR",
    )
    assert results(rep) == [("updated", "")]
    assert (session().status, orgs()) == ("C", {"FR"})


# Set-based work and the template ------------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_rows(run_import, world):
    def run(n: int, prefix: str) -> int:
        rows = [row(session_extid=f"{prefix}{i}") for i in range(n)]
        path = run_import.file(H, rows)
        with CaptureQueriesContext(connection) as q:
            rep = run_import.run("classroom-sessions", path)
        assert rep.counts["created"] == n
        return len(q.captured_queries)

    assert run(3, "A") == run(30, "B")


def test_the_template_imports_cleanly_into_what_the_demo_provides(run_import, db, tmp_path):
    # What the template refers to, as the demo has it (docs/decisions.md lists it).
    acme = f.org("ACME")
    eu = f.org("ACME-EU", parent=acme)
    f.org("ACME-LOG", parent=eu)
    f.user("amartin", organisation=eu)
    f.user("bdurand", organisation=eu)
    course = f.course("SAFE-202", "First aid at work")
    for i, t in enumerate("ETTA", 1):
        f.lesson(f"SAFE-202-L{i}", course, t)
    path = str(tmp_path / "template.csv")
    write_template("classroom-sessions", path)
    first = run_import.run("classroom-sessions", path)
    assert results(first) == [("created", ""), ("created", "")]
    again = run_import.run("classroom-sessions", path)
    assert results(again) == [("unchanged", ""), ("unchanged", "")]
    assert [c.name for c in ClassroomSessions.columns] == H
