"""courses.assign-users and courses.modify-assignments (SPEC §5): the users.assign-courses and
users.modify-course-assignments plan (users/_content.py) turned round: the selected courses are
the items, the users a SELECTION parameter are the objects; one result per course and user."""

import json
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from registrar.core import lookups
from registrar.directory.models import User

from ... import checks, references
from ... import params as P
from ...action import Param
from ..users._content import ContentAssignment, content_params


@dataclass(frozen=True, kw_only=True)
class Users(P.Type):
    """A SELECTION of users ({"where": [...], "any": false, "list": ..., "ids": [...]}), or
    logins (a list, or a form's text: separated by commas or lines); resolved once to the users
    (each with the fields an assignment and its mail need). A login that names nobody, or a
    selection that selects nobody, is refused."""

    widget: str = "list"

    def parse(self, value):
        from ...selection import Selection, check, resolve

        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("is not a JSON selection object") from None
        if isinstance(value, dict):
            sel = Selection.from_json("users", value)
        else:
            sel = Selection(target="users", ids=P._items(value))
        check(sel)
        found = resolve(sel)
        if found.missing:
            shown = ", ".join(map(repr, found.missing[:10]))
            raise ValueError(f"no user has the login {shown}")
        if not found.ids:
            raise ValueError("selects no user")
        users = lookups.by_key(User, "id", found.ids, *references.RULES["user"].fields)
        return [users[i] for i in found.ids if i in users]


USERS = Param(
    "users",
    Users(),
    required=True,
    help=_(
        'The users: logins, or a selection {"where": [...], "any": false, "list": "...", '
        '"ids": [...]}.'
    ),
)


class CourseUsers(ContentAssignment):
    """A course action on selected users: the row's item is the course, its object the user."""

    target = "courses"
    what, per, per_type = "course", "users", "user"
    mail_fields = ("user", "assignment", "course")

    def user_of(self, r) -> dict:
        return r.values["object"]

    def content_of(self, r) -> dict:
        return r.values["item"]

    def object_label(self, obj) -> str:
        return "" if obj is None else obj["login"]

    def plan(self, rows, refs, ctx):
        for r in rows:  # the users are the objects: the engine checked only the courses
            user = r.values["object"]
            checks.usable(r, user, user["login"], ctx, learning=True)
        super().plan(rows, refs, ctx)

    def mail_item(self, r) -> dict:
        item = {"user": r.values["object"], "course": r.values["item"]}
        if "create" in r.data:
            item["assignment"] = r.data["create"]
        elif "update" in r.data:
            _pk, diff, before, _row = r.data["update"]
            item["assignment"] = {**before, **diff}
        return item


def course_user_params(modify: bool) -> list[Param]:
    """The keys of users.assign-courses (or its modify- twin) with `users` for `courses`."""
    return [USERS, *(p for p in content_params("course", modify) if p.name != "courses")]
