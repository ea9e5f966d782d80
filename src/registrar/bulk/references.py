"""One matching rule per referenced type: how a value in a column or a parameter names a user, a
course, a curriculum, a list, an audience, a role, an organisation or a competency.

Codes and names match exactly; when nothing matches exactly, a case-insensitive match that finds
exactly one item is taken (a code typed in lower case still names its course, never a guess
between two). Logins and external ids match exactly. One query per chunk of keys."""

from dataclasses import dataclass

from django.db.models.functions import Lower

from registrar.catalogue.models import Competency, Course, Curriculum
from registrar.core import lookups
from registrar.directory.models import Audience, Organisation, Role, User, UserList


@dataclass(frozen=True)
class Rule:
    model: type
    key: str
    fields: tuple[str, ...]
    fold: bool = True  # the case-insensitive fallback
    missing: str = ""  # the code of a value that names nothing


CONTENT = ("id", "code", "title", "uuid", "published", "disabled")
RULES = {
    "course": Rule(
        Course, "code", (*CONTENT, "certificate_template_id"), missing="course_not_found"
    ),
    "curriculum": Rule(Curriculum, "code", CONTENT, missing="curriculum_not_found"),
    "list": Rule(UserList, "name", ("id", "name", "kind", "criteria"), missing="list_not_found"),
    "audience": Rule(Audience, "name", ("id", "name"), missing="audience_not_found"),
    "role": Rule(
        Role,
        "name",
        ("id", "name", "permissions", "site_admin", "content_admin"),
        missing="role_not_found",
    ),
    "user": Rule(
        User,
        "login",
        (
            "id",
            "login",
            "email",
            "first_name",
            "last_name",
            "disabled",
            "training_access",
            "organisation_id",
            "culture",
        ),
        fold=False,
        missing="user_not_found",
    ),
    "organisation": Rule(
        Organisation, "extid", ("id", "extid", "label"), fold=False, missing="org_not_found"
    ),
    "competency": Rule(Competency, "code", ("id", "code"), missing="competency_not_found"),
}


def find(type_: str, keys, *extra: str) -> dict[str, dict]:
    """The items that `keys` name, by the key as given; keys that name nothing are left out."""
    rule = RULES[type_]
    keys = {k for k in keys if k}
    fields = tuple(dict.fromkeys((*rule.fields, *extra, rule.key)))
    found = lookups.by_key(rule.model, rule.key, keys, *fields)
    rest = keys - found.keys()
    if rest and rule.fold:
        lowered: dict[str, list[dict]] = {}
        for part in lookups.chunks({k.lower() for k in rest}):
            qs = rule.model._base_manager.annotate(_k=Lower(rule.key)).filter(_k__in=part)
            for row in qs.values(*fields):
                lowered.setdefault(row[rule.key].lower(), []).append(row)
        for k in rest:
            match = lowered.get(k.lower(), [])
            if len(match) == 1:
                found[k] = match[0]
    return found


def find_one(type_: str, key: str, *extra: str) -> dict | None:
    return find(type_, [key], *extra).get(key)
