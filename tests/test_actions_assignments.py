"""The user actions on course and curriculum assignments (SPEC §5): users.assign-courses,
users.modify-course-assignments, users.assign-curricula, users.modify-curriculum-assignments.
Each: verify-only plans what the run does, a second run changes nothing, undo restores, a user
outside the scope is rejected out_of_scope, an invalid parameter is refused naming the key."""

from datetime import date

import pytest

from registrar.core.errors import FileError
from registrar.directory.models import Audience
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment, CurriculumAssignment

from . import factories as f


@pytest.fixture
def world(db):
    root = f.org("ACME")
    eu = f.org("ACME-EU", parent=root)
    us = f.org("ACME-US", parent=root)
    safe, fire = f.course("SAFE-101"), f.course("FIRE-101")
    f.curriculum("CUR-SAFETY", courses=[safe, fire])
    for login, org in (("alice", eu), ("bob", eu), ("sam", us)):
        f.user(login, org)
    f.user("gone", eu, disabled=True)
    f.user("outsider", eu, training_access=False)
    return {"eu": eu, "us": us}


def results(rep) -> list[tuple]:
    return [
        (r["user_login"], r.get("course_code") or r.get("curriculum_code"), r["result"], r["codes"])
        for r in rep.rows
    ]


def assignments(model=CourseAssignment) -> set:
    field = "course__code" if model is CourseAssignment else "curriculum__code"
    return set(model.objects.values_list("user__login", field, "option", "target_date"))


# users.assign-courses ----------------------------------------------------------------------------


def test_users_assign_courses_gives_one_result_per_user_and_course(world, act):
    rep = act(
        "users.assign-courses",
        {"courses": ["SAFE-101", "FIRE-101"], "option": "mandatory", "target_date": "2027-03-31"},
        ids=["alice", "bob"],
    )
    assert results(rep) == [
        ("alice", "SAFE-101", "created", ""),
        ("alice", "FIRE-101", "created", ""),
        ("bob", "SAFE-101", "created", ""),
        ("bob", "FIRE-101", "created", ""),
    ]
    target = date(2027, 3, 31)
    assert assignments() == {
        (u, c, "mandatory", target) for u in ("alice", "bob") for c in ("SAFE-101", "FIRE-101")
    }
    assert set(CourseAssignment.objects.values_list("source", flat=True)) == {"action"}


def test_users_assign_courses_verify_only_plans_the_run_and_writes_nothing(world, act):
    params = {"courses": ["SAFE-101"]}
    verified = act("users.assign-courses", params, where=["org:in:ACME"], verify_only=True)
    assert not CourseAssignment.objects.exists()
    run = act("users.assign-courses", params, where=["org:in:ACME"])
    assert results(verified) == results(run)


def test_users_assign_courses_second_run_skips_already_assigned(world, act):
    params = {"courses": ["SAFE-101"]}
    act("users.assign-courses", params, ids=["alice"])
    again = act("users.assign-courses", params, ids=["alice"])
    assert results(again) == [("alice", "SAFE-101", "skipped", "already_assigned")]


def test_users_assign_courses_undo_removes_the_assignments(world, act):
    rep = act("users.assign-courses", {"courses": ["SAFE-101"]}, ids=["alice", "bob"])
    undo(rep.operation.pk)
    assert not CourseAssignment.objects.exists()


def test_users_assign_courses_rejects_users_outside_the_scope(world, act):
    rep = act(
        "users.assign-courses", {"courses": ["SAFE-101"]}, ids=["alice", "sam"], scope="ACME-EU"
    )
    assert results(rep) == [
        ("alice", "SAFE-101", "created", ""),
        ("sam", "SAFE-101", "rejected", "out_of_scope"),
    ]
    assert assignments() == {("alice", "SAFE-101", "free", None)}


def test_users_assign_courses_criteria_stay_inside_the_scope(world, act):
    rep = act(
        "users.assign-courses", {"courses": ["SAFE-101"]}, where=["org:in:ACME"], scope="ACME-EU"
    )
    assert {r["user_login"] for r in rep.rows} == {"alice", "bob", "outsider"}  # no sam


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"courses": ["NOPE-1"]}, "courses"),
        ({}, "courses"),
        ({"courses": ["SAFE-101"], "option": "sometimes"}, "option"),
        ({"courses": ["SAFE-101"], "target_date": "31/03/2027"}, "target_date"),
        ({"courses": ["SAFE-101"], "colour": "red"}, "colour"),
        ({"courses": ["SAFE-101"], "unit_cost": "-3"}, "unit_cost"),
    ],
)
def test_users_assign_courses_refuses_an_invalid_parameter_naming_the_key(world, act, params, key):
    with pytest.raises(FileError) as e:
        act("users.assign-courses", params, ids=["alice"])
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", key)
    assert not CourseAssignment.objects.exists()


def test_users_assign_courses_refuses_dates_out_of_order(world, act):
    with pytest.raises(FileError) as e:
        act(
            "users.assign-courses",
            {"courses": ["SAFE-101"], "start_date": "2027-05-01", "end_date": "2027-01-01"},
            ids=["alice"],
        )
    assert e.value.code == "invalid_combination"


def test_users_assign_courses_rejects_learners_who_cannot_learn(world, act):
    rep = act("users.assign-courses", {"courses": ["SAFE-101"]}, ids=["gone", "outsider", "nobody"])
    assert [(r["user_login"], r["codes"]) for r in rep.rows] == [
        ("nobody", "user_not_found"),
        ("gone", "user_disabled"),
        ("outsider", "user_not_in_training"),
    ]


def test_users_assign_courses_respects_audiences_unless_told(world, act):
    managers = Audience.objects.create(name="Managers")
    world_course = f.course("LEAD-101")
    world_course.audiences.add(managers, through_defaults={})
    rep = act("users.assign-courses", {"courses": ["LEAD-101"]}, ids=["alice"])
    assert results(rep) == [("alice", "LEAD-101", "rejected", "audience_mismatch")]
    rep = act(
        "users.assign-courses", {"courses": ["lead-101"], "ignore_audiences": True}, ids=["alice"]
    )
    assert results(rep) == [("alice", "LEAD-101", "created", "")]


# users.modify-course-assignments -----------------------------------------------------------------


def test_users_modify_course_assignments_changes_only_existing_ones(world, act):
    act(
        "users.assign-courses",
        {"courses": ["SAFE-101"], "target_date": "2027-01-31"},
        ids=["alice"],
    )
    params = {"courses": ["SAFE-101"], "option": "recommended", "target_date": None}
    verified = act(
        "users.modify-course-assignments", params, ids=["alice", "bob"], verify_only=True
    )
    rep = act("users.modify-course-assignments", params, ids=["alice", "bob"])
    assert (
        results(rep)
        == results(verified)
        == [
            ("alice", "SAFE-101", "updated", ""),
            ("bob", "SAFE-101", "rejected", "not_assigned"),
        ]
    )
    assert assignments() == {("alice", "SAFE-101", "recommended", None)}
    again = act("users.modify-course-assignments", params, ids=["alice"])
    assert results(again) == [("alice", "SAFE-101", "unchanged", "")]
    undo(rep.operation.pk)
    assert assignments() == {("alice", "SAFE-101", "free", date(2027, 1, 31))}


def test_users_modify_course_assignments_rejects_users_outside_the_scope(world, act):
    act("users.assign-courses", {"courses": ["SAFE-101"]}, ids=["sam"])
    rep = act(
        "users.modify-course-assignments",
        {"courses": ["SAFE-101"], "option": "mandatory"},
        ids=["sam"],
        scope="ACME-EU",
    )
    assert results(rep) == [("sam", "SAFE-101", "rejected", "out_of_scope")]


def test_users_modify_course_assignments_refuses_an_invalid_parameter_naming_the_key(world, act):
    with pytest.raises(FileError) as e:
        act(
            "users.modify-course-assignments",
            {"courses": ["SAFE-101"], "option": None},
            ids=["alice"],
        )
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "option")


# users.assign-curricula --------------------------------------------------------------------------


def test_users_assign_curricula_carries_dates_to_courses_when_asked(world, act):
    params = {
        "curricula": ["CUR-SAFETY"],
        "option": "mandatory",
        "target_date": "2027-06-30",
        "propagate_to_courses": True,
    }
    verified = act("users.assign-curricula", params, ids=["alice"], verify_only=True)
    rep = act("users.assign-curricula", params, ids=["alice"])
    assert results(rep) == results(verified) == [("alice", "CUR-SAFETY", "created", "")]
    target = date(2027, 6, 30)
    assert assignments(CurriculumAssignment) == {("alice", "CUR-SAFETY", "mandatory", target)}
    assert assignments() == {("alice", c, "mandatory", target) for c in ("SAFE-101", "FIRE-101")}
    again = act("users.assign-curricula", params, ids=["alice"])
    assert results(again) == [("alice", "CUR-SAFETY", "skipped", "already_assigned")]
    undo(rep.operation.pk)
    assert not CurriculumAssignment.objects.exists() and not CourseAssignment.objects.exists()


def test_users_assign_curricula_rejects_users_outside_the_scope(world, act):
    rep = act("users.assign-curricula", {"curricula": ["CUR-SAFETY"]}, ids=["sam"], scope="ACME-EU")
    assert results(rep) == [("sam", "CUR-SAFETY", "rejected", "out_of_scope")]


def test_users_assign_curricula_refuses_an_invalid_parameter_naming_the_key(world, act):
    with pytest.raises(FileError) as e:
        act(
            "users.assign-curricula",
            {"curricula": ["CUR-SAFETY"], "billing_code": "x"},
            ids=["alice"],
        )
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "billing_code")


# users.modify-curriculum-assignments -------------------------------------------------------------


def test_users_modify_curriculum_assignments_changes_existing_ones_and_undo_restores(world, act):
    act("users.assign-curricula", {"curricula": ["CUR-SAFETY"]}, ids=["alice"])
    params = {"curricula": ["CUR-SAFETY"], "option": "recommended"}
    verified = act(
        "users.modify-curriculum-assignments", params, ids=["alice", "bob"], verify_only=True
    )
    rep = act("users.modify-curriculum-assignments", params, ids=["alice", "bob"])
    assert (
        results(rep)
        == results(verified)
        == [
            ("alice", "CUR-SAFETY", "updated", ""),
            ("bob", "CUR-SAFETY", "rejected", "not_assigned"),
        ]
    )
    again = act("users.modify-curriculum-assignments", params, ids=["alice"])
    assert results(again) == [("alice", "CUR-SAFETY", "unchanged", "")]
    undo(rep.operation.pk)
    assert assignments(CurriculumAssignment) == {("alice", "CUR-SAFETY", "free", None)}


def test_users_modify_curriculum_assignments_rejects_users_outside_the_scope(world, act):
    act("users.assign-curricula", {"curricula": ["CUR-SAFETY"]}, ids=["sam"])
    rep = act(
        "users.modify-curriculum-assignments",
        {"curricula": ["CUR-SAFETY"], "option": "mandatory"},
        ids=["sam"],
        scope="ACME-EU",
    )
    assert results(rep) == [("sam", "CUR-SAFETY", "rejected", "out_of_scope")]


def test_users_modify_curriculum_assignments_refuses_an_invalid_parameter_naming_the_key(
    world, act
):
    with pytest.raises(FileError) as e:
        act("users.modify-curriculum-assignments", {"curricula": "CUR-NOPE"}, ids=["alice"])
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "curricula")


# users.send-mail (the rest is in test_actions_mail) ------------------------------------------------


def test_users_send_mail_rejects_users_outside_the_scope(world, act):
    rep = act("users.send-mail", {"subject": "Hi", "body": "Hello"}, ids=["sam"], scope="ACME-EU")
    assert [(r["user_login"], r["result"], r["codes"]) for r in rep.rows] == [
        ("sam", "rejected", "out_of_scope")
    ]


def test_users_send_mail_verify_only_gives_the_runs_results(world, act):
    params = {"subject": "Hi", "body": "Hello"}
    verified = act("users.send-mail", params, ids=["alice", "bob"], verify_only=True)
    rep = act("users.send-mail", params, ids=["alice", "bob"])
    assert (
        [r["result"] for r in verified.rows] == [r["result"] for r in rep.rows] == ["created"] * 2
    )
