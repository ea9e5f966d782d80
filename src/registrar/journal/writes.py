"""Journalled bulk writes: the one layer through which bulk jobs change learner data.

Every written row is stamped with its operation (`op`); created rows are journalled as pk
batches, updated and deleted rows with their before (and after) values, so undo can restore them.
"""

import json
import uuid
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import IntegrityError, connection, connections, models

from registrar.core import copytext

from .models import Change, Operation

CHUNK = 2000
# Fields whose new value the journal does not keep: the audit trail says they changed, no more.
# (Before values are kept, hashes only, so that undo can restore them.)
SECRETS = {"password"}
SECRET_MARK = "(changed)"


def jsonable(value):
    """A field value as JSON: dates ISO, decimals and UUIDs as strings."""
    t = type(value)
    if t is date or t is datetime:
        return value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


PLAIN = (str, int, float, bool, type(None))


def snapshot(values: dict) -> dict:
    return {k: v if isinstance(v, PLAIN) else jsonable(v) for k, v in values.items()}


def label(model) -> str:
    return model._meta.label


def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def row_values(obj) -> dict:
    """Every concrete field of a model instance, by attname (the journal's before snapshot)."""
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


_ADAPTERS: dict[tuple, list] = {}
_DT_CACHE: dict = {}


def _sqlite_datetime(v, conn=None):
    """What Django stores on SQLite for an aware datetime: naive UTC text. Cached: dates repeat."""
    if v is None:
        return None
    text = _DT_CACHE.get(v)
    if text is not None:
        return text
    if len(_DT_CACHE) > 100_000:
        _DT_CACHE.clear()
    conn = conn or connections["default"]
    if v.tzinfo is UTC and conn.timezone is UTC:  # what Django stores, without its layers
        text = str(v.replace(tzinfo=None))
    else:
        text = conn.ops.adapt_datetimefield_value(v)
    _DT_CACHE[v] = text
    return text


def _adapter(f, conn):
    """A fast value -> database value function for one field, or None when values pass as they are.

    Django's get_db_prep_save costs microseconds a cell through its layers; a million-row import
    has tens of millions of cells, so the common types are adapted directly (same results).
    """
    kind = f.get_internal_type()
    if isinstance(f, models.JSONField):
        return lambda v: f.get_db_prep_save(v, conn)
    if conn.vendor != "sqlite":
        return None  # psycopg adapts dates, datetimes, decimals and UUIDs itself
    ops = conn.ops
    if kind == "DateTimeField":
        return lambda v: _sqlite_datetime(v, conn)
    if kind == "DateField":
        return lambda v: None if v is None else ops.adapt_datefield_value(v)
    if kind == "TimeField":
        return lambda v: None if v is None else ops.adapt_timefield_value(v)
    if kind == "UUIDField":
        return lambda v: (
            None if v is None else (v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))).hex
        )
    if kind == "DecimalField":
        return lambda v: (
            None if v is None else ops.adapt_decimalfield_value(v, f.max_digits, f.decimal_places)
        )
    return None


def _adapters(model) -> list:
    """(attname, adapter, default) for each non-pk concrete field, cached per model and database."""
    conn = connections["default"]
    key = (model, conn.vendor)
    if key not in _ADAPTERS:
        out = []
        for f in _fields(model):
            default = f.get_default if (f.has_default() and callable(f.default)) else None
            const = None if default else f.get_default()
            out.append((f.attname, _adapter(f, conn), default, const))
        _ADAPTERS[key] = out
    return _ADAPTERS[key]


def _copy(table: str, columns: list[str], rows) -> None:
    """PostgreSQL: COPY the rows in (the fastest way in, an order of magnitude over INSERTs)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as c:
        raw = c.cursor  # the psycopg cursor under Django's wrapper, in the same transaction
        with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            write = copy.write_row
            for row in rows:
                write(row)


def _copy_columns(table: str, names: list[str], columns: list[list]) -> None:
    """PostgreSQL: COPY rows given column by column. Formatting each column as text at once
    costs a fraction of psycopg's per-row adaptation; a column of another type falls back."""
    with connection.cursor() as c:
        if not copytext.copy_columns(c.cursor, table, names, columns):
            _copy(table, names, zip(*columns, strict=True))


_SEQUENCES: dict[str, str] = {}  # PostgreSQL: each table's id sequence


def allocate_ids(model, n: int) -> list[int]:
    """Reserve n primary keys, so inserts know their pks without RETURNING."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            if table not in _SEQUENCES:
                c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                _SEQUENCES[table] = c.fetchone()[0]
            # One array value, not n rows: fetching rows costs more than the sequence itself. The
            # sequence is named once (a constant): looked up in each nextval, it cost 6x more.
            c.execute(
                "SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)",
                [_SEQUENCES[table], n],
            )
            return list(c.fetchone()[0])
        # AUTOINCREMENT never reuses a deleted id; neither must we (the journal refers to them).
        c.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        top = c.fetchone()[0]
        c.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = c.fetchone()
        start = max(top, seq[0] if seq else 0) + 1
        return list(range(start, start + n))


def _literal(v) -> str | None:
    """A constant as SQLite SQL text, or None when it must stay a parameter."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str) and "\x00" not in v:
        return "'" + v.replace("'", "''") + "'"
    return None


def _column_values(rows: list[dict], attname: str, default, const) -> list:
    """One column of the rows: the row's value, else the field's default."""
    try:
        return [r[attname] for r in rows]
    except KeyError:
        if default:
            return [r[attname] if attname in r else default() for r in rows]
        return [r.get(attname, const) for r in rows]


def insert(
    model, rows: list[dict], op: Operation, row_numbers: list[int] | None = None
) -> list[int]:
    """Insert rows (dicts by attname; missing fields take their defaults). Returns their pks."""
    if not rows:
        return []
    ids = [r.pop("id") for r in rows] if "id" in rows[0] else None
    for row in rows:
        row["op"] = op.pk  # callers read it back (the guard of a later update)
    given = set().union(*rows)
    given.discard("op")
    columns = {
        attname: _column_values(rows, attname, default, const)
        for attname, _adapt, default, const in _adapters(model)
        if attname in given
    }
    return insert_columns(model, columns, len(rows), op, ids)


def insert_columns(
    model,
    given: dict[str, list],
    n: int,
    op: Operation,
    ids: list[int] | None = None,
    same: dict | None = None,
) -> list[int]:
    """Insert n rows given column by column ({attname: values}, `same`: {attname: one value
    for every row}; a field given neither way takes its default), journalled as created by
    `op`. Returns their pks."""
    if not n:
        return []
    fields = _fields(model)
    ids = ids or allocate_ids(model, n)
    same = {**(same or {}), "op": op.pk}
    columns, constants = [ids], []
    for attname, adapt, default, const in _adapters(model):
        if attname in same:
            columns.append(None)
            constants.append(adapt(same[attname]) if adapt else same[attname])
            continue
        values = given.get(attname)
        if values is None and default is None:
            columns.append(None)
            constants.append(adapt(const) if adapt else const)
            continue
        if values is None:
            values = [default() for _ in range(n)]
        columns.append(list(map(adapt, values)) if adapt else values)
        constants.append(None)
    table = model._meta.db_table
    names = ["id", *(f.column for f in fields)]
    if connection.vendor == "postgresql":
        # A column COPY leaves out is NULL (no database defaults): only non-NULL constants go in.
        keep = [i for i, c in enumerate(columns) if c is not None or constants[i - 1] is not None]
        for i in keep:
            if columns[i] is None:
                columns[i] = [constants[i - 1]] * len(ids)
        _copy_columns(table, [names[i] for i in keep], [columns[i] for i in keep])
    else:
        # SQLite binds every parameter of every row: constant columns go into the SQL instead.
        marks = ["%s"]
        for i, const in enumerate(constants, 1):
            lit = _literal(const) if columns[i] is None else None
            if columns[i] is None and lit is None:
                columns[i] = [const] * len(ids)
            marks.append(lit or "%s")
        params = list(zip(*(c for c in columns if c is not None), strict=True))
        if len(params) >= STAGE_ROWS:
            _insert_staged(table, names, marks, params)
        else:
            cols = ", ".join(f'"{c}"' for c in names)
            sql = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join(marks)})'
            with connection.cursor() as c:
                for i in range(0, len(params), CHUNK * 5):
                    c.executemany(sql, params[i : i + CHUNK * 5])
    for i in range(0, len(ids), CHUNK * 5):
        Change.objects.create(
            operation=op,
            table=label(model),
            action=Change.Action.CREATE,
            pks=ids[i : i + CHUNK * 5],
        )
    return ids


# SQLite: past this many rows an insert goes through a staging table (see _insert_staged).
STAGE_ROWS = 2_000


def _insert_staged(table: str, names: list[str], marks: list[str], params: list[tuple]) -> None:
    """SQLite: many rows into a bare temporary table, then one INSERT ... SELECT into the real
    one: binding into a table without indexes, then one statement maintaining the indexes, costs
    about a quarter less than binding row by row into the indexed table (measured)."""
    bound = [n for n, m in zip(names, marks, strict=True) if m == "%s"]
    # One staging table per shape: which columns are bound depends on the call's constants.
    stage = f"stage_{table}_{zlib.crc32(' '.join(bound).encode()):08x}"
    select = ", ".join(f'"{n}"' if m == "%s" else m for n, m in zip(names, marks, strict=True))
    quoted = ", ".join(f'"{n}"' for n in bound)
    with connection.cursor() as c:
        c.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ({quoted})')
        try:
            c.executemany(
                f'INSERT INTO "{stage}" VALUES ({", ".join(["%s"] * len(bound))})', params
            )
            c.execute(
                f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}) '
                f'SELECT {select} FROM "{stage}" ORDER BY rowid'
            )
        finally:
            c.execute(f'DELETE FROM "{stage}"')


class ConcurrentChange(Exception):
    """Rows changed (or went) after the caller read them: another operation committed a write in
    between. Nothing of the call was written; the caller plans again on what is there now."""

    def __init__(self, model, stale: list[tuple[int, int | None]]):
        self.model, self.stale = model, stale
        rows = [r for _, r in stale if r is not None]
        where = f" (input rows {', '.join(map(str, rows[:10]))})" if rows else ""
        super().__init__(
            f"{len(stale)} {model._meta.label} rows changed since they were read{where}"
        )


def is_concurrent(e: BaseException) -> bool:
    """A failure caused by another transaction, which planning again may resolve: a row changed
    since it was read, a unique key taken meanwhile, a row referenced deleted meanwhile (a
    set-based key, core.keys), a deadlock or serialization failure."""
    if isinstance(e, ConcurrentChange):
        return True
    if connection.vendor != "postgresql":
        return False
    cause = getattr(e, "__cause__", None)
    name = type(cause).__name__ if cause is not None else ""
    return (
        isinstance(e, IntegrityError)
        and name in ("UniqueViolation", "ForeignKeyViolation")
        or name
        in (
            "DeadlockDetected",
            "SerializationFailure",
            "LockNotAvailable",
        )
    )


def _lock(model, pks: list[int], names: set[str]) -> dict[int, dict]:
    """The rows' current values of `names` (and `op`), locked until the transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE in id order, so two transactions lock shared rows in the
    same order. SQLite: the transaction already holds the database's only write lock."""
    out: dict[int, dict] = {}
    wanted = sorted({"op", *names})
    if wanted == ["op"]:  # the common case: one raw query a chunk, no model rows
        return _lock_ops(model, pks)
    for i in range(0, len(pks), CHUNK):
        qs = model._base_manager.filter(pk__in=pks[i : i + CHUNK]).order_by("pk")
        for row in qs.select_for_update().values("pk", *wanted):
            out[row.pop("pk")] = row
    return out


def _ids(pks: list[int]) -> str:
    """Primary keys as SQL integer literals. psycopg binds client-side for Django and splits
    a query of thousands of placeholders on every call; integers need no quoting."""
    return ", ".join(map(str, map(int, pks)))


def _lock_ops(model, pks: list[int]) -> dict[int, dict]:
    """The rows' `op` by pk, locked (PostgreSQL: FOR UPDATE in id order). A list of values, not
    an array: the planner picks the index for a list even before the table is analysed."""
    table = model._meta.db_table
    lock = ' ORDER BY "id" FOR UPDATE' if connection.vendor == "postgresql" else ""
    out: dict[int, dict] = {}
    with connection.cursor() as c:
        for i in range(0, len(pks), CHUNK):
            part = pks[i : i + CHUNK]
            c.execute(f'SELECT "id", "op" FROM "{table}" WHERE "id" IN ({_ids(part)}){lock}')
            for pk, op in c.fetchall():
                out[pk] = {"op": op}
    return out


def _guard(model, items: list, before_of, row_of, own: int, names: set[str] = frozenset()) -> dict:
    """Lock the rows of `items` and check that each still carries the operation its before
    values were read with (`before["op"]`), or this operation (`own`) itself: the guard that
    keeps a write from overwriting a change committed since the caller read the row. Returns
    the locked rows' current values; raises ConcurrentChange when any row changed or went,
    before anything is written."""
    if not any(f.attname == "op" for f in model._meta.concrete_fields):
        return {}  # a link table without `op` (a course's audiences): no change to compare
    for item in items:
        if "op" not in before_of(item):
            raise ValueError(
                f"{model._meta.label} #{item[0]}: before values must include op, the operation "
                "that had last written the row when it was read"
            )
    pks = sorted({item[0] for item in items})
    current = _lock(model, pks, names)
    stale = [
        (item[0], row_of(item))
        for item in items
        if item[0] not in current or current[item[0]]["op"] not in (before_of(item)["op"], own)
    ]
    if stale:
        raise ConcurrentChange(model, stale)
    return current


def update(model, items: list[tuple[int, dict, dict, int | None]], op: Operation) -> None:
    """Apply (pk, new values, before values, input row) items; journal before and after.

    The before values must include `op` as read: a row another operation wrote since is not
    overwritten (ConcurrentChange). Within one call, an item may follow another of the same row
    (a row this operation wrote already passes the guard)."""
    if not items:
        return
    by_fields: dict[tuple, list] = {}
    meta = model._meta
    # A before value the caller did not load is read here (under the lock), never taken as
    # None: undo restores exactly what the journal says.
    missing = {k for _, new, before, _ in items for k in new if k not in before}
    current = _guard(model, items, lambda x: x[2], lambda x: x[3], op.pk, missing)
    if missing:
        items = [
            (pk, new, {**current.get(pk, {}), **before}, row) for pk, new, before, row in items
        ]
    label_ = meta.label
    # Rows given the same values (a bulk action) are one UPDATE ... WHERE id IN a chunk and one
    # journal row a chunk (their pks, their before values column by column); a row named twice
    # keeps its items' order (one executemany per set of fields, as they come).
    repeated = len({pk for pk, *_ in items}) < len(items)
    first = items[0][1]
    if not repeated and all(x[1] is first for x in items):  # one dict for every row: one set
        new = {**first, "op": op.pk}
        names = tuple(sorted(new))
        try:
            hash(tuple(new[n] for n in names))
            alike = True
        except TypeError:
            alike = False
        if alike and len(items) > 1:
            by_fields[(names, None)] = [(pk, new, before, row) for pk, _, before, row in items]
            items = []
    for pk, new, before, row in items:
        new = {**new, "op": op.pk}
        names = tuple(sorted(new))
        try:
            key = (names, ("row",)) if repeated else (names, tuple(new[n] for n in names))
            hash(key)
        except TypeError:
            key = (names, ("row",))
        by_fields.setdefault(key, []).append((pk, new, before, row))
    rowwise: dict[tuple, list] = {}  # names -> items of rows updated one by one
    shared = []
    for (names, values), group in by_fields.items():
        if len(group) > 1 and values != ("row",):
            shared.append((names, group))
        else:
            rowwise.setdefault(names, []).extend(group)
    changes = []
    adapters = {attname: adapt for attname, adapt, _, _ in _adapters(model)}
    with connection.cursor() as c:
        for names, group in rowwise.items():  # one executemany for every set of fields
            flds = [meta.get_field(n) for n in names]
            sets = ", ".join(f'"{f.column}" = %s' for f in flds)
            sql = f'UPDATE "{meta.db_table}" SET {sets} WHERE "id" = %s'
            # The inserts' adapters (same database values as get_db_prep_save, a fraction of
            # its cost per cell); a field without one passes as it is.
            adapt = [_cell_adapter(f, adapters) for f in flds]
            params = [
                [a(new[n]) for n, a in zip(names, adapt, strict=True)] + [pk]
                for pk, new, _, _ in group
            ]
            c.executemany(sql, params)
            for pk, new, before, row in group:
                after = _after(new)
                changes.append(
                    (op.pk, label_, Change.Action.UPDATE, pk, row, _before(before, new), after)
                )
        for names, group in shared:  # the same values: one UPDATE a chunk of ids
            flds = [meta.get_field(n) for n in names]
            sets = ", ".join(f'"{f.column}" = %s' for f in flds)
            new = group[0][1]
            values = [f.get_db_prep_save(new[f.attname], connection) for f in flds]
            after = _after(new)
            for i in range(0, len(group), CHUNK):
                part = group[i : i + CHUNK]
                ids = _ids([pk for pk, *_ in part])
                c.execute(f'UPDATE "{meta.db_table}" SET {sets} WHERE "id" IN ({ids})', values)
                _insert_shared(op, label_, part, names, after)
    _insert_changes(changes)


# The Python types a field's value takes the fast adapter with (any other value, a text date
# say, goes through Django's get_db_prep_save, which converts it first).
_PLAIN = {
    **dict.fromkeys(
        ("CharField", "TextField", "EmailField", "SlugField", "URLField"), (str, type(None))
    ),
    **dict.fromkeys(
        (
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "PositiveBigIntegerField",
            "ForeignKey",
            "OneToOneField",
        ),
        (int, type(None)),
    ),
    "BooleanField": (bool, type(None)),
    "DateTimeField": (datetime, type(None)),
    "DateField": (date, type(None)),
    "DecimalField": (Decimal, type(None)),
    "UUIDField": (uuid.UUID, type(None)),
}


def _cell_adapter(f, adapters: dict):
    """The value -> database value function of a field written by update: the inserts' adapter
    for a value of the field's own type (the same database value as get_db_prep_save, a
    fraction of its cost per cell), get_db_prep_save for anything else."""
    slow = f.get_db_prep_save
    plain = _PLAIN.get(f.get_internal_type())
    if plain is None or isinstance(f, models.JSONField) or f.attname not in adapters:
        return lambda v: slow(v, connection)
    fast = adapters[f.attname] or (lambda v: v)
    if plain[0] is datetime:  # a naive moment is made aware first (get_prep_value)
        return lambda v: (
            fast(v) if v is None or (type(v) is datetime and v.tzinfo) else slow(v, connection)
        )
    return lambda v: fast(v) if type(v) in plain else slow(v, connection)


def _after(new: dict) -> str:
    """The journal's after text: the new values, secrets masked, without `op`."""
    return json.dumps(
        snapshot({k: SECRET_MARK if k in SECRETS else v for k, v in new.items() if k != "op"})
    )


def _before(before: dict, new: dict) -> dict:
    """The journal's before values: those of the fields written (`op` among them)."""
    return snapshot({k: before.get(k) for k in new})


def _insert_shared(op: Operation, table: str, part: list, names: tuple, after: str) -> None:
    """One journal row for rows updated alike: pks, input rows, before values by column."""
    columns = {}
    for k in names:
        col = [before.get(k) for _, _, before, _ in part]
        columns[k] = [v if type(v) in PLAIN else jsonable(v) for v in col]
    rows = [row for *_, row in part]
    Change.objects.create(
        operation_id=op.pk,
        table=table,
        action=Change.Action.UPDATE,
        pks=[pk for pk, *_ in part],
        rows=None if all(r is None for r in rows) else rows,
        before=columns,
        after=json.loads(after),
    )


def _json(value) -> str | None:
    """A journal value as the JSONField stores it; text given is JSON already."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


CHANGE_COLUMNS = ("operation_id", "table", "action", "pk_value", "row", "before", "after")


def _insert_changes(rows: list[tuple]) -> None:
    """Journal rows (CHANGE_COLUMNS, before/after as dicts) in bulk: COPY on PostgreSQL, one
    executemany on SQLite. The JSON is what the JSONField would store (json.dumps)."""
    if not rows:
        return
    table = Change._meta.db_table
    dumped = [(*r[:5], _json(r[5]), _json(r[6])) for r in rows]
    if connection.vendor == "postgresql":
        _copy(table, list(CHANGE_COLUMNS), dumped)
        return
    cols = ", ".join(f'"{c}"' for c in CHANGE_COLUMNS)
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({", ".join(["%s"] * len(CHANGE_COLUMNS))})'
    with connection.cursor() as c:
        c.executemany(sql, dumped)


def delete(model, items: list[tuple[int, dict, int | None]], op: Operation) -> None:
    """Delete (pk, full before snapshot, input row) items; the snapshot lets undo re-insert them.
    As for update, a row written by another operation since it was read is not deleted."""
    if not items:
        return
    _guard(model, items, lambda x: x[1], lambda x: x[2], op.pk)
    pks = [pk for pk, _, _ in items]
    for i in range(0, len(pks), CHUNK):
        model._base_manager.filter(pk__in=pks[i : i + CHUNK])._raw_delete(model._base_manager.db)
    table = label(model)
    _insert_changes(
        [
            (op.pk, table, Change.Action.DELETE, pk, row, snapshot(before), None)
            for pk, before, row in items
        ]
    )


def restore(model, snapshots: list[dict], op: Operation) -> None:
    """Re-insert deleted rows with their own pks (undo of a delete), journalled as created."""
    if not snapshots:
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    cols = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'INSERT INTO "{meta.db_table}" ({cols}) VALUES ({", ".join(["%s"] * len(fields))})'
    params = []
    for snap in snapshots:
        values = {**{f.attname: f.to_python(snap.get(f.attname)) for f in fields}, "op": op.pk}
        params.append([f.get_db_prep_save(values[f.attname], connection) for f in fields])
    with connection.cursor() as c:
        c.executemany(sql, params)
    Change.objects.create(
        operation=op,
        table=meta.label,
        action=Change.Action.CREATE,
        pks=[s["id"] for s in snapshots],
    )
