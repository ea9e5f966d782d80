"""users.save-list (SPEC §5, seed 003 "Sauvegarder cette liste d'apprenants"): save the selected
users as a static list, each member entering it now."""

from django.utils.translation import gettext_lazy as _

from registrar.core.errors import FileError
from registrar.directory import lists
from registrar.directory.models import UserList

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED, UNCHANGED


class SaveList(Action):
    verb = "save-list"
    title = _("Save as a list")
    description = _(
        "Saves the selected users as the static list `name`: one result per user, `created` "
        "when the user enters the list (at the moment the action started), `unchanged` when a "
        "member already (their entry date is kept). The list is created, with `description`, in "
        "`folder` (a folder path such as HR/Onboarding, created if missing; Default when not "
        "given) by the first user it gets; a list of that name that exists already is filled, "
        "keeping its folder, description and other members. A dynamic list of that name "
        "refuses the action (`invalid_parameter`): its members come from its criteria."
    )
    domain = "directory"
    params = [
        Param(
            "name",
            P.Text(max_length=lists.MAX_NAME, blank=False),
            required=True,
            help=_("The list's name, exactly (case included)."),
        ),
        Param(
            "description",
            P.Text(max_length=2000, widget="textarea"),
            help=_("A description, for a new list."),
        ),
        Param(
            "folder",
            P.Text(max_length=1000, blank=False),
            help=_("The folder of a new list, e.g. HR/Onboarding (Default when not given)."),
        ),
    ]
    examples = [{"name": "Wave 2", "description": "Users of the second roll-out wave"}]

    def check(self, values):
        name = values.get("name")
        kind = UserList.objects.filter(name=name).values_list("kind", flat=True).first()
        if kind is not None and kind != UserList.Kind.STATIC:
            raise FileError(
                "invalid_parameter",
                key="name",
                reason=_("%(name)r is a dynamic list: its members come from its criteria")
                % {"name": name},
            )
        folder = values.get("folder")
        if folder is not None and any(len(n) > 150 for n in lists.folder_path(folder)):
            raise FileError(
                "invalid_parameter",
                key="folder",
                reason=str(_("a folder name is at most 150 characters")),
            )

    def resolve(self, rows, ctx):
        lst = UserList.objects.filter(name=ctx.options["name"]).values("id", "kind").first()
        members = set()
        if lst is not None:
            members = lists.members_among(lst["id"], [r.values["user"]["id"] for r in rows])
        return {"list": lst, "members": members}

    def plan(self, rows, refs, ctx):
        lst = refs["list"]
        for r in rows:
            if lst is not None and lst["kind"] != UserList.Kind.STATIC:  # made dynamic since
                r.reject("invalid_parameter", key="name", reason=str(_("is a dynamic list")))
                continue
            r.result = UNCHANGED if r.values["user"]["id"] in refs["members"] else CREATED

    def apply(self, rows, refs, ctx):
        o = ctx.options
        list_id = refs["list"]["id"] if refs["list"] else None
        if list_id is None:
            list_id, _created = lists.find_or_create_list(
                ctx.op, o["name"], o.get("description", ""), o.get("folder", lists.DEFAULT_FOLDER)
            )
        users = [r.values["user"]["id"] for r in rows]
        lists.add_members(ctx.op, list_id, users, ctx.op.started_at, planned=True)
