"""The columnar lane for users (SPEC §4.6): the same results, codes, messages and writes as
the row path, whatever the file holds."""

import pytest

from registrar.directory.models import (
    Audience,
    ListFolder,
    ListMember,
    Role,
    User,
    UserAudience,
    UserList,
)
from registrar.learning.models import AccessProperty, CourseAssignment
from registrar.notify.models import OutboxMail

from . import columnar_fixtures
from . import factories as f

H = [
    "user_lname",
    "user_fname",
    "user_login",
    "user_password",
    "user_password_hash",
    "org_extid",
    "user_email",
    "user_extid",
    "user_culture",
    "user_city",
    "user_disable",
    "training_access",
    "birth_date",
    "user_hourly_cost",
    "user_manager_extid",
    "user_audiences",
    "user_roles",
    "list_name",
]
HASH = "$6$saltsalt$" + "a" * 86  # the form Moodle writes (not checked at import)


def row(login, org="EU", extid="", **kw) -> list[str]:
    values = {
        "user_lname": login.title(),
        "user_fname": "Test",
        "user_login": login,
        "org_extid": org,
        "user_email": f"{login.lower()}@example.com",
        "user_extid": extid,
        **kw,
    }
    return [values.get(h, "") for h in H]


@pytest.fixture
def messy(db):
    """Organisations, audiences, a list that assigns a course, users, and a file with every
    case the users plan knows."""
    acme = f.org("ACME")
    eu = f.org("EU", parent=acme)
    f.org("FAR")
    for name in ("Managers", "Sales"):
        Audience.objects.create(name=name)
    Role.objects.create(name="Tutor")
    folder = ListFolder.objects.get(name="Default", parent=None)
    newcomers = UserList.objects.create(name="Newcomers", folder=folder)
    AccessProperty.objects.create(
        course=f.course("WELCOME-101"), user_list=newcomers, restrict=False, assign_members=True
    )
    f.user("taken", eu, extid="E-TAKEN")
    f.user("boss", eu, extid="E-BOSS")
    return [
        row("plain"),
        row("full", extid="E-1", user_culture="fr-FR", user_city="Lyon", user_disable="0",
            training_access="1", birth_date="1985/04/12", user_hourly_cost="35,50",
            user_audiences="Managers||Sales||Managers", list_name="Newcomers"),
        row("pw", user_password="Tr0ub4dor&3-unique"),  # a password: the row path
        row("hashed", user_password_hash=HASH),
        row("taken", user_city="Nice"),  # an update: the row path
        row("steal", extid="E-TAKEN"),  # extid_in_use
        row("twin1", extid="E-TWIN"),
        row("twin2", extid="E-TWIN"),  # the same extid again: extid_in_use
        row("lost", org="NOWHERE"),
        row("far", org="FAR"),  # out of the scope, when there is one
        row("odd", user_audiences="Wizards"),
        row("lister", list_name="Brand new list"),  # list_created
        row("tutor", user_roles="Tutor:EU"),
        row("managed", user_manager_extid="E-BOSS"),
        row("early", user_manager_extid="E-LATE"),  # a manager later in the file
        row("late", extid="E-LATE"),
        row("orphan", user_manager_extid="E-NOBODY"),  # manager_not_found, at the end
        row("PLAIN"),  # the same login in another case: duplicate_row
        row("bad", user_email="not an email"),
        row("blank", user_disable="", training_access="", user_city="=1+1"),  # a formula
        row("short")[:5],
        row("quiet", user_disable="1", training_access="0", user_audiences="Sales"),
    ]  # fmt: skip


def state():
    """Every user (the password only as usable or not), their links, assignments and mails
    (of users still there: undo leaves a mail of a user it removes, without the user)."""
    fields = [f.attname for f in User._meta.concrete_fields]
    skip = {"id", "password", "op", "date_joined", "manager_id", "alternate_manager_id"}
    logins = dict(User.objects.values_list("id", "login"))
    users = []
    for u in User.objects.values(*fields):
        users.append(
            (
                tuple((k, u[k]) for k in fields if k not in skip),
                u["password"][:1] == "!",
                logins.get(u["manager_id"]),
                logins.get(u["alternate_manager_id"]),
            )
        )
    links = sorted(UserAudience.objects.values_list("user__login", "audience__name"), key=str)
    members = sorted(ListMember.objects.values_list("user__login", "user_list__name"), key=str)
    assigned = sorted(
        CourseAssignment.objects.values_list("user__login", "course__code", "source", "option"),
        key=str,
    )
    mails = sorted(
        OutboxMail.objects.filter(user__isnull=False).values_list(
            "user__login", "to", "link", "subject"
        ),
        key=str,
    )
    lists = sorted(UserList.objects.values_list("name", flat=True))
    return sorted(users, key=str), links, members, assigned, mails, lists


def run_both(run_import, rows, monkeypatch, bulk_rows=3, **kw):
    from registrar.bulk.imports.users import Users

    return columnar_fixtures.run_both(
        run_import, monkeypatch, Users, H, rows, state, bulk_rows, **kw
    )


@pytest.mark.parametrize(
    "options",
    [
        None,
        {"welcome_mail": "yes", "force_password_change": "yes", "externally_managed": "yes"},
        {"update_info_if_present": "yes"},
    ],
    ids=["defaults", "mail-and-flags", "update-info-if-present"],
)
def test_the_users_lane_gives_the_row_paths_results_and_writes(
    run_import, messy, monkeypatch, options
):
    lane_rows, (users, links, members, assigned, mails, lists) = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, options=options)
    )
    by = {r["user_login"]: r for r in lane_rows}
    assert by["plain"]["result"] == "created" and by["full"]["result"] == "created"
    assert by["twin2"]["codes"] == "extid_in_use"
    assert by["PLAIN"]["codes"] == "duplicate_row"
    assert ("full", "WELCOME-101", "list", "free") in assigned
    assert ("full", "Managers") in links and ("full", "Newcomers") in members
    assert "plain" in {m[0] for m in mails}
    assert by["hashed"]["result"] == "created" and by["hashed"]["user_password_hash"] == ""
    assert ("hashed" in {m[0] for m in mails}) == (
        options is not None and "welcome_mail" in options
    )
    hashed = [u for u in users if dict(u[0])["login"] == "hashed"]
    assert hashed and not hashed[0][1]  # the hash is the password: usable
    assert by["blank"]["user_city"] == "'=1+1"
    assert by["orphan"]["codes"] == "manager_not_found" and by["orphan"]["result"] == "created"
    assert ("early", "late") in {(dict(u[0])["login"], u[2]) for u in users}


def test_the_users_lane_keeps_the_scope(run_import, messy, monkeypatch):
    lane_rows, _ = columnar_fixtures.same(run_both(run_import, messy, monkeypatch, scope="ACME"))
    far = [r for r in lane_rows if r["user_login"] == "far"][0]
    assert far["codes"] == "out_of_scope"


def test_the_users_lane_across_batches(run_import, messy, monkeypatch, settings):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 4
    settings.REGISTRAR_BATCH_SIZE = 4
    columnar_fixtures.same(run_both(run_import, messy, monkeypatch, bulk_rows=2))


def test_a_password_never_reaches_the_results_through_the_lane(run_import, messy, monkeypatch):
    lane_rows, _ = columnar_fixtures.same(run_both(run_import, messy, monkeypatch))
    pw = [r for r in lane_rows if r["user_login"] == "pw"][0]
    assert pw["user_password"] == "" and pw["result"] == "created"
    assert all(r["user_password_hash"] == "" for r in lane_rows)


def test_password_hashes_take_the_lane_and_reach_no_file(run_import, messy, monkeypatch):
    rows = [row(f"h{i}", user_password_hash=HASH) for i in range(3)]
    lane, lane_rows, *_ = run_both(run_import, rows, monkeypatch, bulk_rows=3)
    assert [r["result"] for r in lane_rows] == ["created"] * 3
    for path in (lane.results_path, lane.log_path):
        with open(path, encoding="utf-8-sig") as f:
            assert "saltsalt" not in f.read()
    assert User.objects.get(login="h0").password == "sha512_crypt$" + HASH  # as it came


def test_a_wide_file_takes_smaller_lane_batches(run_import, messy, monkeypatch, settings):
    """The lane's batch is bounded in cells as well as rows (REGISTRAR_COLUMNAR_BATCH_CELLS),
    and its row-path rows are settled in the row path's batches."""
    from registrar.bulk import engine
    from registrar.bulk.imports.users import Users

    settings.REGISTRAR_BATCH_SIZE = 2
    settings.REGISTRAR_COLUMNAR_BATCH_CELLS = 5 * len(H)  # five rows of this file
    lanes, settled = [], []
    plan, settle = Users.plan_columns, engine._settle
    monkeypatch.setattr(
        Users,
        "plan_columns",
        lambda self, lane, ctx: lanes.append(len(lane)) or plan(self, lane, ctx),
    )
    monkeypatch.setattr(
        engine,
        "_settle",
        lambda step, ctx, rows, src: settled.append(len(rows)) or settle(step, ctx, rows, src),
    )
    rep = run_import("users", H, messy[:12])
    assert rep.counts["rows"] == 12 and rep.counts["created"] >= 5
    assert max(lanes) <= 5 and sum(lanes) >= 9
    assert settled and max(settled) <= 2
