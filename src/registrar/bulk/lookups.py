"""Set-based lookups shared by import kinds: one query per referenced table per batch.

Values go to the database as parameters, unprepared: Django's `__in` lookups prepare each value
through several layers, which costs more than the query itself for batches of thousands.
"""

from collections import defaultdict

from django.db import connection

from registrar.directory.models import Organisation, User

IN_CHUNK = 900  # for callers that build their own `__in` filters
RAW_CHUNK = 10_000  # parameters per raw IN list (SQLite allows 32,766, PostgreSQL 65,535)


def chunks(values, size: int = IN_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _column(model, field: str) -> str:
    return model._meta.get_field(field).column


def _in(model, field: str, part: list, *fields):
    marks = ", ".join(["%s"] * len(part))
    col = _column(model, field)
    return model._base_manager.extra(
        where=[f'"{model._meta.db_table}"."{col}" IN ({marks})'], params=part
    ).values(field, *fields)


def by_key(model, field: str, keys, *fields) -> dict:
    """Rows of `model` whose `field` is in `keys`, as dicts keyed by that field."""
    out = {}
    keys = list({k for k in keys if k is not None})
    f = model._meta.get_field(field)
    if f.get_internal_type() in ("UUIDField", "DateField", "DateTimeField", "DecimalField"):
        keys = [f.get_db_prep_value(k, connection) for k in keys]  # as the column stores them
    for part in chunks(keys, RAW_CHUNK):
        for row in _in(model, field, part, *fields):
            out[row[field]] = row
    return out


def users_by_email(emails) -> dict[str, list[dict]]:
    """Users by lower-cased email: a list, since real data shares emails (ambiguous_user)."""
    out: dict[str, list[dict]] = defaultdict(list)
    emails = list({e.lower() for e in emails if e})
    for part in chunks(emails, RAW_CHUNK):
        marks = ", ".join(["%s"] * len(part))
        qs = User.objects.extra(
            select={"email_ci": 'LOWER("email")'},
            where=[f'LOWER("email") IN ({marks})'],
            params=part,
        )
        for row in qs.values(
            "id", "login", "email_ci", "disabled", "training_access", "organisation_id"
        ):
            out[row["email_ci"]].append(row)
    return out


def orgs_by_extid(extids, *fields) -> dict[str, dict]:
    return by_key(Organisation, "extid", extids, "id", *fields)


def pairs(model, left: str, right: str, lefts, rights, *fields) -> dict[tuple, dict]:
    """Rows keyed by (left, right) for every combination of the given left and right ids."""
    lefts = {x for x in lefts if x is not None}
    rights = {x for x in rights if x is not None}
    return (
        exact_pairs(model, left, right, [(a, b) for a in lefts for b in rights], *fields)
        if len(lefts) * len(rights) <= 50_000
        else _cross(model, left, right, lefts, rights, *fields)
    )


def _cross(model, left, right, lefts, rights, *fields) -> dict[tuple, dict]:
    out = {}
    for part in chunks(lefts, RAW_CHUNK // 2):
        for rpart in chunks(rights, RAW_CHUNK // 2):
            qs = _in(model, left, part, right, "id", *fields).extra(
                where=[f'"{_column(model, right)}" IN ({", ".join(["%s"] * len(rpart))})'],
                params=rpart,
            )
            for row in qs:
                out[(row[left], row[right])] = row
    return out


def exact_pairs(model, left: str, right: str, keys, *fields) -> dict[tuple, dict]:
    """Rows whose (left, right) is one of `keys`: one query per 5,000 pairs (a row-value IN)."""
    out = {}
    keys = list({k for k in keys if None not in k})
    lc, rc = _column(model, left), _column(model, right)
    for part in chunks(keys, RAW_CHUNK // 2):
        values = ", ".join(["(%s, %s)"] * len(part))
        params = [v for pair in part for v in pair]
        qs = model._base_manager.extra(
            where=[f'("{lc}", "{rc}") IN (VALUES {values})'], params=params
        )
        for row in qs.values("id", left, right, *fields):
            out[(row[left], row[right])] = row
    return out
