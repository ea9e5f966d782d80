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
    pairs_held,
    staged,
)
from registrar.directory.models import Organisation, User

from . import checks


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


# The lane reads every user once for the whole import when a batch names at least this share
# of them (one scan then costs less than a join a batch) and the users are at most so many.
WHOLE_SHARE = 1 / 8
WHOLE_LIMIT = 1_000_000


def learners_by_email(emails, cache: dict | None = None):
    """The users of each lower-cased email as one row (the columnar lane): email_ci, matches
    (how many users share it), and the first user's uid, org and usable (enabled, with training
    access), which are the user's own when matches is 1.

    One join with the batch's emails staged; or, when the batch names a large share of the
    users, every user read once into `cache` (the import's own: later batches join it in
    memory, as the database would, without reading the users again)."""
    import polars as pl  # only the columnar lane pays for loading it

    emails = list({e.lower() for e in emails if e})
    whole = _every_user(cache, "learners", len(emails), _all_learners)
    if whole is not None:
        wanted = pl.DataFrame({"email_ci": emails}, schema={"email_ci": pl.String})
        return whole.join(wanted, on="email_ci", how="semi")
    return _frame(_staged_learners(emails))


def _every_user(cache: dict | None, key: str, wanted: int, read):
    """The frame `read` gives of every user, kept in the import's `cache` under `key`: read
    once, when a batch names `wanted` users, a large share of them (WHOLE_SHARE, and at most
    WHOLE_LIMIT users); None while batches name fewer (they look their users up)."""
    if cache is None:
        return None
    whole = cache.get(key)
    if whole is None and wanted:
        if "user_count" not in cache:
            cache["user_count"] = User._base_manager.count()
        users = cache["user_count"]
        if users <= WHOLE_LIMIT and wanted >= WHOLE_SHARE * users:
            whole = cache[key] = read()
    return whole


def _staged_learners(emails: list[str]) -> list[tuple]:
    table = User._meta.db_table
    with staged("emails", {"e": "text"}, [(e,) for e in emails]) as st, connection.cursor() as c:
        c.execute(
            f'SELECT s."e", COUNT(*), MIN(u."id"), MIN(u."organisation_id"), '
            f'MIN(CASE WHEN u."disabled" OR NOT u."training_access" THEN 0 ELSE 1 END) '
            f'FROM "{st}" s JOIN "{table}" u ON LOWER(u."email") = s."e" GROUP BY s."e"'
        )
        return c.fetchall()


def learners_by_login(logins, ctx) -> dict[str, int]:
    """The id of each user a login names (exactly) who can learn: enabled, with training access,
    in the import's scope (checks.learners_ok), for the columnar lane. One lookup a batch; or,
    when the batch names a large share of the users, every user read once into the import's
    cache (later batches look them up in memory)."""
    import polars as pl  # only the columnar lane pays for loading it

    logins = list({x for x in logins if x is not None})
    whole = _every_user(ctx.cache, "by_login", len(logins), _all_logins)
    if whole is not None:
        wanted = pl.DataFrame({"login": logins}, schema={"login": pl.String})
        found = whole.join(wanted, on="login", how="semi")
    else:
        fields = ("id", "organisation_id", "disabled", "training_access")
        rows = by_key(User, "login", logins, *fields)
        found = _login_frame(
            [
                (k, u["id"], u["organisation_id"], int(not u["disabled"] and u["training_access"]))
                for k, u in rows.items()
            ]
        )
    # A login names one user: the learner rule of the lane (checks.learners_ok) applies.
    found = found.with_columns(matches=pl.lit(1), usable=pl.col("usable") == 1).filter(
        checks.learners_ok(ctx)
    )
    return dict(zip(found["login"].to_list(), found["uid"].to_list(), strict=True))


def _login_frame(rows: list[tuple]):
    """(login, uid, org, usable 1 or 0) rows as a frame."""
    import polars as pl

    schema = {"login": pl.String, "uid": pl.Int64, "org": pl.Int64, "usable": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _all_logins():
    """Every user by login (learners_by_login), read by parts: never all as Python tuples."""
    import polars as pl

    table = User._meta.db_table
    with connection.cursor() as c:
        c.execute(
            f'SELECT "login", "id", "organisation_id", '
            f'CASE WHEN "disabled" OR NOT "training_access" THEN 0 ELSE 1 END FROM "{table}"'
        )
        parts = [_login_frame([])]
        while found := c.fetchmany(RAW_CHUNK * 10):
            parts.append(_login_frame(found))
    return pl.concat(parts)


def _all_learners():
    """Every user, grouped by lower-cased email as learners_by_email gives them: the users read
    as they are (a GROUP BY in the database sorts them all first), grouped in memory."""
    import polars as pl

    table = User._meta.db_table
    with connection.cursor() as c:
        c.execute(
            f'SELECT LOWER("email"), "id", "organisation_id", "disabled", "training_access" '
            f'FROM "{table}"'
        )
        schema = {
            "email_ci": pl.String,
            "uid": pl.Int64,
            "org": pl.Int64,
            "disabled": pl.Boolean,
            "access": pl.Boolean,
        }
        # By parts: the users never stand in memory as Python tuples all at once.
        parts = [pl.DataFrame(schema=schema)]
        while found := c.fetchmany(RAW_CHUNK * 10):
            parts.append(pl.DataFrame(found, schema=schema, orient="row"))
    return (
        pl.concat(parts)
        .group_by("email_ci")
        .agg(
            pl.len().cast(pl.Int64).alias("matches"),
            pl.col("uid").min(),
            pl.col("org").min(),
            (~pl.col("disabled") & pl.col("access")).min().alias("usable"),
        )
    )


def _frame(found: list[tuple]):
    import polars as pl

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
