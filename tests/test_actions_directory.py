"""The user assistant's directory actions (SPEC §5, seed 003): add audiences, add roles, set
(alternate) manager, modify values, make tutors, save the selection as a list, send a
notification, add a calendar event. The rules every action follows (verify-only, a second run,
undo, scope, invalid parameters) run over each; then each action's own rules."""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.core.errors import FileError
from registrar.directory.models import (
    Audience,
    ListFolder,
    ListMember,
    Role,
    RoleGrant,
    User,
    UserAudience,
    UserList,
)
from registrar.journal.undo import undo
from registrar.learning.models import CourseAssignment
from registrar.notify.models import CalendarEvent, Notification

from . import factories as f


@pytest.fixture
def acme(db):
    """ACME ⊃ ACME-EU ⊃ ACME-FR, and OTHER beside it; users in each; audiences, roles, a static
    and a dynamic list, two courses."""
    root = f.org("ACME")
    eu = f.org("ACME-EU", parent=root)
    fr = f.org("ACME-FR", parent=eu)
    other = f.org("OTHER")
    users = {
        "amartin": f.user("amartin", eu),
        "bdurand": f.user("bdurand", fr),
        "boss": f.user("boss", eu),
        "zed": f.user("zed", other),
    }
    Audience.objects.create(name="Managers")
    Audience.objects.create(name="Drivers")
    Role.objects.create(name="Manager", permissions=[])
    Role.objects.create(name="HR officer", permissions=["directory.*"])
    default = ListFolder.objects.get(name="Default", parent=None)
    newcomers = UserList.objects.create(name="Newcomers", folder=default)
    UserList.objects.create(
        name="Everyone in EU",
        folder=default,
        kind=UserList.Kind.DYNAMIC,
        criteria={"where": [["org", "in", "ACME-EU"]]},
    )
    for login in ("amartin", "bdurand", "zed"):
        ListMember.objects.create(user_list=newcomers, user=users[login])
    safe, fire = f.course("SAFE-101"), f.course("FIRE-201")
    for login in ("amartin", "bdurand", "zed"):
        CourseAssignment.objects.create(user=users[login], course=safe)
    CourseAssignment.objects.create(user=users["amartin"], course=fire)
    return users


def admin_of(org: str, login: str = "eu.admin", role: str = "Organisation administrator"):
    """A user holding `role` over `org`'s subtree: an actor confined to it."""
    from registrar.directory.models import Organisation

    o = Organisation.objects.get(extid=org)
    u = f.user(login, o)
    f.grant(u, role, o)
    return User.objects.get(pk=u.pk)


def state() -> dict:
    """Everything these actions may write, as comparable values."""

    def rows(qs, *fields):
        return sorted(qs.values_list(*fields))

    return {
        "audiences": rows(UserAudience.objects, "user__login", "audience__name"),
        "grants": rows(RoleGrant.objects, "user__login", "role__name", "scope__extid"),
        "lists": rows(UserList.objects, "name", "kind", "description", "folder__name"),
        "folders": rows(ListFolder.objects, "name", "parent__name"),
        "members": rows(ListMember.objects, "user_list__name", "user__login", "entered_at"),
        "tutors": rows(CourseAssignment.objects, "user__login", "course__code", "tutors__name"),
        "notifications": rows(Notification.objects, "user__login", "text"),
        "events": rows(CalendarEvent.objects, "user__login", "name", "start", "end"),
        "users": rows(
            User.objects,
            "login",
            "manager__login",
            "alternate_manager__login",
            "disabled",
            "activation_date",
            "expiration_date",
            "custom1",
            "custom2",
            "two_factor",
        ),
    }


def results(rep) -> list[tuple]:
    return [
        (
            r["user_login"],
            *([r["course_code"]] if "course_code" in r else []),
            r["result"],
            r["codes"],
        )
        for r in rep.rows
    ]


# One parameter set per action, run on amartin and bdurand (both in ACME-EU's subtree).
CASES = {
    "users.add-audiences": {"audiences": ["Managers", "Drivers"]},
    "users.add-roles": {"roles": ["Manager", "HR officer"], "scope": "ACME-EU"},
    "users.set-manager": {"manager": "boss"},
    "users.set-alternate-manager": {"manager": "boss"},
    "users.modify-values": {"udtf1": "Wave 2", "expiration_date": "2027-12-31"},
    "users.make-tutors": {"courses": ["SAFE-101", "FIRE-201"], "list": "Newcomers"},
    "users.save-list": {"name": "Wave 2", "description": "Second wave", "folder": "HR/Waves"},
    "users.send-notification": {"text": "The safety course is open."},
    "users.add-calendar-event": {
        "name": "Induction day",
        "start": "2027-03-01T09:00",
        "end": "2027-03-01T17:00",
    },
}
REPEATABLE = {"users.send-notification", "users.add-calendar-event"}
IDS = ["amartin", "bdurand"]
# A bad value of one key per action: refused before anything runs, naming the key.
INVALID = {
    "users.add-audiences": ({"audiences": ["Managers", "Nobody"]}, "audiences"),
    "users.add-roles": ({"roles": ["Manager"], "scope": "NOWHERE"}, "scope"),
    "users.set-manager": ({"manager": "ghost"}, "manager"),
    "users.set-alternate-manager": ({"manager": ""}, "manager"),
    "users.modify-values": ({"two_factor": "sometimes"}, "two_factor"),
    "users.make-tutors": ({"courses": ["SAFE-101"], "list": "Nope"}, "list"),
    "users.save-list": ({"name": "  "}, "name"),
    "users.send-notification": ({"text": "x" * 501}, "text"),
    "users.add-calendar-event": (
        {"name": "Day", "start": "tomorrow", "end": "2027-03-01T17:00"},
        "start",
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_verify_only_gives_the_same_rows_as_the_run_and_writes_nothing(act, acme, name):
    before = state()
    verified = act(name, params=CASES[name], ids=IDS, verify_only=True)
    assert state() == before
    real = act(name, params=CASES[name], ids=IDS)
    assert results(verified) == results(real)
    assert real.counts["rejected"] == 0 and real.counts["created"] + real.counts["updated"] > 0
    assert state() != before


@pytest.mark.parametrize("name", sorted(set(CASES) - REPEATABLE))
def test_a_second_run_changes_nothing(act, acme, name):
    act(name, params=CASES[name], ids=IDS)
    after = state()
    again = act(name, params=CASES[name], ids=IDS)
    assert state() == after
    assert {r["result"] for r in again.rows} == {"unchanged"}


@pytest.mark.parametrize("name", sorted(REPEATABLE))
def test_a_repeatable_action_sends_again_on_a_second_run(act, acme, name):
    from registrar.bulk.registry import get_step

    assert get_step(name).repeatable is True
    act(name, params=CASES[name], ids=IDS)
    again = act(name, params=CASES[name], ids=IDS)
    assert {r["result"] for r in again.rows} == {"created"}
    model = Notification if name == "users.send-notification" else CalendarEvent
    assert model.objects.count() == 4


@pytest.mark.parametrize("name", CASES)
def test_undo_restores_every_value_the_action_changed(act, acme, name):
    before = state()
    rep = act(name, params=CASES[name], ids=IDS)
    assert state() != before
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    assert state() == before


@pytest.mark.parametrize("name", CASES)
def test_a_user_outside_the_scope_is_rejected_out_of_scope(act, acme, name):
    params = {**CASES[name], "scope": "ACME-EU"} if name == "users.add-roles" else CASES[name]
    rep = act(name, params=params, ids=["zed", "amartin"], scope="ACME-EU")
    by_user = {}
    for r in rep.rows:
        by_user.setdefault(r["user_login"], set()).add((r["result"], r["codes"]))
    assert by_user["zed"] == {("rejected", "out_of_scope")}
    assert ("rejected", "out_of_scope") not in by_user["amartin"]
    assert not User.objects.get(login="zed").manager_id
    assert not UserAudience.objects.filter(user__login="zed").exists()
    assert not Notification.objects.filter(user__login="zed").exists()


@pytest.mark.parametrize("name", CASES)
def test_an_invalid_parameter_is_refused_naming_the_key(act, acme, name):
    params, key = INVALID[name]
    before = state()
    with pytest.raises(FileError) as e:
        act(name, params=params, ids=IDS)
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == key
    with pytest.raises(FileError) as e:
        act(name, params={**CASES[name], "colour": "red"}, ids=IDS)
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "colour"
    assert state() == before


@pytest.mark.parametrize(
    "name", ["users.add-audiences", "users.add-roles", "users.make-tutors", "users.save-list"]
)
def test_queries_do_not_grow_with_the_number_of_users(act, acme, name):
    def queries(n: int, prefix: str) -> int:
        eu = User.objects.get(login="amartin").organisation
        logins = [f.user(f"{prefix}{i}", eu).login for i in range(n)]
        params = dict(CASES[name])
        if name == "users.save-list":
            params["name"] = f"{prefix} list"
        if name == "users.make-tutors":  # new courses: their tutor lists are made each time
            params["courses"] = [f"{prefix}-A", f"{prefix}-B"]
            for code in params["courses"]:
                c = f.course(code)
                for login in IDS:
                    CourseAssignment.objects.create(user=acme[login], course=c)
        with CaptureQueriesContext(connection) as ctx:
            rep = act(name, params=params, ids=logins)
        assert rep.counts["rejected"] == 0
        return len(ctx.captured_queries)

    queries(1, "warm")  # folders made once, caches filled
    assert queries(3, "small") == queries(30, "large")


# users.add-audiences


def test_add_audiences_adds_only_the_missing_audiences_one_row_per_user(act, acme):
    UserAudience.objects.create(
        user=acme["amartin"], audience=Audience.objects.get(name="Managers")
    )
    rep = act("users.add-audiences", params={"audiences": ["Managers", "Drivers"]}, ids=IDS)
    assert results(rep) == [("amartin", "updated", ""), ("bdurand", "updated", "")]
    assert state()["audiences"] == [
        ("amartin", "Drivers"),
        ("amartin", "Managers"),
        ("bdurand", "Drivers"),
        ("bdurand", "Managers"),
    ]


def test_add_audiences_a_user_in_all_of_them_already_is_unchanged(act, acme):
    UserAudience.objects.create(user=acme["amartin"], audience=Audience.objects.get(name="Drivers"))
    rep = act("users.add-audiences", params={"audiences": ["drivers"]}, ids=IDS)
    assert results(rep) == [("amartin", "unchanged", ""), ("bdurand", "updated", "")]


def test_add_audiences_never_takes_an_audience_away(act, acme):
    UserAudience.objects.create(user=acme["amartin"], audience=Audience.objects.get(name="Drivers"))
    act("users.add-audiences", params={"audiences": ["Managers"]}, ids=["amartin"])
    assert state()["audiences"] == [("amartin", "Drivers"), ("amartin", "Managers")]


def test_add_audiences_to_a_privileged_user_is_rejected_privileged_user(act, acme):
    actor = admin_of("ACME-EU")
    f.grant(acme["boss"], "Site administrator")
    rep = act(
        "users.add-audiences",
        params={"audiences": ["Managers"]},
        ids=["boss", "amartin"],
        scope="ACME-EU",
        actor=actor,
    )
    assert results(rep) == [("amartin", "updated", ""), ("boss", "rejected", "privileged_user")]


# users.add-roles


def test_add_roles_grants_each_role_on_the_scope(act, acme):
    rep = act("users.add-roles", params=CASES["users.add-roles"], ids=IDS)
    assert results(rep) == [("amartin", "updated", ""), ("bdurand", "updated", "")]
    assert state()["grants"] == [
        ("amartin", "HR officer", "ACME-EU"),
        ("amartin", "Manager", "ACME-EU"),
        ("bdurand", "HR officer", "ACME-EU"),
        ("bdurand", "Manager", "ACME-EU"),
    ]


def test_add_roles_held_on_the_scope_already_is_unchanged_but_another_scope_is_not_the_same(
    act, acme
):
    from registrar.directory.models import Organisation

    manager = Role.objects.get(name="Manager")
    RoleGrant.objects.create(
        user=acme["amartin"], role=manager, scope=Organisation.objects.get(extid="ACME-EU")
    )
    RoleGrant.objects.create(
        user=acme["bdurand"], role=manager, scope=Organisation.objects.get(extid="ACME-FR")
    )
    rep = act("users.add-roles", params={"roles": ["Manager"], "scope": "ACME-EU"}, ids=IDS)
    assert results(rep) == [("amartin", "unchanged", ""), ("bdurand", "updated", "")]
    assert ("bdurand", "Manager", "ACME-FR") in state()["grants"]


def test_add_roles_requires_a_scope(act, acme):
    with pytest.raises(FileError) as e:
        act("users.add-roles", params={"roles": ["Manager"]}, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "scope")


def test_add_roles_the_actor_cannot_grant_is_rejected_role_not_grantable(act, acme):
    actor = admin_of("ACME-EU")
    rep = act(
        "users.add-roles",
        params={"roles": ["Manager", "Site administrator"], "scope": "ACME-FR"},
        ids=IDS,
        scope="ACME-EU",
        actor=actor,
    )
    assert results(rep) == [
        ("amartin", "rejected", "role_not_grantable"),
        ("bdurand", "rejected", "role_not_grantable"),
    ]
    assert "Site administrator" in rep.rows[0]["message"]
    assert not RoleGrant.objects.filter(user__login__in=IDS).exists()


def test_add_roles_a_scoped_administrator_grants_inside_their_scope(act, acme):
    actor = admin_of("ACME-EU")
    rep = act(
        "users.add-roles",
        params={"roles": ["Manager", "HR officer"], "scope": "ACME-FR"},
        ids=IDS,
        scope="ACME-EU",
        actor=actor,
    )
    assert results(rep) == [("amartin", "updated", ""), ("bdurand", "updated", "")]


def test_add_roles_on_a_scope_outside_the_operation_scope_is_rejected_out_of_scope(act, acme):
    actor = admin_of("ACME-EU")
    rep = act(
        "users.add-roles",
        params={"roles": ["Manager"], "scope": "OTHER"},
        ids=["amartin"],
        scope="ACME-EU",
        actor=actor,
    )
    assert results(rep) == [("amartin", "rejected", "out_of_scope role_not_grantable")]
    assert "OTHER" in rep.rows[0]["message"]
    assert not RoleGrant.objects.filter(user__login="amartin").exists()


def test_add_roles_to_a_privileged_user_is_rejected_privileged_user(act, acme):
    actor = admin_of("ACME-EU")
    f.grant(acme["boss"], "Site administrator")
    rep = act(
        "users.add-roles",
        params={"roles": ["Manager"], "scope": "ACME-EU"},
        ids=["boss"],
        scope="ACME-EU",
        actor=actor,
    )
    assert results(rep) == [("boss", "rejected", "privileged_user")]


# users.set-manager and users.set-alternate-manager


@pytest.mark.parametrize(
    "name,field",
    [("users.set-manager", "manager"), ("users.set-alternate-manager", "alternate_manager")],
)
def test_set_manager_makes_the_user_the_manager_of_each_selected_user(act, acme, name, field):
    rep = act(name, params={"manager": "boss"}, ids=IDS)
    assert results(rep) == [("amartin", "updated", ""), ("bdurand", "updated", "")]
    for login in IDS:
        assert getattr(User.objects.get(login=login), f"{field}_id") == acme["boss"].pk
    other = "alternate_manager" if field == "manager" else "manager"
    assert not User.objects.filter(**{f"{other}__isnull": False}).exists()


@pytest.mark.parametrize("name", ["users.set-manager", "users.set-alternate-manager"])
def test_set_manager_a_user_cannot_manage_themselves(act, acme, name):
    rep = act(name, params={"manager": "boss"}, ids=["boss", "amartin"])
    assert results(rep) == [("amartin", "updated", ""), ("boss", "rejected", "invalid_parameter")]
    assert "manage themselves" in rep.rows[1]["message"]


@pytest.mark.parametrize("name", ["users.set-manager", "users.set-alternate-manager"])
def test_set_manager_replaces_the_previous_manager(act, acme, name):
    field = "manager" if name == "users.set-manager" else "alternate_manager"
    User.objects.filter(login="amartin").update(**{field: acme["zed"]})
    rep = act(name, params={"manager": "boss"}, ids=["amartin"])
    assert results(rep) == [("amartin", "updated", "")]
    assert getattr(User.objects.get(login="amartin"), f"{field}_id") == acme["boss"].pk
    undo(rep.operation.pk)
    assert getattr(User.objects.get(login="amartin"), f"{field}_id") == acme["zed"].pk


@pytest.mark.parametrize("name", ["users.set-manager", "users.set-alternate-manager"])
def test_set_manager_of_a_privileged_user_is_rejected_privileged_user(act, acme, name):
    actor = admin_of("ACME-EU")
    f.grant(acme["amartin"], "HR officer")  # over the whole platform: not the actor's to grant
    rep = act(name, params={"manager": "boss"}, ids=IDS, scope="ACME-EU", actor=actor)
    assert results(rep) == [("amartin", "rejected", "privileged_user"), ("bdurand", "updated", "")]


@pytest.mark.parametrize("name", ["users.set-manager", "users.set-alternate-manager"])
def test_set_manager_requires_a_manager(act, acme, name):
    with pytest.raises(FileError) as e:
        act(name, params={}, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "manager")


# users.modify-values


def test_modify_values_sets_the_given_values_and_leaves_the_others(act, acme):
    User.objects.filter(login="amartin").update(custom2="kept", activation_date=date(2024, 1, 1))
    rep = act(
        "users.modify-values",
        params={"udtf1": "Wave 2", "two_factor": "first_login_of_day", "disabled": True},
        ids=["amartin"],
    )
    assert results(rep) == [("amartin", "updated", "")]
    u = User.objects.get(login="amartin")
    assert (u.custom1, u.custom2, u.two_factor, u.disabled) == (
        "Wave 2",
        "kept",
        User.TwoFactor.FIRST_LOGIN_OF_DAY,
        True,
    )
    assert u.activation_date == date(2024, 1, 1)


def test_modify_values_null_clears_a_date_or_a_custom_field(act, acme):
    User.objects.filter(login="amartin").update(custom1="old", expiration_date=date(2030, 1, 1))
    rep = act(
        "users.modify-values", params={"udtf1": None, "expiration_date": None}, ids=["amartin"]
    )
    assert results(rep) == [("amartin", "updated", "")]
    u = User.objects.get(login="amartin")
    assert (u.custom1, u.expiration_date) == ("", None)


def test_modify_values_a_user_already_so_is_unchanged(act, acme):
    User.objects.filter(login="amartin").update(custom1="Wave 2")
    rep = act("users.modify-values", params={"udtf1": "Wave 2"}, ids=IDS)
    assert results(rep) == [("amartin", "unchanged", ""), ("bdurand", "updated", "")]


def test_modify_values_activation_after_expiration_is_refused_invalid_combination(act, acme):
    with pytest.raises(FileError) as e:
        act(
            "users.modify-values",
            params={"activation_date": "2027-01-02", "expiration_date": "2027-01-01"},
            ids=IDS,
        )
    assert e.value.code == "invalid_combination"
    assert (e.value.params["first"], e.value.params["second"]) == (
        "activation_date",
        "expiration_date",
    )


def test_modify_values_a_date_against_the_users_other_date_is_rejected_invalid_combination(
    act, acme
):
    User.objects.filter(login="amartin").update(expiration_date=date(2026, 6, 30))
    rep = act("users.modify-values", params={"activation_date": "2026-07-01"}, ids=IDS)
    assert results(rep) == [
        ("amartin", "rejected", "invalid_combination"),
        ("bdurand", "updated", ""),
    ]
    assert User.objects.get(login="amartin").activation_date is None


def test_modify_values_with_nothing_to_set_is_refused(act, acme):
    with pytest.raises(FileError) as e:
        act("users.modify-values", params={}, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "params")


def test_modify_values_of_a_privileged_user_is_rejected_privileged_user(act, acme):
    actor = admin_of("ACME-EU")
    acme["bdurand"].is_staff = True
    acme["bdurand"].save()
    rep = act(
        "users.modify-values", params={"disabled": True}, ids=IDS, scope="ACME-EU", actor=actor
    )
    assert results(rep) == [("amartin", "updated", ""), ("bdurand", "rejected", "privileged_user")]
    assert not User.objects.get(login="bdurand").disabled


def test_modify_values_enables_disabled_users_when_they_are_selected(act, acme):
    User.objects.filter(login="amartin").update(disabled=True)
    rep = act(
        "users.modify-values",
        params={"disabled": "false"},
        where=["login:eq:amartin"],
        include_disabled=True,
    )
    assert results(rep) == [("amartin", "updated", "")]
    assert not User.objects.get(login="amartin").disabled


# users.make-tutors


def tutors_of(course: str) -> dict[str, str | None]:
    return dict(
        CourseAssignment.objects.filter(course__code=course).values_list(
            "user__login", "tutors__name"
        )
    )


def test_make_tutors_puts_the_users_in_the_tutor_list_the_members_assignments_point_at(act, acme):
    rep = act(
        "users.make-tutors", params={"courses": ["SAFE-101"], "list": "Newcomers"}, ids=["boss"]
    )
    assert results(rep) == [("boss", "SAFE-101", "created", "")]
    tl = UserList.objects.get(name="Tutors of SAFE-101 for Newcomers")
    assert (tl.kind, tl.folder.name, tl.folder.parent_id) == (UserList.Kind.STATIC, "Tutors", None)
    assert list(tl.members.values_list("user__login", flat=True)) == ["boss"]
    assert tutors_of("SAFE-101") == {
        "amartin": tl.name,
        "bdurand": tl.name,
        "zed": tl.name,
    }
    assert tutors_of("FIRE-201") == {"amartin": None}


def test_make_tutors_gives_each_course_its_own_tutor_list(act, acme):
    rep = act("users.make-tutors", params=CASES["users.make-tutors"], ids=["boss", "amartin"])
    assert results(rep) == [
        ("amartin", "SAFE-101", "created", ""),
        ("amartin", "FIRE-201", "created", ""),
        ("boss", "SAFE-101", "created", ""),
        ("boss", "FIRE-201", "created", ""),
    ]
    assert tutors_of("FIRE-201") == {"amartin": "Tutors of FIRE-201 for Newcomers"}
    assert set(
        ListMember.objects.filter(user_list__name="Tutors of FIRE-201 for Newcomers").values_list(
            "user__login", flat=True
        )
    ) == {"amartin", "boss"}


def test_make_tutors_adds_tutors_to_those_already_there(act, acme):
    params = {"courses": ["SAFE-101"], "list": "Newcomers"}
    act("users.make-tutors", params=params, ids=["boss"])
    rep = act("users.make-tutors", params=params, ids=["boss", "amartin"])
    assert results(rep) == [
        ("amartin", "SAFE-101", "created", ""),
        ("boss", "SAFE-101", "unchanged", ""),
    ]
    assert set(
        ListMember.objects.filter(user_list__name="Tutors of SAFE-101 for Newcomers").values_list(
            "user__login", flat=True
        )
    ) == {"amartin", "boss"}


def test_make_tutors_again_links_the_members_assigned_since(act, acme):
    params = {"courses": ["FIRE-201"], "list": "Newcomers"}
    act("users.make-tutors", params=params, ids=["boss"])
    CourseAssignment.objects.create(user=acme["bdurand"], course_id=f_course("FIRE-201"))
    rep = act("users.make-tutors", params=params, ids=["boss"])
    assert results(rep) == [("boss", "FIRE-201", "updated", "")]
    assert tutors_of("FIRE-201") == {
        "amartin": "Tutors of FIRE-201 for Newcomers",
        "bdurand": "Tutors of FIRE-201 for Newcomers",
    }
    again = act("users.make-tutors", params=params, ids=["boss"])
    assert results(again) == [("boss", "FIRE-201", "unchanged", "")]


def f_course(code: str) -> int:
    from registrar.catalogue.models import Course

    return Course.objects.get(code=code).pk


def test_make_tutors_links_once_per_course_across_batches(act, acme, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = act("users.make-tutors", params={"courses": ["SAFE-101"], "list": "Newcomers"}, ids=IDS)
    assert results(rep) == [
        ("amartin", "SAFE-101", "created", ""),
        ("bdurand", "SAFE-101", "created", ""),
    ]
    assert set(tutors_of("SAFE-101").values()) == {"Tutors of SAFE-101 for Newcomers"}


def test_make_tutors_leaves_members_outside_the_scope(act, acme):
    rep = act(
        "users.make-tutors",
        params={"courses": ["SAFE-101"], "list": "Newcomers"},
        ids=["boss"],
        scope="ACME-EU",
    )
    assert results(rep) == [("boss", "SAFE-101", "created", "")]
    assert tutors_of("SAFE-101")["zed"] is None
    assert tutors_of("SAFE-101")["bdurand"] == "Tutors of SAFE-101 for Newcomers"


def test_make_tutors_replaces_another_tutor_list_and_undo_puts_it_back(act, acme):
    default = ListFolder.objects.get(name="Default")
    old = UserList.objects.create(name="Old tutors", folder=default)
    CourseAssignment.objects.filter(user__login="amartin").update(tutors=old)
    rep = act(
        "users.make-tutors", params={"courses": ["SAFE-101"], "list": "Newcomers"}, ids=["boss"]
    )
    assert tutors_of("SAFE-101")["amartin"] == "Tutors of SAFE-101 for Newcomers"
    undo(rep.operation.pk)
    assert tutors_of("SAFE-101")["amartin"] == "Old tutors"
    assert not UserList.objects.filter(name__startswith="Tutors of").exists()


def test_make_tutors_for_a_dynamic_list_is_refused_not_tutor_list(act, acme):
    with pytest.raises(FileError) as e:
        act(
            "users.make-tutors",
            params={"courses": ["SAFE-101"], "list": "Everyone in EU"},
            ids=["boss"],
        )
    assert (e.value.code, e.value.params["key"]) == ("not_tutor_list", "list")
    assert not UserList.objects.filter(name__startswith="Tutors of").exists()


def test_make_tutors_needs_courses_and_a_list(act, acme):
    for params, key in (({"list": "Newcomers"}, "courses"), ({"courses": ["SAFE-101"]}, "list")):
        with pytest.raises(FileError) as e:
            act("users.make-tutors", params=params, ids=["boss"])
        assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", key)


def test_make_tutors_names_a_long_tutor_list_by_ids(act, acme):
    default = ListFolder.objects.get(name="Default")
    long = UserList.objects.create(name="L" * 150, folder=default)
    ListMember.objects.create(user_list=long, user=acme["amartin"])
    act("users.make-tutors", params={"courses": ["SAFE-101"], "list": "L" * 150}, ids=["boss"])
    name = f"Tutors of course #{f_course('SAFE-101')} for list #{long.pk}"
    assert tutors_of("SAFE-101")["amartin"] == name


# users.save-list


def test_save_list_creates_a_static_list_with_the_users_entering_at_the_start(act, acme):
    rep = act("users.save-list", params=CASES["users.save-list"], ids=IDS)
    assert results(rep) == [("amartin", "created", ""), ("bdurand", "created", "")]
    lst = UserList.objects.get(name="Wave 2")
    assert (lst.kind, lst.description) == (UserList.Kind.STATIC, "Second wave")
    assert (lst.folder.name, lst.folder.parent.name, lst.folder.parent.parent_id) == (
        "Waves",
        "HR",
        None,
    )
    assert {m.entered_at for m in lst.members.all()} == {rep.operation.started_at}


def test_save_list_goes_in_the_default_folder_when_none_is_given(act, acme):
    act("users.save-list", params={"name": "Wave 3"}, ids=IDS)
    lst = UserList.objects.get(name="Wave 3")
    assert (lst.folder.name, lst.folder.parent_id, lst.description) == ("Default", None, "")
    assert ListFolder.objects.filter(name="Default").count() == 1


def test_save_list_fills_an_existing_list_keeping_its_members_and_their_dates(act, acme):
    entered = ListMember.objects.get(user__login="amartin").entered_at
    rep = act(
        "users.save-list",
        params={"name": "Newcomers", "folder": "Elsewhere", "description": "ignored"},
        ids=["amartin", "boss"],
    )
    assert results(rep) == [("amartin", "unchanged", ""), ("boss", "created", "")]
    lst = UserList.objects.get(name="Newcomers")
    assert (lst.folder.name, lst.description) == ("Default", "")
    assert ListMember.objects.get(user__login="amartin", user_list=lst).entered_at == entered
    assert set(lst.members.values_list("user__login", flat=True)) == {
        "amartin",
        "bdurand",
        "zed",
        "boss",
    }
    assert not ListFolder.objects.filter(name="Elsewhere").exists()


def test_save_list_with_a_dynamic_lists_name_is_refused_invalid_parameter(act, acme):
    with pytest.raises(FileError) as e:
        act("users.save-list", params={"name": "Everyone in EU"}, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "name")


def test_save_list_creates_no_list_when_no_user_is_added(act, acme):
    rep = act("users.save-list", params={"name": "Wave 9"}, ids=["zed"], scope="ACME-EU")
    assert results(rep) == [("zed", "rejected", "out_of_scope")]
    assert not UserList.objects.filter(name="Wave 9").exists()


def test_save_list_across_batches_creates_the_list_once(act, acme, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = act("users.save-list", params={"name": "Wave 4"}, ids=["amartin", "bdurand", "boss"])
    assert [r["result"] for r in rep.rows] == ["created"] * 3
    assert UserList.objects.get(name="Wave 4").members.count() == 3


# users.send-notification


def test_send_notification_gives_each_user_the_text(act, acme):
    rep = act("users.send-notification", params={"text": "  Hello there  "}, ids=IDS)
    assert results(rep) == [("amartin", "created", ""), ("bdurand", "created", "")]
    assert state()["notifications"] == [("amartin", "Hello there"), ("bdurand", "Hello there")]
    assert not Notification.objects.filter(read=True).exists()


@pytest.mark.parametrize("text", ["", "   ", "x" * 501, "a\x00b", 12])
def test_send_notification_text_must_be_plain_text_of_at_most_500_characters(act, acme, text):
    with pytest.raises(FileError) as e:
        act("users.send-notification", params={"text": text}, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", "text")


def test_send_notification_of_500_characters_is_sent(act, acme):
    act("users.send-notification", params={"text": "é" * 500}, ids=["amartin"])
    assert Notification.objects.get().text == "é" * 500


# users.add-calendar-event


def test_add_calendar_event_adds_the_event_to_each_users_calendar(act, acme):
    rep = act(
        "users.add-calendar-event",
        params={
            "name": "Induction day",
            "description": "Room 2",
            "start": "2027-03-01T09:00+01:00",
            "end": "2027-03-01T17:00+01:00",
        },
        ids=IDS,
    )
    assert results(rep) == [("amartin", "created", ""), ("bdurand", "created", "")]
    ev = CalendarEvent.objects.get(user__login="amartin")
    assert (ev.name, ev.description) == ("Induction day", "Room 2")
    assert ev.start == datetime.fromisoformat("2027-03-01T08:00+00:00")
    assert (ev.end - ev.start).total_seconds() == 8 * 3600


def test_add_calendar_event_without_a_zone_is_in_the_platforms(act, acme):
    act("users.add-calendar-event", params=CASES["users.add-calendar-event"], ids=["amartin"])
    ev = CalendarEvent.objects.get()
    assert timezone.localtime(ev.start).replace(tzinfo=None) == datetime(2027, 3, 1, 9, 0)


@pytest.mark.parametrize(
    "start,end", [("2027-03-01T17:00", "2027-03-01T09:00"), ("2027-03-01", "2027-03-01")]
)
def test_add_calendar_event_ending_before_it_starts_is_refused_invalid_combination(
    act, acme, start, end
):
    with pytest.raises(FileError) as e:
        act(
            "users.add-calendar-event",
            params={"name": "Day", "start": start, "end": end},
            ids=IDS,
        )
    assert e.value.code == "invalid_combination"
    assert (e.value.params["first"], e.value.params["second"]) == ("start", "end")
    assert not CalendarEvent.objects.exists()


@pytest.mark.parametrize("missing", ["name", "start", "end"])
def test_add_calendar_event_needs_a_name_a_start_and_an_end(act, acme, missing):
    params = {k: v for k, v in CASES["users.add-calendar-event"].items() if k != missing}
    with pytest.raises(FileError) as e:
        act("users.add-calendar-event", params=params, ids=IDS)
    assert (e.value.code, e.value.params["key"]) == ("invalid_parameter", missing)
