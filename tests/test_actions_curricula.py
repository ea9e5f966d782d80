"""The curriculum assistant (SPEC §5, seed 003 "L'Assistant Parcours"): curricula.modify-info,
modify-custom-fields, add-audiences and add-access-property (with apply_to_courses). One test
per rule: the result per curriculum (and list), verify-only, the idempotent re-run, undo."""

from datetime import date, datetime

import pytest
from django.utils import timezone

from registrar.catalogue.models import Curriculum
from registrar.core.errors import FileError
from registrar.directory.models import Audience, ListFolder, ListMember, UserList
from registrar.journal.undo import undo
from registrar.learning import access
from registrar.learning.models import AccessProperty, CourseAssignment, CurriculumAssignment

from . import factories as f


@pytest.fixture
def world(db):
    org = f.org("ACME")
    users = {u: f.user(u, org) for u in ("alice", "bob", "carol")}
    safe, fire = f.course("SAFE-101"), f.course("FIRE-101")
    f.curriculum("CUR-SAFETY", courses=[safe, fire], free_text2="keep", custom={"custom4": "k"})
    f.curriculum("CUR-DATA")
    Audience.objects.create(name="Managers")
    folder = ListFolder.objects.get(name="Default", parent=None)
    lst = UserList.objects.create(name="Newcomers", folder=folder)
    entered = timezone.make_aware(datetime(2026, 5, 10, 8, 0))
    for login in ("alice", "bob"):
        ListMember.objects.create(user_list=lst, user=users[login], entered_at=entered)
    return {"users": users}


def values(*fields, code="CUR-SAFETY") -> tuple:
    return Curriculum.objects.values_list(*fields).get(code=code)


def results(rep) -> list[tuple]:
    return [(r["code"], r["result"], r["codes"]) for r in rep.rows]


def test_curricula_modify_info_sets_disabled_and_free_texts(world, act):
    rep = act(
        "curricula.modify-info",
        {"disabled": True, "free_text1": "new", "free_text2": None},
        ids=["CUR-SAFETY"],
    )
    assert results(rep) == [("CUR-SAFETY", "updated", "")]
    assert values("disabled", "free_text1", "free_text2") == (True, "new", "")
    again = act(
        "curricula.modify-info",
        {"disabled": True, "free_text1": "new", "free_text2": None},
        ids=["CUR-SAFETY"],
    )
    assert results(again) == [("CUR-SAFETY", "unchanged", "")]
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts and values("disabled", "free_text1", "free_text2") == (False, "", "keep")


def test_curricula_modify_info_has_no_provider_parameter(world, act):
    with pytest.raises(FileError) as e:
        act("curricula.modify-info", {"provider": "x"}, ids=["CUR-SAFETY"])
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "provider"


def test_curricula_modify_info_verify_only_plans_the_run_and_writes_nothing(world, act):
    params = {"free_text1": "new"}
    verified = act(
        "curricula.modify-info", params, ids=["CUR-SAFETY", "CUR-DATA"], verify_only=True
    )
    assert values("free_text1") == ("",)
    run = act("curricula.modify-info", params, ids=["CUR-SAFETY", "CUR-DATA"])
    assert results(verified) == results(run)


def test_curricula_modify_custom_fields_sets_and_clears_and_keeps_the_rest(world, act):
    rep = act(
        "curricula.modify-custom-fields",
        {"custom1": "2026", "custom4": None},
        ids=["CUR-SAFETY", "CUR-DATA"],
    )
    assert results(rep) == [("CUR-SAFETY", "updated", ""), ("CUR-DATA", "updated", "")]
    assert values("custom") == ({"custom1": "2026"},)
    assert values("custom", code="CUR-DATA") == ({"custom1": "2026"},)
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts and values("custom") == ({"custom4": "k"},)


def test_curricula_add_audiences_adds_them_and_takes_none_away(world, act):
    rep = act("curricula.add-audiences", {"audiences": ["Managers"]}, ids=["CUR-SAFETY"])
    assert results(rep) == [("CUR-SAFETY", "updated", "")]
    cur = Curriculum.objects.get(code="CUR-SAFETY")
    assert list(cur.audiences.values_list("name", flat=True)) == ["Managers"]
    again = act("curricula.add-audiences", {"audiences": ["Managers"]}, ids=["CUR-SAFETY"])
    assert results(again) == [("CUR-SAFETY", "unchanged", "")]
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts and not cur.audiences.exists()


def test_curricula_add_access_property_restricts_the_curriculum_to_the_lists_members(world, act):
    rep = act("curricula.add-access-property", {"lists": ["Newcomers"]}, ids=["CUR-SAFETY"])
    assert [(r["code"], r["list"], r["result"]) for r in rep.rows] == [
        ("CUR-SAFETY", "Newcomers", "created")
    ]
    cur = Curriculum.objects.get(code="CUR-SAFETY")
    u = world["users"]
    pairs = [(u["alice"].pk, cur.pk), (u["carol"].pk, cur.pk)]
    assert access.has_access("curriculum", pairs) == {(u["alice"].pk, cur.pk)}
    assert AccessProperty.objects.get().curriculum_id == cur.pk


def test_curricula_add_access_property_apply_to_courses_assigns_the_courses_too(world, act):
    params = {
        "lists": ["Newcomers"],
        "assign_members": True,
        "option": "mandatory",
        "target_delay_days": 20,
        "apply_to_courses": True,
    }
    rep = act("curricula.add-access-property", params, ids=["CUR-SAFETY"])
    assert [r["codes"] for r in rep.rows] == ["members_assigned"]
    target = date(2026, 5, 30)
    cur = set(
        CurriculumAssignment.objects.values_list("user__login", "option", "target_date", "source")
    )
    assert cur == {("alice", "mandatory", target, "list"), ("bob", "mandatory", target, "list")}
    courses = set(
        CourseAssignment.objects.values_list("user__login", "course__code", "target_date")
    )
    assert courses == {(u, c, target) for u in ("alice", "bob") for c in ("SAFE-101", "FIRE-101")}
    again = act("curricula.add-access-property", params, ids=["CUR-SAFETY"])
    assert [r["result"] for r in again.rows] == ["unchanged"]
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts
    assert not CurriculumAssignment.objects.exists() and not CourseAssignment.objects.exists()


def test_curricula_add_access_property_without_apply_to_courses_assigns_the_curriculum_only(
    world, act, run_import
):
    params = {"lists": ["Newcomers"], "assign_members": True}
    act("curricula.add-access-property", params, ids=["CUR-SAFETY"])
    assert CurriculumAssignment.objects.count() == 2
    assert not CourseAssignment.objects.exists()
    run_import(
        "static-lists",
        ["USER", "LIST_NAME"],
        [["carol", "Newcomers"]],
        options={"match_on": "login"},
    )
    assert CurriculumAssignment.objects.filter(user__login="carol").exists()
