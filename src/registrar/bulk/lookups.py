"""Lookups of import kinds: the generic set-based lookups (registrar.core.lookups) and those
of users and organisations."""

from collections import defaultdict

from django.db import connection

from registrar.core.lookups import (  # noqa: F401 (the kinds' one import of lookups)
    IN_CHUNK,
    PAIRS_LIMIT,
    RAW_CHUNK,
    _pg_select,
    by_key,
    chunks,
    exact_pairs,
    existing_pairs,
    pairs,
    staged,
)
from registrar.directory.models import Organisation, User


def users_by_email(emails) -> dict[str, list[dict]]:
    """Users by lower-cased email: a list, since real data shares emails (ambiguous_user).

    A raw query: this lookup runs for every row of the largest imports, and building Django
    result rows costs more than the query."""
    out: dict[str, list[dict]] = defaultdict(list)
    emails = list({e.lower() for e in emails if e})
    table = User._meta.db_table
    cols = ("id", "login", "email_ci", "disabled", "training_access", "organisation_id")
    with connection.cursor() as c:
        for part in chunks(emails, RAW_CHUNK):
            if connection.vendor == "postgresql":
                where, params = 'LOWER("email") = ANY(%s::text[])', [part]
            else:
                where, params = f'LOWER("email") IN ({", ".join(["%s"] * len(part))})', part
            if connection.vendor == "postgresql":
                rows = [
                    tuple(r.values())
                    for r in _pg_select(
                        User,
                        ["id", "login", "email", "disabled", "training_access", "organisation_id"],
                        where,
                        params,
                    )
                ]
                rows = [(a, b, e.lower(), d, t, o) for a, b, e, d, t, o in rows]
            else:
                c.execute(
                    f'SELECT "id", "login", LOWER("email"), "disabled", "training_access", "organisation_id" FROM "{table}" WHERE {where}',
                    params,
                )
                rows = c.fetchall()
            for row in rows:
                d = dict(zip(cols, row, strict=True))
                d["disabled"], d["training_access"] = (
                    bool(d["disabled"]),
                    bool(d["training_access"]),
                )
                out[d["email_ci"]].append(d)
    return out


def learners_by_email(emails):
    """The users of each lower-cased email as one row (the columnar lane): email_ci, matches
    (how many users share it), and the first user's uid, org and usable (enabled, with training
    access), which are the user's own when matches is 1. One join with the emails staged."""
    import polars as pl  # only the columnar lane pays for loading it

    table = User._meta.db_table
    emails = [(e,) for e in {e.lower() for e in emails if e}]
    with staged("emails", {"e": "text"}, emails) as st, connection.cursor() as c:
        c.execute(
            f'SELECT s."e", COUNT(*), MIN(u."id"), MIN(u."organisation_id"), '
            f'MIN(CASE WHEN u."disabled" OR NOT u."training_access" THEN 0 ELSE 1 END) '
            f'FROM "{st}" s JOIN "{table}" u ON LOWER(u."email") = s."e" GROUP BY s."e"'
        )
        found = c.fetchall()
    schema = {
        "email_ci": pl.String,
        "matches": pl.Int64,
        "uid": pl.Int64,
        "org": pl.Int64,
        "usable": pl.Int64,
    }
    frame = pl.DataFrame(found, schema=schema, orient="row")
    return frame.with_columns(pl.col("usable") == 1)


def orgs_by_extid(extids, *fields) -> dict[str, dict]:
    return by_key(Organisation, "extid", extids, "id", *fields)
