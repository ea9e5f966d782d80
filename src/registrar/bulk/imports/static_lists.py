"""static-lists (SPEC §4.12, seed 003): put users into static lists by name; a list that does not
exist is created in the Default folder. The import only adds members, it never removes any."""

from django.utils.translation import gettext_lazy as _

from registrar.directory import lists
from registrar.directory.models import ListMember, User, UserList

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, Column, ImportKind, Option

USER_FIELDS = ("id", "organisation_id")


class StaticLists(ImportKind):
    name = "static-lists"
    domain = "directory"
    title = _("Static list members")
    description = _(
        "Adds users to static lists: one row per user and list. The user is found by external id "
        "(`match_on=extid`, the default) or by login (`match_on=login`), exactly as written; the list "
        "by its exact name. A list that does not exist is created in the Default folder (warning "
        "`list_created`, on the first row that creates it); a dynamic list cannot be filled by an "
        "import (`list_not_static`). A user already in the list is `unchanged`. Each member enters "
        "the list at the moment the import started. The import only adds: members the file does "
        "not name stay in their lists (undo the import to take out the members it added). A row's "
        "identity is the user and the list: a second row for the same pair is rejected "
        "(`duplicate_row`). Header-less files (`header=no`) give USER then LIST_NAME."
    )
    columns = [
        Column(
            "USER",
            parsers.text(150),
            required=True,
            aliases=("user_extid", "user_login", "login", "extid", "utilisateur"),
            help=_(
                "The user's external id (`match_on=extid`, the default) or login (`match_on=login`), exactly as stored."
            ),
            example="E1001",
        ),
        Column(
            "LIST_NAME",
            parsers.text(150),
            required=True,
            aliases=("LISTE_NAME", "list", "liste", "nom_liste"),
            help=_(
                "The static list's name, exactly (case included); created in the Default folder when no list has it."
            ),
            example="Newcomers",
        ),
    ]
    options = [
        Option(
            "match_on",
            "extid",
            _("How USER finds the user: extid (the external id, as the seed's default) or login"),
            choices=("extid", "login"),
        ),
    ]
    template = [
        {"USER": "E1001", "LIST_NAME": "Newcomers"},
        {"USER": "E1002", "LIST_NAME": "Fire wardens"},
    ]

    def resolve(self, rows, ctx):
        field = ctx.options["match_on"]
        users = lookups.by_key(User, field, {r.values["USER"] for r in rows}, *USER_FIELDS)
        lists = lookups.by_key(
            UserList, "name", {r.values["LIST_NAME"] for r in rows}, "id", "name", "kind"
        )
        wanted = set()
        for r in rows:  # only the pairs the rows name
            user, lst = users.get(r.values["USER"]), lists.get(r.values["LIST_NAME"])
            if user is not None and lst is not None:
                wanted.add((user["id"], lst["id"]))
        members = lookups.exact_pairs(ListMember, "user_id", "user_list_id", wanted)
        return {"users": users, "lists": lists, "members": members}

    def plan(self, rows, refs, ctx):
        users, lists, members = refs["users"], refs["lists"], refs["members"]
        field = ctx.options["match_on"]
        # (user id, list name) -> the row that named it first, across batches. A row planned again
        # (a batch replayed after a processing error) finds its own number, not a duplicate.
        seen = ctx.state.setdefault("seen", {})
        # Lists this batch creates: the first row naming one warns. A later batch finds the list
        # in the database (created by this batch's apply), so the warning comes once per import.
        creating: set[str] = set()
        for r in rows:
            login, name = r.values["USER"], r.values["LIST_NAME"]
            user = users.get(login)
            if user is None:
                r.reject("user_not_found", column=f"USER ({field})", value=login)
            elif not ctx.in_scope(user["organisation_id"]):
                r.reject("out_of_scope", what=f"User {login}")
            lst = lists.get(name)
            if lst is not None and lst["kind"] != UserList.Kind.STATIC:
                r.reject("list_not_static", value=name)
            if not r.ok:
                continue
            first = seen.setdefault((user["id"], name), r.number)
            if first != r.number:
                r.reject("duplicate_row", key="USER and LIST_NAME", first=first)
                continue
            r.data = {"user_id": user["id"], "list": name}
            if lst is None:
                if name not in creating:
                    creating.add(name)
                    r.warn("list_created", value=name)
                r.result = CREATED
            elif (user["id"], lst["id"]) in members:
                r.result = UNCHANGED
            else:
                r.result = CREATED

    def apply(self, rows, refs, ctx):
        if not rows:
            return
        ids = {n: x["id"] for n, x in refs["lists"].items()}
        todo = [r.data["list"] for r in rows if r.data["list"] not in ids]
        if todo:  # created in the Default folder (re-created, journalled, if someone removed it)
            made = lists.find_or_create_lists(ctx.op, todo, folder=lists.DEFAULT_FOLDER)
            ids.update((n, x["id"]) for n, x in made.items())
        # Each member enters at the moment the import started, the same for every row. The plan
        # read the members of these pairs (resolve): a pair already there was unchanged.
        lists.add_memberships(
            ctx.op,
            [(ids[r.data["list"]], r.data["user_id"]) for r in rows],
            ctx.op.started_at,
            planned=True,
        )
