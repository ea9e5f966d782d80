"""Issue 10, item 8: a role is granted (or taken away) only by an actor who holds every
permission of it over a scope that contains the target scope; only a site administrator grants
site administrator; a user holding roles the actor could not grant is changed only by one who
could. The matrix runs granter role × granted role × scope through the users import."""

import pytest

from registrar.directory.models import Role, RoleGrant, User

from . import factories as f

H = ["user_lname", "user_fname", "user_login", "user_password", "org_extid", "user_roles"]

# The roles of the matrix and their permissions (the rule below is written from these, apart
# from the code under test).
ROLES = {
    "Site administrator": {"*"},
    "Content administrator": {"catalogue.*", "content_admin"},
    "Organisation administrator": {"directory.*", "learning.*", "bulk.import"},
    "HR officer": {"directory.*"},
    "Training manager": {"learning.*", "bulk.import"},
    "Manager": set(),
}
# Granters: (role, scope). Each runs the users import as the portal would, confined to its scope.
GRANTERS = [
    ("Site administrator", None),
    ("HR officer", None),
    ("Organisation administrator", "EU"),
    ("HR officer", "EU"),
]
TARGETS = [None, "ACME", "EU", "EU-FR", "US"]
TREE = {"ACME": None, "EU": "ACME", "EU-FR": "EU", "US": "ACME"}


def within(scope: str | None, target: str | None) -> bool:
    """Target scope inside the granter's scope (None: the whole platform)."""
    if scope is None:
        return True
    while target is not None:
        if target == scope:
            return True
        target = TREE[target]
    return False


def expected(granter: str, scope: str | None, role: str, target: str | None) -> str | None:
    """The code a row granting `role` on `target` gets, or None when it is granted."""
    if not within(scope, target):
        return "out_of_scope"  # the import's own scope rejects it first
    if role == "Site administrator":
        return None if granter == "Site administrator" else "role_not_grantable"
    held = ROLES[granter]
    if "*" in held or ROLES[role] <= held:
        return None
    return "role_not_grantable"


@pytest.fixture
def tree(db):
    acme = f.org("ACME")
    eu = f.org("EU", parent=acme)
    f.org("EU-FR", parent=eu)
    f.org("US", parent=acme)
    Role.objects.get_or_create(name="HR officer", defaults={"permissions": ["directory.*"]})
    Role.objects.get_or_create(
        name="Training manager", defaults={"permissions": ["learning.*", "bulk.import"]}
    )
    Role.objects.get_or_create(name="Manager", defaults={"permissions": []})
    return None


def granter(role: str, scope: str | None) -> User:
    from registrar.directory.models import Organisation

    org = Organisation.objects.get(extid=scope or "ACME")
    u = f.user(f"granter-{role}-{scope}".replace(" ", "-").lower(), org)
    f.grant(u, role, scope and org)
    return User.objects.get(pk=u.pk)  # fresh: no cached grants


@pytest.mark.parametrize(("granter_role", "granter_scope"), GRANTERS)
def test_item8_grant_matrix_granter_role_x_granted_role_x_scope(
    run_import, tree, granter_role, granter_scope
):
    actor = granter(granter_role, granter_scope)
    home = granter_scope or "ACME"
    rows, want = [], {}
    for role in ROLES:
        for target in TARGETS:
            login = f"u{len(rows)}"
            rows.append(
                ["L", "F", login, "Pw-123456", home, f"{role}:{target}" if target else role]
            )
            want[login] = (role, target, expected(granter_role, granter_scope, role, target))
    rep = run_import("users", H, rows, actor=actor, scope=granter_scope)
    for r in rep.rows:
        role, target, code = want[r["user_login"]]
        case = f"{granter_role} on {granter_scope} grants {role} on {target}"
        if code is None:
            assert r["result"] == "created", case
            assert RoleGrant.objects.filter(
                user__login=r["user_login"], role__name=role, scope__extid=target
            ).exists(), case
        else:
            assert r["result"] == "rejected" and code in r["codes"].split(), (case, r["codes"])
            assert not User.objects.filter(login=r["user_login"]).exists(), case


def test_item8_a_scoped_hr_officer_cannot_make_themselves_training_manager(run_import, tree):
    """The escalation found: a directory-only role scoped to one organisation imported its
    holder with `Training manager:THEIR-ORG` and gained every import kind."""
    me = granter("HR officer", "EU")
    row = ["L", "F", me.login, "", "EU", "Training manager:EU"]
    rep = run_import("users", H, [row], actor=me, scope="EU")
    assert rep.rows[0]["result"] == "rejected"
    assert "role_not_grantable" in rep.rows[0]["codes"]
    assert not RoleGrant.objects.filter(user=me, role__name="Training manager").exists()
    row = ["L", "F", me.login, "", "EU", "Site administrator:EU"]
    rep = run_import("users", H, [row], actor=me, scope="EU")
    assert "role_not_grantable" in rep.rows[0]["codes"]
    assert set(RoleGrant.objects.filter(user=me).values_list("role__name", flat=True)) == {
        "HR officer"
    }


def test_item8_taking_a_role_away_needs_the_same_right(run_import, tree):
    from registrar.directory.models import Organisation

    me = granter("HR officer", "EU")
    eu = Organisation.objects.get(extid="EU")
    other = f.user("other", eu)
    f.grant(other, "Manager", eu)
    RoleGrant.objects.create(user=other, role=Role.objects.get(name="Training manager"), scope=eu)
    rep = run_import(
        "users",
        H,
        [["Other", "Test", "other", "", "EU", "Manager:EU"]],
        options={"replace_roles": "yes"},
        actor=me,
        scope="EU",
    )
    assert rep.rows[0]["result"] == "rejected"
    assert "role_not_grantable" in rep.rows[0]["codes"]
    assert RoleGrant.objects.filter(user=other, role__name="Training manager").exists()


@pytest.mark.parametrize("role", ["Organisation administrator", "Site administrator"])
def test_item8_a_more_privileged_user_is_changed_only_by_who_could_grant_their_roles(
    run_import, tree, role
):
    from registrar.directory.models import Organisation

    eu = Organisation.objects.get(extid="EU")
    boss = f.user("boss", eu)
    f.grant(boss, role, None if role == "Site administrator" else eu)
    me = granter("HR officer", "EU")
    row = ["Boss", "Test", "boss", "Taken-over-1", "EU", ""]
    keep = {"keep_passwords": "no"}
    rep = run_import("users", H, [row], options=keep, actor=me, scope="EU")
    assert rep.rows[0]["result"] == "rejected"
    assert "privileged_user" in rep.rows[0]["codes"]
    boss.refresh_from_db()
    assert not boss.check_password("Taken-over-1")
    # Unchanged rows stay unchanged: only a change is refused.
    rep = run_import("users", H, [["Boss", "Test", "boss", "", "EU", ""]], actor=me, scope="EU")
    assert rep.rows[0]["result"] == "unchanged"
    # Whoever could grant the roles may make the change.
    admin = granter("Site administrator", None)
    rep = run_import("users", H, [row], options=keep, actor=admin)
    assert rep.rows[0]["result"] == "updated"


def test_item8_the_command_line_grants_anything(run_import, tree):
    rep = run_import("users", H, [["L", "F", "root2", "Pw-123456", "ACME", "Site administrator"]])
    assert rep.rows[0]["result"] == "created"


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_item8_a_superuser_or_staff_account_is_changed_only_by_a_site_administrator(
    run_import, tree, flag
):
    """Found in review: `createsuperuser` makes a user with no role grant at all."""
    from registrar.directory.models import Organisation

    eu = Organisation.objects.get(extid="EU")
    root = f.user("root", eu, **{flag: True})
    me = granter("HR officer", "EU")
    row = ["Root", "Test", "root", "Taken-over-1", "EU", ""]
    keep = {"keep_passwords": "no"}
    rep = run_import("users", H, [row], options=keep, actor=me, scope="EU")
    assert (rep.rows[0]["result"], rep.rows[0]["codes"]) == ("rejected", "privileged_user")
    root.refresh_from_db()
    assert not root.check_password("Taken-over-1")
    rep = run_import("users", H, [row], options=keep, actor=granter("Site administrator", None))
    assert rep.rows[0]["result"] == "updated"
