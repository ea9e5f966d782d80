"""List access properties (SPEC §1 Access, §5 courses/curricula.add-access-property, seed 003
"Ajouter une propriété d'accès"): visibility restricted to the lists' members, their assignment
with an option and fixed dates or delays from the day each entered the list, effective now or
not, and the rule that keeps working: a user who enters a list later is assigned then, whatever
path adds them (static-lists import, users.save-list, the users import's list_name, a dynamic
list's criteria when evaluated). One test per rule."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from registrar.core.errors import FileError
from registrar.directory.models import ListFolder, ListMember, UserList
from registrar.journal.models import Change
from registrar.journal.undo import undo
from registrar.learning import access
from registrar.learning.models import AccessEntry, AccessProperty, CourseAssignment

from . import factories as f

ACCESS = "courses.add-access-property"


@pytest.fixture
def world(db):
    org = f.org("ACME")
    users = {u: f.user(u, org, extid=f"E-{u}") for u in ("alice", "bob", "carol", "dave")}
    f.user("gone", org, disabled=True, extid="E-gone")
    safe = f.course("SAFE-101")
    f.course("FIRE-101")
    folder = ListFolder.objects.get(name="Default", parent=None)
    wardens = UserList.objects.create(name="Wardens", folder=folder)
    entered = timezone.make_aware(datetime(2026, 3, 1, 9, 0))
    for login in ("alice", "bob"):
        ListMember.objects.create(user_list=wardens, user=users[login], entered_at=entered)
    return {"org": org, "users": users, "safe": safe, "wardens": wardens, "folder": folder}


def assigned(code: str = "SAFE-101") -> dict:
    rows = CourseAssignment.objects.filter(course__code=code).values_list(
        "user__login", "option", "start_date", "target_date", "end_date", "source"
    )
    return {r[0]: r[1:] for r in rows}


def results(rep) -> list[tuple]:
    return [(r["code"], r["list"], r["result"], r["codes"]) for r in rep.rows]


def sees(user, course) -> bool:
    return (user.pk, course.pk) in access.has_access("course", [(user.pk, course.pk)])


def test_access_property_restricts_visibility_to_the_lists_members(world, act):
    alice, carol, safe = world["users"]["alice"], world["users"]["carol"], world["safe"]
    assert sees(alice, safe) and sees(carol, safe)  # published, no audience: open to all
    rep = act(ACCESS, {"lists": ["Wardens"]}, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "Wardens", "created", "")]
    assert sees(alice, safe)
    assert not sees(carol, safe)
    assert not CourseAssignment.objects.exists()  # assign_members is off by default


def test_access_property_without_restriction_opens_the_content_to_members_outside_audiences(
    world, act
):
    from registrar.directory.models import Audience

    alice, carol, safe = world["users"]["alice"], world["users"]["carol"], world["safe"]
    safe.audiences.add(Audience.objects.create(name="Managers"))
    assert not sees(alice, safe)
    act(ACCESS, {"lists": ["Wardens"], "restrict_visibility": False}, ids=["SAFE-101"])
    assert sees(alice, safe)  # a member: the list opens it
    assert not sees(carol, safe)  # the audience rule still applies to the others


def test_access_property_is_stored_as_data_and_undo_removes_it(world, act):
    params = {"lists": ["Wardens"], "assign_members": True, "option": "mandatory"}
    rep = act(ACCESS, params, ids=["SAFE-101"])
    prop = AccessProperty.objects.get()
    assert (prop.course.code, prop.user_list.name, prop.assign_members) == (
        "SAFE-101",
        "Wardens",
        True,
    )
    assert prop.option == "mandatory" and prop.restrict and prop.effective_now
    tables = set(Change.objects.filter(operation=rep.operation).values_list("table", flat=True))
    assert tables == {"learning.AccessProperty", "learning.CourseAssignment"}
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts
    assert not AccessProperty.objects.exists()
    assert not CourseAssignment.objects.exists()


def test_access_property_effective_now_assigns_the_current_members_with_delays_from_entry(
    world, act
):
    params = {
        "lists": ["Wardens"],
        "assign_members": True,
        "option": "mandatory",
        "start_delay_days": 0,
        "target_delay_days": 30,
        "end_date": "2027-12-31",
    }
    rep = act(ACCESS, params, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "Wardens", "created", "members_assigned")]
    assert "2 of the members" in rep.rows[0]["message"]
    row = ("mandatory", date(2026, 3, 1), date(2026, 3, 31), date(2027, 12, 31), "list")
    assert assigned() == {"alice": row, "bob": row}


def test_access_property_verify_only_plans_the_run_and_writes_nothing(world, act):
    params = {"lists": ["Wardens"], "assign_members": True}
    verified = act(ACCESS, params, ids=["SAFE-101"], verify_only=True)
    assert not AccessProperty.objects.exists() and not CourseAssignment.objects.exists()
    run = act(ACCESS, params, ids=["SAFE-101"])
    assert results(verified) == results(run)


def test_access_property_second_run_is_unchanged(world, act):
    params = {"lists": ["Wardens"], "assign_members": True, "target_delay_days": 10}
    act(ACCESS, params, ids=["SAFE-101"])
    again = act(ACCESS, params, ids=["SAFE-101"])
    assert results(again) == [("SAFE-101", "Wardens", "unchanged", "")]
    assert not Change.objects.filter(operation=again.operation).exists()


def test_access_property_added_again_with_new_dates_updates_the_rule_and_its_assignments(
    world, act
):
    act(ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["SAFE-101"])
    CourseAssignment.objects.create(user=world["users"]["carol"], course=world["safe"])
    ListMember.objects.create(user_list=world["wardens"], user=world["users"]["carol"])
    rep = act(
        ACCESS,
        {"lists": ["Wardens"], "assign_members": True, "target_date": "2027-01-31"},
        ids=["SAFE-101"],
    )
    assert results(rep) == [("SAFE-101", "Wardens", "updated", "members_assigned")]
    got = assigned()
    assert got["alice"][2] == got["bob"][2] == date(2027, 1, 31)  # made by the rule: refreshed
    assert got["carol"] == ("free", None, None, None, "import")  # assigned otherwise: kept


def test_access_property_not_effective_now_assigns_only_later_entrants(world, act, run_import):
    params = {"lists": ["Wardens"], "assign_members": True, "effective_now": False}
    act(ACCESS, params, ids=["SAFE-101"])
    assert assigned() == {}
    run_import("static-lists", ["USER", "LIST_NAME"], [["E-carol", "Wardens"]])
    assert set(assigned()) == {"carol"}


def test_access_property_assigns_a_user_entering_through_the_static_lists_import(
    world, act, run_import
):
    params = {"lists": ["Wardens"], "assign_members": True, "target_delay_days": 14}
    act(ACCESS, params, ids=["SAFE-101"])
    rep = run_import("static-lists", ["USER", "LIST_NAME"], [["E-carol", "Wardens"]])
    entered = timezone.localtime(rep.operation.started_at).date()
    assert assigned()["carol"] == ("free", None, entered + timedelta(days=14), None, "list")
    _, conflicts = undo(rep.operation.pk)  # the import's undo takes the assignment back too
    assert not conflicts and "carol" not in assigned()


def test_access_property_assigns_a_user_entering_through_the_save_list_action(world, act):
    act(ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["SAFE-101"])
    act("users.save-list", {"name": "Wardens"}, ids=["carol", "dave"])
    assert set(assigned()) == {"alice", "bob", "carol", "dave"}


def test_access_property_assigns_a_user_entering_through_the_users_import_list_name(
    world, act, run_import
):
    act(ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["SAFE-101"])
    header = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "list_name"]
    rep = run_import("users", header, [["New", "Nina", "nina", "S3cret!pass", "ACME", "Wardens"]])
    assert rep.counts["created"] == 1
    assert assigned()["nina"][-1] == "list"


def test_access_property_assigns_a_user_a_dynamic_list_selects_when_it_is_evaluated(world, act):
    dyn = UserList.objects.create(
        name="Fire team",
        folder=world["folder"],
        kind=UserList.Kind.DYNAMIC,
        criteria={"where": [["udtf1", "eq", "fire"]]},
    )
    carol = world["users"]["carol"]
    carol.custom1 = "fire"
    carol.save()
    rep = act(ACCESS, {"lists": ["Fire team"], "assign_members": True}, ids=["SAFE-101"])
    assert set(assigned()) == {"carol"}
    assert AccessEntry.objects.filter(access_property__user_list=dyn).count() == 1
    # dave comes to match the criteria through an action: the list, evaluated as that
    # operation ends, has a new member, who is assigned in that operation.
    later = act("users.modify-values", {"udtf1": "fire"}, ids=["dave"])
    assert set(assigned()) == {"carol", "dave"}
    assert CourseAssignment.objects.get(user__login="dave").op == later.operation.pk
    assert rep.operation.pk != later.operation.pk


def test_access_property_assigns_no_member_who_cannot_learn(world, act):
    ListMember.objects.create(user_list=world["wardens"], user_id=_id("gone"))
    act(ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["SAFE-101"])
    assert set(assigned()) == {"alice", "bob"}


def _id(login):
    from registrar.directory.models import User

    return User.objects.get(login=login).pk


def test_access_property_member_assigned_already_keeps_the_assignment(world, act):
    CourseAssignment.objects.create(
        user=world["users"]["alice"], course=world["safe"], option="recommended"
    )
    act(
        ACCESS,
        {"lists": ["Wardens"], "assign_members": True, "option": "mandatory"},
        ids=["SAFE-101"],
    )
    got = assigned()
    assert got["alice"][0] == "recommended" and got["alice"][-1] == "import"
    assert got["bob"][0] == "mandatory"


def test_access_property_gives_one_result_per_course_and_list(world, act):
    UserList.objects.create(name="Others", folder=world["folder"])
    rep = act(ACCESS, {"lists": ["Wardens", "Others"]}, ids=["SAFE-101", "FIRE-101"])
    assert sorted(results(rep)) == [
        ("FIRE-101", "Others", "created", ""),
        ("FIRE-101", "Wardens", "created", ""),
        ("SAFE-101", "Others", "created", ""),
        ("SAFE-101", "Wardens", "created", ""),
    ]


@pytest.mark.parametrize(
    ("params", "first", "second"),
    [
        ({"option": "mandatory"}, "option", "assign_members"),
        (
            {"assign_members": True, "start_date": "2027-01-01", "start_delay_days": 3},
            "start_date",
            "start_delay_days",
        ),
        (
            {"assign_members": True, "start_delay_days": 30, "end_delay_days": 3},
            "start_delay_days",
            "end_delay_days",
        ),
    ],
)
def test_access_property_inconsistent_parameters_are_invalid_combination(
    world, act, params, first, second
):
    with pytest.raises(FileError) as e:
        act(ACCESS, {"lists": ["Wardens"], **params}, ids=["SAFE-101"])
    assert e.value.code == "invalid_combination"
    assert (e.value.params["first"], e.value.params["second"]) == (first, second)


def test_access_property_unknown_list_is_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act(ACCESS, {"lists": ["Nobody"]}, ids=["SAFE-101"])
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "lists"


def test_access_property_of_a_scoped_administrator_assigns_only_members_in_their_scope(world, act):
    other = f.org("OTHER", parent=world["org"])
    world["users"]["bob"].organisation = other
    world["users"]["bob"].save()
    act(ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["SAFE-101"], scope="ACME")
    assert set(assigned()) == {"alice", "bob"}  # OTHER is under ACME
    rep = act(
        ACCESS, {"lists": ["Wardens"], "assign_members": True}, ids=["FIRE-101"], scope="OTHER"
    )
    assert "1 of the members" in rep.rows[0]["message"]
    assert set(assigned("FIRE-101")) == {"bob"}  # alice, in ACME, is outside OTHER
