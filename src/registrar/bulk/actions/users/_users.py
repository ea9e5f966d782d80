"""What the user actions that change accounts share: the privileged-account check (a user
holding roles the actor could not grant is changed only by someone who could, SPEC §12), and a
set-based update of user fields."""

from django.utils.translation import gettext as _

from registrar.core import lookups
from registrar.directory.models import Organisation, RoleGrant, User
from registrar.journal import writes

from ...diff import differences
from ...kind import UNCHANGED, UPDATED

ACCOUNT = ("id", "login", "is_superuser", "is_staff", "op")


def reject_privileged(rows, ctx) -> None:
    """Reject (privileged_user) the rows whose user the actor may not change: a superuser or
    staff account unless the actor is a site administrator; a holder of a role the actor could
    not grant where it is held. Two queries a batch; nothing for the command line."""
    if ctx.granter.unlimited:
        return
    ids = {r.values["user"]["id"] for r in rows if r.result is None}
    accounts = lookups.by_key(User, "id", ids, *ACCOUNT)
    grants: dict[int, list] = {}
    for part in lookups.chunks(ids):
        for g in RoleGrant.objects.filter(user_id__in=part).select_related("role"):
            grants.setdefault(g.user_id, []).append(g)
    scopes = {g.scope_id for gs in grants.values() for g in gs if g.scope_id}
    extids = dict(Organisation.objects.filter(pk__in=scopes).values_list("pk", "extid"))
    for r in rows:
        if r.result is not None:
            continue
        a = accounts.get(r.values["user"]["id"])
        if a and (a["is_superuser"] or a["is_staff"]) and not ctx.granter.site_admin:
            role = "superuser" if a["is_superuser"] else "staff (admin site)"
            r.reject("privileged_user", value=a["login"], role=role, scope=_("the whole platform"))
            continue
        for g in grants.get(r.values["user"]["id"], ()):
            if not ctx.granter.may_grant(g.role, g.scope_id):
                r.reject(
                    "privileged_user",
                    value=a["login"] if a else "?",
                    role=g.role.name,
                    scope=extids.get(g.scope_id) or _("the whole platform"),
                )
                break


def plan_fields(rows, ctx, wanted: dict, fields: tuple[str, ...]) -> dict[int, dict]:
    """Plan a change of user `fields` to `wanted`: updated when a value differs, unchanged
    otherwise. Loads the users' current values (with op) once; returns them by id."""
    wanted_fields = (*fields, "op")
    loaded = all(f in r.values["user"] for r in rows[:1] for f in wanted_fields)
    if loaded:  # the source loaded them with the user (Action.item_fields)
        current = {r.values["user"]["id"]: r.values["user"] for r in rows}
    else:
        ids = {r.values["user"]["id"] for r in rows}
        current = lookups.by_key(User, "id", ids, *wanted_fields)
    for r in rows:
        if r.result is not None:
            continue
        before = current[r.values["user"]["id"]]
        diff = differences(before, wanted)
        if len(diff) == len(wanted):
            diff = wanted  # one shared dict: the journal writes rows updated alike as one set
        if diff:
            before = {k: before[k] for k in (*diff, "op")}
            r.data["update"] = (before_id(r), diff, before, r.number)
            r.result = UPDATED
        else:
            r.result = UNCHANGED
    return current


def before_id(r) -> int:
    return r.values["user"]["id"]


def apply_fields(rows, ctx) -> None:
    writes.update(User, [r.data["update"] for r in rows if "update" in r.data], ctx.op)


class ManagerAction:
    """users.set-manager and users.set-alternate-manager: one user (`manager`, a login) becomes
    the `field` of each selected user. Mixed into an Action by each module."""

    field = "manager_id"
    item_fields = ("manager_id", "alternate_manager_id", "op")
    examples = [{"manager": "admin"}]

    def plan(self, rows, refs, ctx):
        manager = ctx.options["manager"]
        for r in rows:
            if r.values["user"]["id"] == manager["id"]:
                r.reject(
                    "invalid_parameter",
                    key="manager",
                    reason=_("a user cannot manage themselves"),
                )
        reject_privileged(rows, ctx)
        wanted = {self.field: manager["id"]}
        plan_fields(rows, ctx, wanted, tuple(wanted))

    def apply(self, rows, refs, ctx):
        apply_fields(rows, ctx)


def held(model, field: str, values, user_ids, **fixed) -> set[tuple[int, int]]:
    """The (user id, `field` value) pairs of `model` rows linking the users to `values` (rows
    also matching `fixed`): one query per 10,000 users. The user ids are bound as one raw list
    (an array on PostgreSQL): Django's `__in` prepares each value, which costs more than the
    query for a batch of thousands (lookups.where_in)."""
    out: set[tuple[int, int]] = set()
    for part in lookups.chunks(user_ids, lookups.RAW_CHUNK):
        qs = model._base_manager.filter(**{f"{field}__in": list(values)}, **fixed)
        out.update(lookups.where_in(qs, "user", part).values_list("user_id", field))
    return out
