"""users.add-roles (SPEC §5, seed 003 "Ajouter des rôles"): give the selected users roles on one
scope, an organisation subtree; the roles they hold already stay, none is taken away."""

from django.utils.translation import gettext_lazy as _

from registrar.directory.models import RoleGrant
from registrar.journal import writes

from ... import params as P
from ...action import Action, Param
from ...kind import UNCHANGED, UPDATED
from ._users import held, reject_privileged


class AddRoles(Action):
    verb = "add-roles"
    title = _("Add roles")
    description = _(
        "Gives each selected user the roles named by `roles` over the organisation `scope` (its "
        "external id; the role applies to that organisation and everything below it). One "
        "result per user: `updated` when at least one role was given, `unchanged` when the user "
        "held them all there already. No role is taken away. The actor must be able to grant "
        "every role on that scope (holding all its permissions over a scope that contains it), "
        "otherwise the users are rejected (`role_not_grantable`); a scope outside the "
        "organisations the operation runs on rejects them too (`out_of_scope`). A user holding "
        "a role the actor could not grant is rejected (`privileged_user`)."
    )
    domain = "directory"
    params = [
        Param("roles", P.names("role"), required=True, help=_("The names of the roles.")),
        Param(
            "scope",
            P.names("organisation", many=False),
            required=True,
            help=_("The external id of the organisation the roles apply to (and its subtree)."),
        ),
    ]
    examples = [{"roles": ["Manager"], "scope": "ACME-FR"}]

    def resolve(self, rows, ctx):
        scope = ctx.options["scope"]["id"]
        roles = [x["id"] for x in ctx.options["roles"]]
        users = [r.values["user"]["id"] for r in rows]
        return {"held": held(RoleGrant, "role_id", roles, users, scope_id=scope)}

    def refusals(self, ctx) -> list[tuple[str, dict]]:
        """Why no user can get these roles from this actor on this scope (the same for every
        row, so decided once per run)."""
        if "refusals" in ctx.state:
            return ctx.state["refusals"]
        scope = ctx.options["scope"]
        out = []
        if not ctx.in_scope(scope["id"]):
            out.append(("out_of_scope", {"what": _("Scope %s") % scope["extid"]}))
        for role in ctx.options["roles"]:
            if not ctx.granter.may_grant(role, scope["id"]):
                out.append(("role_not_grantable", {"role": role["name"], "scope": scope["extid"]}))
        ctx.state["refusals"] = out
        return out

    def plan(self, rows, refs, ctx):
        refused = self.refusals(ctx)
        for r in rows:
            for code, params in refused:
                r.reject(code, **params)
        reject_privileged(rows, ctx)
        scope = ctx.options["scope"]["id"]
        roles = [x["id"] for x in ctx.options["roles"]]
        for r in rows:
            if r.result is not None:
                continue
            uid = r.values["user"]["id"]
            add = [ro for ro in roles if (uid, ro) not in refs["held"]]
            if add:
                r.data["add"] = [{"user_id": uid, "role_id": ro, "scope_id": scope} for ro in add]
                r.result = UPDATED
            else:
                r.result = UNCHANGED

    def apply(self, rows, refs, ctx):
        writes.insert(RoleGrant, [x for r in rows for x in r.data["add"]], ctx.op)
