"""Set-based lookups shared by import kinds: one query per referenced table per batch."""

from collections import defaultdict

from django.db.models.functions import Lower

from registrar.directory.models import Organisation, User

IN_CHUNK = 900  # stays under SQLite's host-parameter limit with room for other filters


def chunks(values, size: int = IN_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def by_key(model, field: str, keys, *fields) -> dict:
    """Rows of `model` whose `field` is in `keys`, as dicts keyed by that field."""
    out = {}
    keys = {k for k in keys if k is not None}
    for part in chunks(keys):
        for row in model._base_manager.filter(**{f"{field}__in": part}).values(field, *fields):
            out[row[field]] = row
    return out


def users_by_email(emails) -> dict[str, list[dict]]:
    """Users by lower-cased email: a list, since real data shares emails (ambiguous_user)."""
    out: dict[str, list[dict]] = defaultdict(list)
    emails = {e.lower() for e in emails if e}
    for part in chunks(emails):
        qs = User.objects.annotate(email_ci=Lower("email")).filter(email_ci__in=part)
        for row in qs.values(
            "id", "login", "email_ci", "disabled", "training_access", "organisation_id"
        ):
            out[row["email_ci"]].append(row)
    return out


def orgs_by_extid(extids, *fields) -> dict[str, dict]:
    return by_key(Organisation, "extid", extids, "id", *fields)


def pairs(model, left: str, right: str, lefts, rights, *fields) -> dict[tuple, dict]:
    """Rows keyed by (left, right) for the given left and right ids (e.g. user and course)."""
    out = {}
    rights = list({r for r in rights if r is not None})
    if not rights:
        return out
    for part in chunks({x for x in lefts if x is not None}, IN_CHUNK // 2):
        for rpart in chunks(rights, IN_CHUNK // 2):
            for row in model._base_manager.filter(
                **{f"{left}__in": part, f"{right}__in": rpart}
            ).values("id", left, right, *fields):
                out[(row[left], row[right])] = row
    return out
