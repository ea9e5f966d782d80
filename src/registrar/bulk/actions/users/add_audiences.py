"""users.add-audiences (SPEC §5, seed 003 "Ajouter des audiences"): add audiences to the
selected users; the audiences they have already stay, none is taken away."""

from django.utils.translation import gettext_lazy as _

from registrar.directory.models import UserAudience
from registrar.journal import writes

from ... import params as P
from ...action import Action, Param
from ...kind import UNCHANGED, UPDATED
from ._users import held, reject_privileged


class AddAudiences(Action):
    verb = "add-audiences"
    title = _("Add audiences")
    description = _(
        "Adds the audiences named by `audiences` to each selected user: one result per user, "
        "`updated` when at least one audience was added, `unchanged` when the user had them all "
        "already. No audience is taken away (the users import's replace_audiences does that). "
        "An audience that does not exist refuses the action (`invalid_parameter`). A user "
        "holding a role the actor could not grant is rejected (`privileged_user`)."
    )
    domain = "directory"
    params = [
        Param(
            "audiences",
            P.names("audience"),
            required=True,
            help=_("The names of the audiences, e.g. Managers."),
        )
    ]
    examples = [{"audiences": ["Managers", "Safety officers"]}]

    def resolve(self, rows, ctx):
        audiences = [a["id"] for a in ctx.options["audiences"]]
        users = [r.values["user"]["id"] for r in rows]
        return {"have": held(UserAudience, "audience_id", audiences, users)}

    def plan(self, rows, refs, ctx):
        reject_privileged(rows, ctx)
        audiences = [a["id"] for a in ctx.options["audiences"]]
        have = refs["have"]
        for r in rows:
            if r.result is not None:
                continue
            uid = r.values["user"]["id"]
            add = [a for a in audiences if (uid, a) not in have]
            if add:
                r.data["add"] = [{"user_id": uid, "audience_id": a} for a in add]
                r.result = UPDATED
            else:
                r.result = UNCHANGED

    def apply(self, rows, refs, ctx):
        writes.insert(UserAudience, [x for r in rows for x in r.data["add"]], ctx.op)
