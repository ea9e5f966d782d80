"""Set-based lookups of the apps' rows: one query per referenced table per batch (import kinds,
actions and the domain verbs use them).

Values go to the database as parameters, unprepared: Django's `__in` lookups prepare each value
through several layers, which costs more than the query itself for batches of thousands.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from django.db import connection

from . import copytext

IN_CHUNK = 900  # for callers that build their own `__in` filters
RAW_CHUNK = 10_000  # parameters per raw IN list (SQLite allows 32,766, PostgreSQL 65,535)
PAIRS_LIMIT = 50_000  # past this many combinations, pairs() filters each side instead


def chunks(values, size: int = IN_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _column(model, field: str) -> str:
    return model._meta.get_field(field).column


ARRAY_TYPES = {"UUIDField": "uuid", "CharField": "text", "TextField": "text"}


def _array_type(model, field: str) -> str:
    f = model._meta.get_field(field)
    return "bigint" if f.is_relation else ARRAY_TYPES.get(f.get_internal_type(), "bigint")


def in_sql(model, field: str, part: list) -> tuple[str, list]:
    """`field IN (...)`: one array parameter on PostgreSQL (its client-side binding would parse
    a query of thousands of placeholders), a plain list on SQLite."""
    col = f'"{model._meta.db_table}"."{_column(model, field)}"'
    if connection.vendor == "postgresql":
        return f"{col} = ANY(%s::{_array_type(model, field)}[])", [list(part)]
    return f"{col} IN ({', '.join(['%s'] * len(part))})", list(part)


def where_in(qs, field: str, values: list):
    """`qs` narrowed to rows whose `field` is one of `values`, bound as one raw list (an array
    on PostgreSQL): Django's `__in` prepares each value, which costs more than the query for a
    batch of thousands."""
    where, params = in_sql(qs.model, field, list(values))
    return qs.extra(where=[where], params=params)


def _with_op(model, fields) -> tuple:
    """A journalled row is always read with `op`, the operation that last wrote it: a journalled
    write of the row checks it (journal.writes guards against changes committed since)."""
    if "op" in fields or not any(f.name == "op" for f in model._meta.concrete_fields):
        return tuple(fields)
    return (*fields, "op")


def _in(model, field: str, part: list, *fields):
    return _select(model, [field, *_with_op(model, fields)], *in_sql(model, field, part))


def _select(model, names: list[str], where: str, params: list):
    """Rows of `model` matching a raw WHERE clause, as dicts of `names`."""
    if not any("__" in n for n in names):
        if connection.vendor == "postgresql":
            return _pg_select(model, names, where, params)
        converters = _sqlite_converters(model, names)
        if converters is not None:
            return _sqlite_select(model, names, where, params, converters)
    return model._base_manager.extra(where=[where], params=params).values(*names)


def _sqlite_date(v):
    return date.fromisoformat(v) if isinstance(v, str) else v


def sqlite_datetime(v):
    """Naive UTC text (or a naive datetime: Django's registered converter) as an aware value."""
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v


# The database's values as Django's converters give them; the declared types' converters that
# Django registers with sqlite3 may have run already.
SQLITE_CONVERTERS = {
    "BooleanField": lambda v: None if v is None else bool(v),
    "DateField": _sqlite_date,
    "DateTimeField": sqlite_datetime,
    "UUIDField": lambda v: None if v is None or isinstance(v, uuid.UUID) else uuid.UUID(v),
}
# Stored as they are read: the rest (decimals, times, JSON) goes through Django's converters.
SQLITE_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "CharField",
    "EmailField",
    "FloatField",
    "ForeignKey",
    "IntegerField",
    "OneToOneField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
    "URLField",
}


def _sqlite_converters(model, names: list[str]) -> list | None:
    """SQLite: one converter (or None) per column, as Django's would give the values; None when
    a column needs Django's own (decimals, JSON)."""
    out = []
    for n in names:
        kind = model._meta.get_field(n).get_internal_type()
        if kind in SQLITE_CONVERTERS:
            out.append(SQLITE_CONVERTERS[kind])
        elif kind in SQLITE_PLAIN:
            out.append(None)
        else:
            return None
    return out


def _sqlite_select(model, names: list[str], where: str, params: list, converters) -> list[dict]:
    """SQLite: a lookup on a raw cursor, converted column by column (Django converts each value
    through its layers, which costs more than the query for a batch of thousands)."""
    table = model._meta.db_table
    # A date column read as an expression has no declared type, so sqlite3 skips the slower
    # converter Django registers for it: fromisoformat below parses the text.
    cols = ", ".join(
        f'("{table}"."{_column(model, n)}" || \'\')'
        if convert in (_sqlite_date, sqlite_datetime)
        else f'"{table}"."{_column(model, n)}"'
        for n, convert in zip(names, converters, strict=True)
    )
    with connection.cursor() as cur:
        cur.execute(f'SELECT {cols} FROM "{table}" WHERE {where}', params)
        rows = cur.fetchall()
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    for i, convert in enumerate(converters):
        if convert is not None:
            columns[i] = list(map(convert, columns[i]))
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _pg_select(model, names: list[str], where: str, params: list) -> list[dict]:
    """PostgreSQL: run a lookup on a server-side-binding cursor. Django binds client-side, which
    turns an array parameter of thousands of values into query text to parse twice; psycopg
    returns native Python types, so no Django converters are needed."""
    import psycopg

    cols = ", ".join(f'"{model._meta.db_table}"."{_column(model, n)}"' for n in names)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(f'SELECT {cols} FROM "{model._meta.db_table}" WHERE {where}', params)
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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


def pairs(model, left: str, right: str, lefts, rights, *fields) -> dict[tuple, dict]:
    """Rows keyed by (left, right) for every combination of the given left and right ids."""
    lefts = {x for x in lefts if x is not None}
    rights = {x for x in rights if x is not None}
    return (
        exact_pairs(model, left, right, [(a, b) for a in lefts for b in rights], *fields)
        if len(lefts) * len(rights) <= PAIRS_LIMIT
        else _cross(model, left, right, lefts, rights, *fields)
    )


def _cross(model, left, right, lefts, rights, *fields) -> dict[tuple, dict]:
    """Rows for every (left, right) combination, when there are too many to list as pairs.
    `left` leads the model's unique (left, right) index (a user's records or assignments)."""
    out = {}
    fields = _with_op(model, fields)
    for part in chunks(lefts, RAW_CHUNK // 2):
        lwhere, lparams = in_sql(model, left, part)
        for rpart in chunks(rights, RAW_CHUNK // 2):
            rwhere, rparams = in_sql(model, right, rpart)
            if connection.vendor == "sqlite":
                # SQLite would probe the unique (left, right) index once per combination (2,500
                # users x 1,000 courses: 2.5 million probes, 0.6 s); `+` keeps it to the left
                # column, a probe per user reading that user's few rows (80x less).
                rwhere = "+" + rwhere
            names = ["id", left, right, *fields]
            for row in _select(model, names, f"{lwhere} AND {rwhere}", lparams + rparams):
                out[(row[left], row[right])] = row
    return out


def exact_pairs(model, left: str, right: str, keys, *fields) -> dict[tuple, dict]:
    """Rows whose (left, right) is one of `keys`: one query per 5,000 pairs.

    SQLite: a row-value IN over VALUES. PostgreSQL: a join with unnest() of two array
    parameters, which the planner runs as index probes of the unique (left, right) index."""
    out = {}
    fields = _with_op(model, fields)
    keys = list({k for k in keys if None not in k})
    lc, rc = _column(model, left), _column(model, right)
    table = model._meta.db_table
    for part in chunks(keys, RAW_CHUNK // 2):
        if connection.vendor == "postgresql":
            lt, rt = _array_type(model, left), _array_type(model, right)
            where = f'("{table}"."{lc}", "{table}"."{rc}") IN (SELECT k.a, k.b FROM unnest(%s::{lt}[], %s::{rt}[]) AS k(a, b))'
            params = [[x for x, _ in part], [y for _, y in part]]
            if any("__" in n for n in fields):
                qs = model._base_manager.extra(where=[where], params=params)
                for row in qs.values("id", left, right, *fields):
                    out[(row[left], row[right])] = row
                continue
            for row in _pg_select(model, ["id", left, right, *fields], where, params):
                out[(row[left], row[right])] = row
            continue
        else:
            where = f'("{lc}", "{rc}") IN (VALUES {", ".join(["(%s, %s)"] * len(part))})'
            params = [v for pair in part for v in pair]
        for row in _select(model, ["id", left, right, *fields], where, params):
            out[(row[left], row[right])] = row
    return out


@contextmanager
def staged(name: str, columns: dict[str, str], rows: list[tuple]) -> Iterator[str]:
    """A temporary table `stage_<name>` holding `rows` ({column: SQL type}), for one join that
    resolves a whole batch at once (the columnar lane); dropped afterwards. PostgreSQL: COPY in,
    then ANALYZE so that the planner knows its size."""
    table = f"stage_{name}"
    spec = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    with connection.cursor() as c:
        c.execute(f'DROP TABLE IF EXISTS "{table}"')
        c.execute(f'CREATE TEMPORARY TABLE "{table}" ({spec})')
        try:
            if connection.vendor == "postgresql":
                names = list(columns)
                by_column = [list(col) for col in zip(*rows, strict=True)] or [[] for _ in names]
                if not copytext.copy_columns(c.cursor, table, names, by_column):
                    cols = ", ".join(f'"{n}"' for n in columns)
                    with c.cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
                c.execute(f'ANALYZE "{table}"')
            else:
                marks = ", ".join(["%s"] * len(columns))
                c.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
            yield table
        finally:
            c.execute(f'DROP TABLE IF EXISTS "{table}"')


def existing_pairs(model, left: str, right: str, lefts: list[int], rights: list[int]) -> set:
    """Which (left, right) pairs, given as two columns, have a row of `model`: one join with the
    pairs staged (its unique (left, right) index probed once per pair)."""
    return pairs_held([model], left, right, lefts, rights)[0]


def pairs_held(models: list, left: str, right: str, lefts: list[int], rights: list[int]) -> list:
    """existing_pairs for each of `models` (the same two columns), the pairs staged once."""
    if not lefts:
        return [set() for _ in models]
    out = []
    # In order: each model's (left, right) index is then probed along its order.
    pairs = sorted(zip(lefts, rights, strict=True))
    with staged("pairs", {"a": "bigint", "b": "bigint"}, pairs) as st, connection.cursor() as c:
        for model in models:
            lc, rc = _column(model, left), _column(model, right)
            c.execute(
                f'SELECT s."a", s."b" FROM "{st}" s JOIN "{model._meta.db_table}" t '
                f'ON t."{lc}" = s."a" AND t."{rc}" = s."b"'
            )
            out.append(set(c.fetchall()))
    return out
