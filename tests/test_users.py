"""users import (SPEC §4.6, seed 003): one test per rule."""

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher
from django.utils import timezone

from registrar.directory.models import (
    Audience,
    ListMember,
    Role,
    RoleGrant,
    User,
    UserAudience,
    UserList,
)
from registrar.journal.models import Change
from registrar.notify.models import OutboxMail

from . import factories as f

H = [
    "user_lname",
    "user_fname",
    "user_tname",
    "user_login",
    "user_password",
    "org_extid",
    "user_email",
    "user_extid",
    "user_disable",
    "user_culture",
    "birth_date",
    "user_activation_date",
    "user_expiration_date",
    "user_manager_extid",
    "user_alternate_manager_extid",
    "user_address1",
    "user_address2",
    "user_zip",
    "user_city",
    "user_country",
    "user_phone",
    "user_cellphone",
    "user_hourly_cost",
    *[f"user_udtf{i}" for i in range(1, 11)],
    "user_audiences",
    "user_roles",
    "job_position_id",
    "list_name",
    "training_access",
]
PW = "Tr0ub4dor&3-unique"


@pytest.fixture
def world(db):
    acme = f.org("ACME")
    eu = f.org("EU", parent=acme)
    f.org("FR", parent=eu)
    f.org("US", parent=acme)
    for name in ("Managers", "Sales", "Staff"):
        Audience.objects.create(name=name)
    for name in ("Tutor", "Reviewer"):
        Role.objects.create(name=name)
    return eu


def u(login: str, org: str = "EU", password: str = PW, **kw) -> dict:
    """A users row; the names match what factories.user gives an existing user."""
    return {
        "user_lname": login.title(),
        "user_fname": "Test",
        "user_login": login,
        "user_password": password,
        "org_extid": org,
        **kw,
    }


def existing(login: str, org: str = "EU", password: str | None = None, **kw) -> User:
    from registrar.directory.models import Organisation

    user = f.user(login, organisation=Organisation.objects.get(extid=org), **kw)
    if password:
        user.set_password(password)
        user.save()
    return user


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def get(login: str) -> User:
    return User.objects.get(login=login)


def test_every_column_lands_in_its_field(run_import, world):
    boss = existing("boss", extid="BOSS")
    deputy = existing("deputy", extid="DEPUTY")
    full = {
        "user_lname": "Martin",
        "user_fname": "Alice",
        "user_tname": "mme",
        "user_login": "amartin",
        "user_password": PW,
        "org_extid": "FR",
        "user_email": "Alice.Martin@Example.com",
        "user_extid": "E1001",
        "user_disable": "1",
        "user_culture": "fr-FR",
        "birth_date": "1985/04/12",
        "user_activation_date": "2024-01-01",
        "user_expiration_date": "2030-12-31",
        "user_manager_extid": "BOSS",
        "user_alternate_manager_extid": "DEPUTY",
        "user_address1": "1 rue de la Paix",
        "user_address2": "Bâtiment B",
        "user_zip": "69001",
        "user_city": "Lyon",
        "user_country": "France",
        "user_phone": "+33 4 00 00 00 00",
        "user_cellphone": "+33 6 00 00 00 00",
        "user_hourly_cost": "35,50",
        **{f"user_udtf{i}": f"custom value {i}" for i in range(1, 11)},
        "user_audiences": "Managers||Sales",
        "user_roles": "Tutor:EU||Reviewer",
        "job_position_id": "J-12",
        "list_name": "Newcomers",
        "training_access": "0",
    }
    assert list(full) == H
    rep = run_import("users", H, [list(full.values())])
    assert results(rep) == [("created", "list_created")]
    a = get("amartin")
    assert (a.last_name, a.first_name, a.title) == ("Martin", "Alice", "Mme")
    assert a.organisation.extid == "FR"
    assert (a.email, a.extid, a.disabled, a.culture) == (
        "Alice.Martin@Example.com",
        "E1001",
        True,
        "fr-FR",
    )
    assert (a.birth_date, a.activation_date, a.expiration_date) == (
        date(1985, 4, 12),
        date(2024, 1, 1),
        date(2030, 12, 31),
    )
    assert (a.manager_id, a.alternate_manager_id) == (boss.pk, deputy.pk)
    assert (a.address1, a.address2, a.zipcode, a.city, a.country) == (
        "1 rue de la Paix",
        "Bâtiment B",
        "69001",
        "Lyon",
        "France",
    )
    assert (a.phone, a.cellphone, a.hourly_cost) == (
        "+33 4 00 00 00 00",
        "+33 6 00 00 00 00",
        Decimal("35.50"),
    )
    assert [getattr(a, f"custom{i}") for i in range(1, 11)] == [
        f"custom value {i}" for i in range(1, 11)
    ]
    assert set(a.audiences.values_list("name", flat=True)) == {"Managers", "Sales"}
    assert set(a.role_grants.values_list("role__name", "scope__extid")) == {
        ("Tutor", "EU"),
        ("Reviewer", None),
    }
    assert a.job_position == "J-12"
    assert list(ListMember.objects.filter(user=a).values_list("user_list__name", flat=True)) == [
        "Newcomers"
    ]
    assert a.training_access is False
    assert a.check_password(PW)
    assert (a.externally_managed, a.must_change_password) == (False, False)


@pytest.mark.parametrize("column", ["user_lname", "user_fname", "user_login", "org_extid"])
def test_missing_required_value_is_rejected(run_import, world, column):
    row = u("newbie")
    row[column] = ""
    rep = run_import.dicts("users", [row, u("other")])
    assert results(rep) == [("rejected", "missing_value"), ("created", "")]
    assert column in rep.rows[0]["message"]
    assert not User.objects.filter(last_name="Newbie").exists()


def test_a_new_user_without_a_password_gets_an_unusable_one_and_a_set_password_mail(
    run_import, world
):
    """Issue 15: no password and no hash is not a reject: no one can sign in with the account
    until its owner chooses a password through the link the mail carries."""
    rep = run_import.dicts(
        "users",
        [u("newbie", password="", user_email="newbie@example.com"), u("nomail", password="")],
    )
    assert results(rep) == [("created", ""), ("created", "")]
    newbie = get("newbie")
    assert not newbie.has_usable_password() and not newbie.check_password("")
    mails = list(OutboxMail.objects.filter(user_id=newbie.pk))
    assert len(mails) == 1 and mails[0].link == OutboxMail.Link.SET_PASSWORD
    assert not OutboxMail.objects.filter(user_id=get("nomail").pk).exists()


def test_a_file_without_a_password_column_creates_users_without_passwords(run_import, world):
    row = u("newbie")
    del row["user_password"]
    rep = run_import.dicts("users", [row])
    assert results(rep) == [("created", "")]
    assert not get("newbie").has_usable_password()


def test_an_existing_user_needs_no_password(run_import, world):
    existing("alice", password="old-secret")
    rep = run_import.dicts("users", [u("alice", password="", user_city="Lyon")])
    assert results(rep) == [("updated", "")]
    alice = get("alice")
    assert alice.city == "Lyon" and alice.check_password("old-secret")


@pytest.mark.parametrize(
    "column,value,code",
    [
        ("user_email", "not-an-email", "invalid_email"),
        ("birth_date", "12/04/1985", "invalid_date"),
        ("birth_date", (timezone.localdate() + timedelta(days=2)).isoformat(), "future_date"),
        ("user_tname", "Sir", "invalid_choice"),
        ("user_disable", "perhaps", "invalid_choice"),
        ("training_access", "2", "invalid_choice"),
        ("user_culture", "French", "invalid_choice"),
        ("user_hourly_cost", "cheap", "invalid_number"),
        ("user_hourly_cost", "-1", "invalid_number"),
        ("user_hourly_cost", "12.345", "invalid_number"),
        ("user_login", "x" * 151, "value_too_long"),
    ],
)
def test_invalid_values_are_rejected(run_import, world, column, value, code):
    rep = run_import.dicts("users", [u("newbie", **{column: value})])
    assert results(rep) == [("rejected", code)]
    assert column in rep.rows[0]["message"]
    assert User.objects.count() == 0


def test_org_not_found_is_rejected(run_import, world):
    rep = run_import.dicts("users", [u("newbie", org="NOWHERE"), u("fine")])
    assert results(rep) == [("rejected", "org_not_found"), ("created", "")]
    assert not User.objects.filter(login="newbie").exists()


def test_manager_not_found_is_a_warning_and_the_row_is_applied(run_import, world):
    rep = run_import.dicts(
        "users",
        [
            u(
                "newbie",
                user_city="Lyon",
                user_manager_extid="GHOST",
                user_alternate_manager_extid="",
            )
        ],
    )
    assert results(rep) == [("created", "manager_not_found")]
    assert "GHOST" in rep.rows[0]["message"]
    assert rep.counts["created"] == 1 and rep.counts["warnings"] == 1
    newbie = get("newbie")
    assert (newbie.city, newbie.manager_id) == ("Lyon", None)
    log = Path(rep.log_path).read_text(encoding="utf-8")
    lines = [x for x in log.splitlines() if x.startswith(f"row {rep.rows[0]['row']}:")]
    assert len(lines) == 1 and "GHOST" in lines[0]


def test_manager_not_found_on_an_existing_user_leaves_the_manager(run_import, world):
    boss = existing("boss", extid="BOSS")
    existing("alice", manager=boss)
    rep = run_import.dicts("users", [u("alice", user_city="Lyon", user_manager_extid="GHOST")])
    assert results(rep) == [("updated", "manager_not_found")]
    alice = get("alice")
    assert (alice.city, alice.manager_id) == ("Lyon", boss.pk)


@pytest.mark.parametrize("batch_size", [5000, 1])
def test_manager_defined_later_in_the_file_is_linked(run_import, world, settings, batch_size):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    rep = run_import.dicts(
        "users",
        [
            u(
                "emp",
                user_extid="EMP",
                user_manager_extid="MGR",
                user_alternate_manager_extid="BIG",
            ),
            u("mgr", user_extid="MGR", user_manager_extid="BIG"),
            u("big", user_extid="BIG"),
        ],
    )
    assert results(rep) == [("created", "")] * 3
    assert rep.counts["warnings"] == 0
    emp, mgr, big = get("emp"), get("mgr"), get("big")
    assert (emp.manager_id, emp.alternate_manager_id, mgr.manager_id) == (mgr.pk, big.pk, big.pk)
    assert "manager_not_found" not in Path(rep.log_path).read_text(encoding="utf-8")


def test_existing_user_gets_a_manager_defined_later_in_the_file(run_import, world):
    existing("alice")
    rep = run_import.dicts(
        "users", [u("alice", user_manager_extid="MGR"), u("mgr", user_extid="MGR")]
    )
    assert results(rep) == [("updated", ""), ("created", "")]
    assert get("alice").manager_id == get("mgr").pk


def test_existing_user_gets_a_manager_defined_in_a_later_batch(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    existing("alice")
    rep = run_import.dicts(
        "users", [u("alice", user_manager_extid="MGR"), u("mgr", user_extid="MGR")]
    )
    assert rep.rows[0]["codes"] == ""
    assert get("alice").manager_id == get("mgr").pk


def test_existing_user_linked_to_a_manager_in_a_later_batch_reports_updated(
    run_import, world, settings
):
    settings.REGISTRAR_BATCH_SIZE = 1
    existing("alice")
    rep = run_import.dicts(
        "users", [u("alice", user_manager_extid="MGR"), u("mgr", user_extid="MGR")]
    )
    assert get("alice").manager_id == get("mgr").pk
    assert results(rep) == [("updated", ""), ("created", "")]
    assert rep.counts["updated"] == 1


def test_manager_row_rejected_later_in_the_file_warns(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = run_import.dicts(
        "users",
        [u("emp", user_manager_extid="MGR"), u("mgr", org="NOWHERE", user_extid="MGR")],
    )
    assert results(rep) == [("created", "manager_not_found"), ("rejected", "org_not_found")]
    assert get("emp").manager_id is None


def test_match_on_extid_renames_a_login(run_import, world):
    alice = existing("alice", extid="E1", password="old-secret")
    rep = run_import.dicts(
        "users",
        [u("alice.martin", user_extid="E1", user_lname="Alice")],
        options={"match_on": "extid"},
    )
    assert results(rep) == [("updated", "")]
    alice.refresh_from_db()
    assert alice.login == "alice.martin"
    assert not User.objects.filter(login="alice").exists()
    assert User.objects.count() == 1


def test_match_on_extid_requires_the_extid(run_import, world):
    rep = run_import.dicts("users", [u("newbie", user_extid="")], options={"match_on": "extid"})
    assert results(rep) == [("rejected", "missing_value")]
    assert "user_extid" in rep.rows[0]["message"]


def test_login_in_use_is_rejected(run_import, world):
    existing("alice", extid="E1")
    existing("bob", extid="E2")
    rep = run_import.dicts(
        "users", [u("bob", user_extid="E1", user_lname="Alice")], options={"match_on": "extid"}
    )
    assert results(rep) == [("rejected", "login_in_use")]
    assert get("alice").extid == "E1" and get("bob").extid == "E2"


def test_extid_in_use_is_rejected(run_import, world):
    existing("alice", extid="E1")
    rep = run_import.dicts(
        "users",
        [u("newbie", user_extid="E1"), u("carl", user_extid="E9"), u("dora", user_extid="E9")],
    )
    assert results(rep) == [
        ("rejected", "extid_in_use"),
        ("created", ""),
        ("rejected", "extid_in_use"),
    ]
    assert get("carl").extid == "E9"
    assert not User.objects.filter(login__in=["newbie", "dora"]).exists()


def test_update_existing_no_skips_existing_users(run_import, world):
    existing("alice", city="Paris")
    existing("bob")
    rep = run_import.dicts(
        "users",
        [
            u("alice", user_city="Lyon"),
            u("newbie", user_city="Lyon"),
            u("bob", org="NOWHERE", user_city="Lyon"),
        ],
        options={"update_existing": "no"},
    )
    assert results(rep) == [
        ("skipped", "already_exists"),
        ("created", ""),
        ("skipped", "already_exists"),
    ]
    assert get("alice").city == "Paris" and get("bob").city == ""


def test_keep_passwords_by_default_leaves_the_hash(run_import, world):
    alice = existing("alice", password="old-secret")
    before = alice.password
    rep = run_import.dicts("users", [u("alice", password="new-secret")])
    assert results(rep) == [("unchanged", "")]
    alice.refresh_from_db()
    assert alice.password == before and alice.check_password("old-secret")


def test_keep_passwords_no_changes_it_and_a_reimport_is_unchanged(run_import, world):
    existing("alice", password="old-secret")
    path = run_import.file(list(u("alice")), [list(u("alice", password="new-secret").values())])
    first = run_import.run("users", path, options={"keep_passwords": "no"})
    assert results(first) == [("updated", "")]
    alice = get("alice")
    assert alice.check_password("new-secret") and not alice.check_password("old-secret")
    stored = alice.password
    second = run_import.run("users", path, options={"keep_passwords": "no"})
    assert results(second) == [("unchanged", "")]
    assert get("alice").password == stored


def test_generate_passwords(run_import, world):
    row = u("newbie")
    del row["user_password"]
    rep = run_import.dicts("users", [row], options={"generate_passwords": "yes"})
    assert results(rep) == [("created", "")]
    newbie = get("newbie")
    assert newbie.has_usable_password()
    assert identify_hasher(newbie.password).algorithm == "argon2"


def test_generate_passwords_keeps_a_given_password(run_import, world):
    rep = run_import.dicts(
        "users", [u("given"), u("generated", password="")], options={"generate_passwords": "yes"}
    )
    assert results(rep) == [("created", ""), ("created", "")]
    assert get("given").check_password(PW)
    assert get("generated").has_usable_password() and not get("generated").check_password(PW)


def test_force_password_change(run_import, world):
    rep = run_import.dicts("users", [u("newbie")], options={"force_password_change": "yes"})
    assert results(rep) == [("created", "")]
    assert get("newbie").must_change_password is True
    run_import.dicts("users", [u("other")])
    assert get("other").must_change_password is False


def test_stored_password_is_an_argon2_hash_that_check_password_accepts(run_import, world):
    run_import.dicts("users", [u("newbie")])
    stored = get("newbie").password
    assert stored.startswith("argon2$") and PW not in stored
    assert identify_hasher(stored).algorithm == "argon2"
    assert check_password(PW, stored)
    assert not check_password(PW + "x", stored)


def test_password_never_appears_in_results_rejects_log_journal_or_mail(run_import, world):
    existing("alice", password="old-secret")
    too_long = PW + "z" * 200
    rep = run_import.dicts(
        "users",
        [
            u("newbie", user_email="newbie@example.com"),
            u("lost", org="NOWHERE"),
            u("toolong", password=too_long),
            u("alice"),
            u("alice"),
        ],
        options={"keep_passwords": "no", "welcome_mail": "yes"},
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "org_not_found"),
        ("rejected", "value_too_long"),
        ("updated", ""),
        ("rejected", "duplicate_row"),
    ]
    files = [rep.results_path, rep.rejects_path, rep.log_path]
    for path in files:
        text = Path(path).read_bytes().decode("utf-8-sig")
        assert PW not in text, path
        assert "z" * 50 not in text, path
    rejects = Path(rep.rejects_path).read_text(encoding="utf-8-sig")
    assert "lost" in rejects and "toolong" in rejects
    journal = json.dumps(list(Change.objects.values("before", "after")))
    assert PW not in journal
    assert OutboxMail.objects.exists()
    assert all(PW not in m.body for m in OutboxMail.objects.all())


def test_replace_audiences_off_adds(run_import, world):
    alice = existing("alice")
    UserAudience.objects.create(user=alice, audience=Audience.objects.get(name="Staff"))
    rep = run_import.dicts("users", [u("alice", user_audiences="Managers||Sales")])
    assert results(rep) == [("updated", "")]
    assert set(alice.audiences.values_list("name", flat=True)) == {"Staff", "Managers", "Sales"}


def test_replace_audiences_on_replaces(run_import, world):
    alice = existing("alice")
    for name in ("Staff", "Sales"):
        UserAudience.objects.create(user=alice, audience=Audience.objects.get(name=name))
    rep = run_import.dicts(
        "users",
        [u("alice", user_audiences="Managers||Sales")],
        options={"replace_audiences": "yes"},
    )
    assert results(rep) == [("updated", "")]
    assert set(alice.audiences.values_list("name", flat=True)) == {"Managers", "Sales"}


def test_replace_audiences_with_an_empty_cell_removes_them_all(run_import, world):
    alice = existing("alice")
    UserAudience.objects.create(user=alice, audience=Audience.objects.get(name="Staff"))
    rep = run_import.dicts(
        "users", [u("alice", user_audiences="")], options={"replace_audiences": "yes"}
    )
    assert results(rep) == [("updated", "")]
    assert not alice.audiences.exists()


def test_replace_roles_off_adds(run_import, world):
    alice = existing("alice")
    RoleGrant.objects.create(user=alice, role=Role.objects.get(name="Reviewer"), scope=None)
    rep = run_import.dicts("users", [u("alice", user_roles="Tutor:EU")])
    assert results(rep) == [("updated", "")]
    assert set(alice.role_grants.values_list("role__name", "scope__extid")) == {
        ("Reviewer", None),
        ("Tutor", "EU"),
    }


def test_replace_roles_on_replaces(run_import, world):
    alice = existing("alice")
    RoleGrant.objects.create(user=alice, role=Role.objects.get(name="Reviewer"), scope=None)
    RoleGrant.objects.create(
        user=alice, role=Role.objects.get(name="Tutor"), scope=alice.organisation
    )
    rep = run_import.dicts(
        "users", [u("alice", user_roles="Tutor:EU||Tutor:FR")], options={"replace_roles": "yes"}
    )
    assert results(rep) == [("updated", "")]
    assert set(alice.role_grants.values_list("role__name", "scope__extid")) == {
        ("Tutor", "EU"),
        ("Tutor", "FR"),
    }


def test_audience_not_found_is_rejected(run_import, world):
    rep = run_import.dicts("users", [u("newbie", user_audiences="Managers||Astronauts")])
    assert results(rep) == [("rejected", "audience_not_found")]
    assert "Astronauts" in rep.rows[0]["message"]
    assert not User.objects.exists()
    assert not Audience.objects.filter(name="Astronauts").exists()


def test_role_not_found_is_rejected(run_import, world):
    rep = run_import.dicts("users", [u("newbie", user_roles="Tutor:EU||Wizard:EU")])
    assert results(rep) == [("rejected", "role_not_found")]
    assert "Wizard" in rep.rows[0]["message"]
    assert not User.objects.exists() and not RoleGrant.objects.exists()


def test_role_scope_is_the_organisation_after_the_colon(run_import, world):
    rep = run_import.dicts(
        "users",
        [
            u("a", user_roles="Tutor:FR"),
            u("b", user_roles="Tutor"),
            u("c", user_roles="Tutor:NOWHERE"),
        ],
    )
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "org_not_found")]
    assert RoleGrant.objects.get(user__login="a").scope.extid == "FR"
    assert RoleGrant.objects.get(user__login="b").scope is None
    assert not User.objects.filter(login="c").exists()


def test_list_name_creates_a_missing_list_with_a_warning(run_import, world):
    rep = run_import.dicts(
        "users",
        [u("a", list_name="Newcomers||Lyon"), u("b", list_name="Newcomers")],
    )
    assert results(rep) == [("created", "list_created"), ("created", "")]
    assert rep.counts["warnings"] == 2  # one per list created
    newcomers = UserList.objects.get(name="Newcomers")
    assert newcomers.folder.name == "Default" and newcomers.kind == "static"
    assert set(newcomers.members.values_list("user__login", flat=True)) == {"a", "b"}
    assert set(UserList.objects.get(name="Lyon").members.values_list("user__login", flat=True)) == {
        "a"
    }


def test_list_name_adds_to_an_existing_list_without_warning(run_import, world):
    run_import.dicts("users", [u("a", list_name="Newcomers")])
    rep = run_import.dicts("users", [u("b", list_name="Newcomers"), u("a", list_name="Newcomers")])
    assert results(rep) == [("created", ""), ("unchanged", "")]
    assert UserList.objects.count() == 1
    assert ListMember.objects.count() == 2


def test_list_created_in_an_earlier_batch_is_reused(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = run_import.dicts("users", [u("a", list_name="Newcomers"), u("b", list_name="Newcomers")])
    assert results(rep) == [("created", "list_created"), ("created", "")]
    assert UserList.objects.get().members.count() == 2


@pytest.mark.parametrize("cell,access", [("0", False), ("1", True), ("", True)])
def test_training_access(run_import, world, cell, access):
    rep = run_import.dicts("users", [u("newbie", training_access=cell)])
    assert results(rep) == [("created", "")]
    assert get("newbie").training_access is access


def test_training_access_0_on_an_existing_user(run_import, world):
    existing("alice")
    rep = run_import.dicts("users", [u("alice", training_access="0")])
    assert results(rep) == [("updated", "")]
    assert get("alice").training_access is False


def test_externally_managed(run_import, world):
    existing("alice")
    rep = run_import.dicts(
        "users", [u("alice"), u("newbie")], options={"externally_managed": "yes"}
    )
    assert results(rep) == [("updated", ""), ("created", "")]
    assert get("alice").externally_managed and get("newbie").externally_managed
    run_import.dicts("users", [u("plain")])
    assert get("plain").externally_managed is False


def test_welcome_mail_goes_through_the_outbox_without_a_password(run_import, world):
    existing("alice")
    rep = run_import.dicts(
        "users",
        [
            u("newbie", user_email="newbie@example.com"),
            u("nomail"),
            u("alice", user_email="alice@example.com"),
        ],
        options={"welcome_mail": "yes"},
    )
    assert results(rep) == [("created", ""), ("created", ""), ("unchanged", "")]
    mail = OutboxMail.objects.get()
    assert (mail.to, mail.user.login, mail.state, mail.operation_id) == (
        "newbie@example.com",
        "newbie",
        "queued",
        rep.operation.pk,
    )
    assert "newbie" in mail.body
    assert PW not in mail.body and PW not in mail.subject


def test_no_welcome_mail_by_default(run_import, world):
    run_import.dicts("users", [u("newbie", user_email="newbie@example.com")])
    assert not OutboxMail.objects.exists()


def test_without_update_info_if_present_an_empty_cell_erases(run_import, world):
    boss = existing("boss", extid="BOSS")
    existing(
        "alice",
        extid="E1",
        city="Paris",
        phone="123",
        birth_date=date(1980, 1, 1),
        hourly_cost=Decimal("10"),
        disabled=True,
        training_access=False,
        manager=boss,
        custom3="x",
    )
    row = u(
        "alice",
        user_extid="E1",
        user_city="",
        user_phone="",
        birth_date="",
        user_hourly_cost="",
        user_disable="",
        training_access="",
        user_manager_extid="",
        user_udtf3="",
        user_country="France",
    )
    rep = run_import.dicts("users", [row])
    assert results(rep) == [("updated", "")]
    a = get("alice")
    assert (a.city, a.phone, a.birth_date, a.hourly_cost, a.custom3, a.country) == (
        "",
        "",
        None,
        None,
        "",
        "France",
    )
    assert (a.disabled, a.training_access, a.manager_id, a.extid) == (False, True, None, "E1")


def test_update_info_if_present_an_empty_cell_never_erases(run_import, world):
    boss = existing("boss", extid="BOSS")
    existing(
        "alice",
        extid="E1",
        email="alice@example.com",
        city="Paris",
        birth_date=date(1980, 1, 1),
        hourly_cost=Decimal("10"),
        disabled=True,
        training_access=False,
        manager=boss,
        custom3="x",
    )
    UserAudience.objects.create(user=get("alice"), audience=Audience.objects.get(name="Staff"))
    row = u(
        "alice",
        user_extid="",
        user_email="",
        user_city="",
        birth_date="",
        user_hourly_cost="",
        user_disable="",
        training_access="",
        user_manager_extid="",
        user_udtf3="",
        user_audiences="",
        user_country="France",
    )
    rep = run_import.dicts(
        "users",
        [row],
        options={"update_info_if_present": "yes", "replace_audiences": "yes"},
    )
    assert results(rep) == [("updated", "")]
    a = get("alice")
    assert (a.extid, a.email, a.city, a.birth_date, a.hourly_cost, a.custom3, a.country) == (
        "E1",
        "alice@example.com",
        "Paris",
        date(1980, 1, 1),
        Decimal("10"),
        "x",
        "France",
    )
    assert (a.disabled, a.training_access, a.manager_id) == (True, False, boss.pk)
    assert list(a.audiences.values_list("name", flat=True)) == ["Staff"]


def test_scope_rejects_users_outside_it(run_import, world):
    existing("yank", org="US")
    existing("eve", org="EU")
    rep = run_import.dicts(
        "users",
        [
            u("newfr", org="FR"),
            u("newus", org="US"),
            u("yank", org="EU"),
            u("eve", org="US"),
            u("tutor", org="FR", user_roles="Tutor:US"),
            u("admin", org="FR", user_roles="Tutor"),
            u("local", org="FR", user_roles="Tutor:FR"),
        ],
        scope="EU",
    )
    assert results(rep) == [
        ("created", ""),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
        ("created", ""),
    ]
    assert get("yank").organisation.extid == "US"
    assert get("eve").organisation.extid == "EU"
    assert set(User.objects.values_list("login", flat=True)) == {"yank", "eve", "newfr", "local"}


def test_duplicate_login_rejects_the_later_row(run_import, world):
    rep = run_import.dicts("users", [u("alice", user_city="A"), u("ALICE", user_city="B")])
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]
    assert get("alice").city == "A"


def _full_file(run_import):
    existing("alice", password="old-secret", extid="A1")
    rows = [
        u("emp", user_extid="EMP", user_manager_extid="MGR", list_name="Newcomers"),
        u("alice", user_extid="A1", user_audiences="Sales", user_roles="Tutor:EU"),
        u("mgr", user_extid="MGR", user_email="mgr@example.com", user_hourly_cost="12.5"),
        u("lost", org="NOWHERE"),
        u("ghost", user_manager_extid="GHOST", user_roles="Reviewer"),
        u("emp", user_city="dup"),
    ]
    header = list(dict.fromkeys(k for r in rows for k in r))
    return run_import.file(header, [[r.get(h, "") for h in header] for r in rows])


def _snapshot():
    return {
        "users": list(User.objects.order_by("pk").values()),
        "aud": list(UserAudience.objects.order_by("pk").values()),
        "grants": list(RoleGrant.objects.order_by("pk").values()),
        "lists": list(UserList.objects.order_by("pk").values()),
        "members": list(ListMember.objects.order_by("pk").values()),
        "mails": OutboxMail.objects.count(),
    }


@pytest.mark.parametrize("batch_size", [5000, 1])
def test_importing_the_same_file_twice_changes_nothing(run_import, world, settings, batch_size):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    path = _full_file(run_import)
    opts = {"keep_passwords": "no", "replace_roles": "yes", "welcome_mail": "yes"}
    first = run_import.run("users", path, options=opts)
    assert results(first) == [
        ("created", "list_created"),
        ("updated", ""),
        ("created", ""),
        ("rejected", "org_not_found"),
        ("created", "manager_not_found"),
        ("rejected", "duplicate_row"),
    ]
    assert get("emp").manager_id == get("mgr").pk
    before = _snapshot()
    second = run_import.run("users", path, options=opts)
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "org_not_found"),
        ("unchanged", "manager_not_found"),
        ("rejected", "duplicate_row"),
    ]
    assert second.counts["created"] == second.counts["updated"] == 0
    assert _snapshot() == before


@pytest.mark.parametrize("batch_size", [5000, 1])
def test_verify_only_writes_nothing_and_gives_the_same_results(
    run_import, world, settings, batch_size
):
    settings.REGISTRAR_BATCH_SIZE = batch_size
    path = _full_file(run_import)
    opts = {"keep_passwords": "no", "welcome_mail": "yes"}
    before = _snapshot()
    verified = run_import.run("users", path, options=opts, verify_only=True)
    assert _snapshot() == before
    assert verified.operation.status == "verified"
    real = run_import.run("users", path, options=opts)
    assert results(verified) == results(real)
    assert verified.counts == real.counts
    assert real.counts["created"] == 3


def test_undo_restores_a_changed_password_without_a_conflict(run_import, world):
    """The journal masks a new password; undo used to read the mask as a change since."""
    from registrar.journal.undo import undo

    existing("alice", password="old-secret")
    rep = run_import.dicts(
        "users", [u("alice", password="new-secret")], options={"keep_passwords": False}
    )
    assert results(rep) == [("updated", "")] and get("alice").check_password("new-secret")
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == [] and op.updated == 1
    assert get("alice").check_password("old-secret")
