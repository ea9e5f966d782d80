"""The course assistant (SPEC §5, seed 003 "L'Assistant Cours"): courses.modify-info,
modify-custom-fields, modify-settings, add-audiences, modify-assignments and assign-users (the
access property: test_access_property.py). One test per rule: the result per course (and user),
verify-only, the idempotent re-run, undo, and the codes of what is refused."""

from datetime import date

import pytest

from registrar.catalogue.models import CertificateTemplate, Course
from registrar.core.errors import FileError
from registrar.directory.models import Audience, ListFolder, ListMember, UserList
from registrar.journal.models import Change
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment

from . import factories as f


@pytest.fixture
def world(db):
    root = f.org("ACME")
    eu = f.org("ACME-EU", parent=root)
    us = f.org("ACME-US", parent=root)
    for login, org in (("alice", eu), ("bob", eu), ("sam", us)):
        f.user(login, org)
    f.user("gone", eu, disabled=True)
    f.user("outsider", eu, training_access=False)
    f.course("SAFE-101", provider="Old", free_text1="a", custom={"custom1": "x", "custom3": "z"})
    f.course("FIRE-101")
    Audience.objects.create(name="Managers")
    Audience.objects.create(name="Sales")
    return {"eu": eu, "us": us}


def values(*fields, code="SAFE-101") -> tuple:
    return Course.objects.values_list(*fields).get(code=code)


def results(rep) -> list[tuple]:
    return [(r["code"], r["result"], r["codes"]) for r in rep.rows]


def pair_results(rep) -> list[tuple]:
    return [(r["code"], r["user_login"], r["result"], r["codes"]) for r in rep.rows]


def assignments() -> set:
    return set(
        CourseAssignment.objects.values_list("course__code", "user__login", "option", "target_date")
    )


# courses.modify-info ----------------------------------------------------------------------------


def test_courses_modify_info_sets_the_given_values_and_leaves_the_others(world, act):
    rep = act("courses.modify-info", {"provider": "Acme", "free_text2": "b"}, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "updated", "")]
    assert values("provider", "free_text1", "free_text2", "disabled") == ("Acme", "a", "b", False)


def test_courses_modify_info_null_clears_a_free_text(world, act):
    act("courses.modify-info", {"free_text1": None}, ids=["SAFE-101"])
    assert values("free_text1") == ("",)


def test_courses_modify_info_disabled_true_disables_the_course(world, act):
    act("courses.modify-info", {"disabled": True}, ids=["SAFE-101", "FIRE-101"])
    assert set(Course.objects.values_list("disabled", flat=True)) == {True}


def test_courses_modify_info_verify_only_plans_the_run_and_writes_nothing(world, act):
    params = {"provider": "Acme"}
    verified = act("courses.modify-info", params, ids=["SAFE-101", "FIRE-101"], verify_only=True)
    assert values("provider") == ("Old",)
    run = act("courses.modify-info", params, ids=["SAFE-101", "FIRE-101"])
    assert results(verified) == results(run)


def test_courses_modify_info_second_run_is_unchanged_and_undo_restores(world, act):
    first = act("courses.modify-info", {"provider": "Acme"}, ids=["SAFE-101"])
    again = act("courses.modify-info", {"provider": "Acme"}, ids=["SAFE-101"])
    assert results(again) == [("SAFE-101", "unchanged", "")]
    _, conflicts = undo(first.operation.pk)
    assert not conflicts and values("provider") == ("Old",)


def test_courses_modify_info_without_a_value_is_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act("courses.modify-info", {}, ids=["SAFE-101"])
    assert e.value.code == "invalid_parameter"


def test_courses_modify_info_unknown_course_is_rejected_course_not_found(world, act):
    rep = act("courses.modify-info", {"provider": "Acme"}, ids=["SAFE-101", "NOPE-1"])
    assert sorted(results(rep)) == [
        ("NOPE-1", "rejected", "course_not_found"),
        ("SAFE-101", "updated", ""),
    ]


# courses.modify-custom-fields -------------------------------------------------------------------


def test_courses_modify_custom_fields_sets_some_clears_others_and_keeps_the_rest(world, act):
    rep = act("courses.modify-custom-fields", {"custom1": "y", "custom3": None}, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "updated", "")]
    assert values("custom") == ({"custom1": "y"},)
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts and values("custom") == ({"custom1": "x", "custom3": "z"},)


def test_courses_modify_custom_fields_second_run_is_unchanged(world, act):
    act("courses.modify-custom-fields", {"custom2": "q"}, ids=["SAFE-101"])
    again = act("courses.modify-custom-fields", {"custom2": "q"}, ids=["SAFE-101"])
    assert results(again) == [("SAFE-101", "unchanged", "")]


# courses.modify-settings ------------------------------------------------------------------------


def test_courses_modify_settings_sets_every_setting_by_name(world, act):
    CertificateTemplate.objects.create(name="Cert")
    params = {
        "self_enrolment": True,
        "self_unenrolment": True,
        "learners_may_clear": True,
        "learners_may_recompute": True,
        "sequential_lessons": False,
        "lesson_prerequisites": True,
        "course_type": "classroom",
        "launch_protocol": "hacp",
        "cmi_review": "suspend",
        "cmi_browse": "not_allowed",
        "window_width": 1024,
        "window_height": 768,
        "full_screen": True,
        "certificate_template": "Cert",
    }
    rep = act("courses.modify-settings", params, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "updated", "")]
    c = Course.objects.get(code="SAFE-101")
    assert (c.self_enrolment, c.self_unenrolment, c.learners_may_clear) == (True, True, True)
    assert (c.sequential_lessons, c.lesson_prerequisites, c.full_screen) == (False, True, True)
    assert (c.course_type, c.launch_protocol, c.cmi_review, c.cmi_browse) == (
        "classroom",
        "hacp",
        "suspend",
        "not_allowed",
    )
    assert (c.window_width, c.window_height, c.certificate_template.name) == (1024, 768, "Cert")
    _, conflicts = undo(rep.operation.pk)
    c.refresh_from_db()
    assert not conflicts and (c.sequential_lessons, c.certificate_template_id) == (True, None)


def test_courses_modify_settings_sequential_and_prerequisites_given_alike_is_invalid_combination(
    world, act
):
    for both in (True, False):
        with pytest.raises(FileError) as e:
            act(
                "courses.modify-settings",
                {"sequential_lessons": both, "lesson_prerequisites": both},
                ids=["SAFE-101"],
            )
        assert e.value.code == "invalid_combination"


def test_courses_modify_settings_against_the_course_existing_value_is_invalid_combination(
    world, act
):
    Course.objects.filter(code="FIRE-101").update(
        sequential_lessons=False, lesson_prerequisites=True
    )
    # SAFE-101 is sequential: turning prerequisites on leaves both on; FIRE-101 has them already.
    rep = act(
        "courses.modify-settings", {"lesson_prerequisites": True}, ids=["SAFE-101", "FIRE-101"]
    )
    assert sorted(results(rep)) == [
        ("FIRE-101", "unchanged", ""),
        ("SAFE-101", "rejected", "invalid_combination"),
    ]
    assert (
        "both would be on for course SAFE-101"
        in next(r for r in rep.rows if r["code"] == "SAFE-101")["message"]
    )
    assert values("sequential_lessons", "lesson_prerequisites") == (True, False)


def test_courses_modify_settings_swapping_sequential_for_prerequisites_is_allowed(world, act):
    act(
        "courses.modify-settings",
        {"sequential_lessons": False, "lesson_prerequisites": True},
        ids=["SAFE-101"],
    )
    assert values("sequential_lessons", "lesson_prerequisites") == (False, True)


@pytest.mark.parametrize(
    ("key", "value"),
    [("course_type", "flash"), ("cmi_review", "maybe"), ("window_width", 5), ("nope", 1)],
)
def test_courses_modify_settings_bad_value_is_invalid_parameter_naming_the_key(
    world, act, key, value
):
    with pytest.raises(FileError) as e:
        act("courses.modify-settings", {key: value}, ids=["SAFE-101"])
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == key


# courses.add-audiences --------------------------------------------------------------------------


def test_courses_add_audiences_adds_them_and_takes_none_away(world, act):
    course = Course.objects.get(code="SAFE-101")
    course.audiences.add(Audience.objects.get(name="Sales"))
    rep = act("courses.add-audiences", {"audiences": ["Managers", "Sales"]}, ids=["SAFE-101"])
    assert results(rep) == [("SAFE-101", "updated", "")]
    assert set(course.audiences.values_list("name", flat=True)) == {"Managers", "Sales"}
    again = act("courses.add-audiences", {"audiences": ["Managers"]}, ids=["SAFE-101"])
    assert results(again) == [("SAFE-101", "unchanged", "")]
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts
    assert set(course.audiences.values_list("name", flat=True)) == {"Sales"}


def test_courses_add_audiences_unknown_audience_is_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act("courses.add-audiences", {"audiences": ["Nobody"]}, ids=["SAFE-101"])
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "audiences"


# courses.assign-users ---------------------------------------------------------------------------


def test_courses_assign_users_gives_one_result_per_course_and_user(world, act):
    rep = act(
        "courses.assign-users",
        {"users": ["alice", "bob"], "option": "mandatory", "target_date": "2027-03-31"},
        ids=["SAFE-101", "FIRE-101"],
    )
    assert sorted(pair_results(rep)) == [
        ("FIRE-101", "alice", "created", ""),
        ("FIRE-101", "bob", "created", ""),
        ("SAFE-101", "alice", "created", ""),
        ("SAFE-101", "bob", "created", ""),
    ]
    target = date(2027, 3, 31)
    assert assignments() == {
        (c, u, "mandatory", target) for c in ("SAFE-101", "FIRE-101") for u in ("alice", "bob")
    }
    assert set(CourseAssignment.objects.values_list("source", flat=True)) == {"action"}


def test_courses_assign_users_takes_a_selection_object(world, act):
    folder = ListFolder.objects.get(name="Default", parent=None)
    lst = UserList.objects.create(name="Team", folder=folder)
    from registrar.directory.models import User

    for login in ("alice", "sam"):
        ListMember.objects.create(user_list=lst, user=User.objects.get(login=login))
    rep = act("courses.assign-users", {"users": {"list": "Team"}}, ids=["SAFE-101"])
    assert sorted(pair_results(rep)) == [
        ("SAFE-101", "alice", "created", ""),
        ("SAFE-101", "sam", "created", ""),
    ]
    rep = act(
        "courses.assign-users",
        {"users": {"where": [["org", "in", "ACME-EU"]], "exclude": ["alice"]}},
        ids=["FIRE-101"],
    )
    assert pair_results(rep) == [
        ("FIRE-101", "bob", "created", ""),
        ("FIRE-101", "outsider", "rejected", "user_not_in_training"),
    ]


def test_courses_assign_users_verify_only_plans_the_run_and_writes_nothing(world, act):
    params = {"users": {"where": [["org", "in", "ACME"]]}}
    verified = act("courses.assign-users", params, ids=["SAFE-101"], verify_only=True)
    assert not CourseAssignment.objects.exists()
    run = act("courses.assign-users", params, ids=["SAFE-101"])
    assert pair_results(verified) == pair_results(run)
    assert {r[1] for r in pair_results(run) if r[2] == "created"} == {"alice", "bob", "sam"}


def test_courses_assign_users_second_run_skips_already_assigned_and_undo_removes(world, act):
    first = act("courses.assign-users", {"users": ["alice"]}, ids=["SAFE-101"])
    again = act("courses.assign-users", {"users": ["alice"]}, ids=["SAFE-101"])
    assert pair_results(again) == [("SAFE-101", "alice", "skipped", "already_assigned")]
    _, conflicts = undo(first.operation.pk)
    assert not conflicts and not CourseAssignment.objects.exists()


def test_courses_assign_users_rejects_disabled_and_untrained_users(world, act):
    rep = act("courses.assign-users", {"users": ["gone", "outsider"]}, ids=["SAFE-101"])
    assert sorted(pair_results(rep)) == [
        ("SAFE-101", "gone", "rejected", "user_disabled"),
        ("SAFE-101", "outsider", "rejected", "user_not_in_training"),
    ]


def test_courses_assign_users_outside_the_scope_is_rejected_out_of_scope(world, act):
    rep = act(
        "courses.assign-users", {"users": ["alice", "sam"]}, ids=["SAFE-101"], scope="ACME-EU"
    )
    assert sorted(pair_results(rep)) == [
        ("SAFE-101", "alice", "created", ""),
        ("SAFE-101", "sam", "rejected", "out_of_scope"),
    ]


def test_courses_assign_users_outside_the_course_audiences_is_audience_mismatch(world, act):
    Course.objects.get(code="SAFE-101").audiences.add(Audience.objects.get(name="Managers"))
    rep = act("courses.assign-users", {"users": ["alice"]}, ids=["SAFE-101"])
    assert pair_results(rep) == [("SAFE-101", "alice", "rejected", "audience_mismatch")]
    rep = act(
        "courses.assign-users", {"users": ["alice"], "ignore_audiences": True}, ids=["SAFE-101"]
    )
    assert pair_results(rep) == [("SAFE-101", "alice", "created", "")]


def test_courses_assign_users_unknown_login_or_empty_selection_is_invalid_parameter(world, act):
    for users in (["alice", "nobody"], {"where": [["login", "eq", "nobody"]]}):
        with pytest.raises(FileError) as e:
            act("courses.assign-users", {"users": users}, ids=["SAFE-101"])
        assert e.value.code == "invalid_parameter" and e.value.params["key"] == "users"


def test_courses_assign_users_without_users_is_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act("courses.assign-users", {"option": "free"}, ids=["SAFE-101"])
    assert e.value.params["key"] == "users"


def test_courses_assign_users_results_file_names_code_and_user_login(world, act):
    rep = act("courses.assign-users", {"users": "alice, bob"}, ids=["SAFE-101"])
    assert list(rep.rows[0]) == ["code", "user_login", "result", "codes", "message"]
    assert len(Change.objects.filter(operation=rep.operation)) >= 1


# courses.modify-assignments ---------------------------------------------------------------------


def test_courses_modify_assignments_changes_existing_ones_and_rejects_not_assigned(world, act):
    act("courses.assign-users", {"users": ["alice"], "target_date": "2027-01-31"}, ids=["SAFE-101"])
    rep = act(
        "courses.modify-assignments",
        {"users": ["alice", "bob"], "option": "recommended", "target_date": None},
        ids=["SAFE-101"],
    )
    assert sorted(pair_results(rep)) == [
        ("SAFE-101", "alice", "updated", ""),
        ("SAFE-101", "bob", "rejected", "not_assigned"),
    ]
    assert assignments() == {("SAFE-101", "alice", "recommended", None)}
    again = act(
        "courses.modify-assignments",
        {"users": ["alice"], "option": "recommended", "target_date": None},
        ids=["SAFE-101"],
    )
    assert pair_results(again) == [("SAFE-101", "alice", "unchanged", "")]
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts
    assert assignments() == {("SAFE-101", "alice", "free", date(2027, 1, 31))}


def test_courses_modify_assignments_billing_is_set(world, act):
    act("courses.assign-users", {"users": ["alice"]}, ids=["SAFE-101"])
    act(
        "courses.modify-assignments",
        {
            "users": ["alice"],
            "billing_mode": "by_hour",
            "billing_code": "PO-7",
            "unit_cost": "12.5",
        },
        ids=["SAFE-101"],
    )
    a = CourseAssignment.objects.get()
    assert (a.billing_mode, a.billing_code, str(a.unit_cost)) == ("hour", "PO-7", "12.50")


def test_courses_modify_assignments_dates_out_of_order_are_invalid_combination(world, act):
    with pytest.raises(FileError) as e:
        act(
            "courses.modify-assignments",
            {"users": ["alice"], "start_date": "2027-05-01", "end_date": "2027-01-01"},
            ids=["SAFE-101"],
        )
    assert e.value.code == "invalid_combination"


def test_courses_assign_users_with_a_mail_template_queues_a_mail_per_user_and_course(world, act):
    from registrar.notify.models import MailTemplate, OutboxMail

    MailTemplate.objects.create(
        code="assigned",
        culture="",
        subject="New course: {{ course.title }}",
        body="Hello {{ user.login }}, finish {{ course.code }} by {{ assignment.target_date }}.",
    )
    params = {"users": ["alice", "bob"], "target_date": "2030-06-15", "mail_template": "assigned"}
    act("courses.assign-users", params, ids=["SAFE-101"], verify_only=True)
    assert not OutboxMail.objects.exists()  # verify-only queues nothing
    act("courses.assign-users", params, ids=["SAFE-101"])
    mails = set(OutboxMail.objects.values_list("to", "subject", "body"))
    assert mails == {
        (
            f"{u}@example.com",
            "New course: Course SAFE-101",
            f"Hello {u}, finish SAFE-101 by June 15, 2030.",
        )
        for u in ("alice", "bob")
    }


def test_courses_assign_users_mail_template_naming_an_unknown_field_is_refused(world, act):
    from registrar.notify.models import MailTemplate

    MailTemplate.objects.create(code="bad", culture="", subject="{{ exam.title }}", body="x")
    with pytest.raises(FileError) as e:
        act("courses.assign-users", {"users": ["alice"], "mail_template": "bad"}, ids=["SAFE-101"])
    assert e.value.code == "template_field_unavailable"


def test_courses_modify_settings_credits_offered_per_credit_type_are_set_changed_or_removed(
    world, act
):
    from decimal import Decimal

    from registrar.catalogue.models import CourseCredit, CreditType

    cpd, ama = CreditType.objects.create(name="CPD"), CreditType.objects.create(name="AMA")
    safe = Course.objects.get(code="SAFE-101")
    CourseCredit.objects.create(course=safe, credit_type=ama, amount=2)

    def offered():
        return set(CourseCredit.objects.values_list("course__code", "credit_type__name", "amount"))

    rep = act(
        "courses.modify-settings",
        {"credits": {"CPD": 1.5, "AMA": None}},
        ids=["SAFE-101", "FIRE-101"],
    )
    assert sorted(results(rep)) == [("FIRE-101", "updated", ""), ("SAFE-101", "updated", "")]
    assert offered() == {("SAFE-101", "CPD", Decimal("1.50")), ("FIRE-101", "CPD", Decimal("1.50"))}
    again = act("courses.modify-settings", {"credits": "CPD:1.5"}, ids=["SAFE-101", "FIRE-101"])
    assert {r[1] for r in results(again)} == {"unchanged"}
    _, conflicts = undo(rep.operation.pk)
    assert not conflicts and offered() == {("SAFE-101", "AMA", Decimal("2.00"))}
    assert cpd.pk


def test_courses_modify_settings_unknown_credit_type_is_invalid_parameter(world, act):
    with pytest.raises(FileError) as e:
        act("courses.modify-settings", {"credits": {"Nope": 1}}, ids=["SAFE-101"])
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "credits"


# The API and the portal's assistant run the same actions ------------------------------------------


@pytest.mark.django_db(databases=["default", "jobs"])
def test_courses_assign_users_through_the_api_and_the_portal_assistant(world, client):
    from registrar.api.models import ApiToken

    from .portal_fixtures import run_jobs
    from .test_api import Api

    admin = f.user("boss", world["eu"], is_staff=True)
    f.grant(admin, "Site administrator")
    api = Api(ApiToken.issue(admin, "test")[1])
    body = {"selection": {"ids": ["SAFE-101"]}, "params": {"users": {"ids": ["alice", "bob"]}}}
    r = api.post("/api/actions/courses/assign-users/run", body)
    assert r.status_code == 202, r.content
    run_jobs()
    job = api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["result"]["created"] == 2
    rows = api.get(f"/api/operations/{job['operation']}/rows").json()["rows"]
    assert {(r["code"], r["user_login"], r["result"]) for r in rows} == {
        ("SAFE-101", "alice", "created"),
        ("SAFE-101", "bob", "created"),
    }
    bad = api.post("/api/actions/courses/assign-users/run", {**body, "params": {"users": ["x"]}})
    assert bad.status_code == 400 and "users" in bad.content.decode()

    client.force_login(admin)
    page = client.get("/assistants/courses/", {"go": "1", "ids": "FIRE-101"})
    assert page.status_code == 200
    assert b'data-testid="action-assign-users"' in page.content
    url = "/assistants/courses/assign-users/"
    form = client.get(url, {"selection": '{"ids": ["FIRE-101"]}'})
    assert form.status_code == 200 and b'name="users"' in form.content
    done = client.post(
        url, {"selection": '{"ids": ["FIRE-101"]}', "users": "alice, sam", "go": "run"}
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    run_jobs()
    assert set(
        CourseAssignment.objects.filter(course__code="FIRE-101").values_list(
            "user__login", flat=True
        )
    ) == {"alice", "sam"}
