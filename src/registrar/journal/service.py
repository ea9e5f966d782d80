"""Operations and import locks: open and close an operation, take and release a lock."""

import hashlib
import logging
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from registrar.core.errors import FileError

from .models import ImportLock, Operation

log = logging.getLogger("registrar.journal")


def file_checksum(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def start_operation(kind: str, name: str, actor=None, **fields) -> Operation:
    """A committed operation row, so its id exists before the job's own transaction."""
    with transaction.atomic():
        return Operation.objects.create(
            kind=kind,
            name=name,
            actor=actor,
            actor_label=getattr(actor, "login", "") or "command line",
            **fields,
        )


@contextmanager
def sqlite_pragma(name: str, value: str):
    """A SQLite setting changed for the block and put back after it. SQLite allows the change
    outside a transaction only: inside one (a test's) the setting is left as it is; on
    PostgreSQL nothing is done."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cur:
        cur.execute(f"PRAGMA {name}")
        before = cur.fetchone()[0]
        cur.execute(f"PRAGMA {name} = {value}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA {name} = {int(before)}")


def durable():
    """SQLite: the operation's commit is on disk when it returns (synchronous=FULL; WAL's NORMAL
    may lose the last commits to a power cut). One big transaction pays one more sync, which
    the benchmarks do not see; the portal's small writes keep NORMAL."""
    return sqlite_pragma("synchronous", "FULL")


def busy_error(e: Exception) -> FileError | None:
    """SQLite's "database is locked" after waiting REGISTRAR_DB_TIMEOUT: database_busy."""
    if "database is locked" not in str(e):
        return None
    return FileError("database_busy", seconds=f"{settings.DB_TIMEOUT:g}")


def fail_operation(op: Operation, error) -> None:
    """Mark a running operation failed, as best it can: when even that write fails (the database
    still busy), the operation stays running and `registrar unlock` releases it later."""
    text = error if isinstance(error, str) else repr(error)
    try:
        finish_operation(op, Operation.Status.FAILED, error=text[:1000])
    except DatabaseError as e:
        log.warning("operation %s: could not be marked failed (%s)", op.pk, e)


def finish_operation(op: Operation, status: str, **fields) -> None:
    for k, v in fields.items():
        setattr(op, k, v)
    op.status = status
    op.finished_at = timezone.now()
    op.save()
    if status == Operation.Status.DONE:
        refresh_statistics(op)


ANALYZE_ROWS = 1000  # fewer changed rows than this do not mislead the planner much


def refresh_statistics(op: Operation) -> list[str]:
    """On PostgreSQL, ANALYZE the tables the operation changed by more than ANALYZE_ROWS rows and
    10 % of the table (autovacuum's rule, with a higher floor), at once: the planner otherwise
    keeps the counts of before the import (or none) until autovacuum wakes, and a freshly filled
    table read as empty turns a join into nested loops (an export preview went from 0.08 s to
    80 s). The tables analysed, for the tests."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute(
            'SELECT "table", SUM(CASE WHEN pks IS NULL THEN 1 ELSE jsonb_array_length(pks) END)'
            " FROM journal_change WHERE operation_id = %s GROUP BY 1",
            [op.pk],
        )
        changed = {}
        for label, n in cur.fetchall():
            try:
                changed[apps.get_model(label)._meta.db_table] = int(n)
            except (LookupError, ValueError):
                continue
        if not changed:
            return []
        cur.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)",
            [list(changed)],
        )
        sizes = dict(cur.fetchall())
        stale = sorted(
            t
            for t, n in changed.items()
            if t in sizes and n > ANALYZE_ROWS and n > 0.1 * max(sizes[t], 0)
        )
        for table in stale:
            cur.execute(f'ANALYZE "{table}"')
    return stale


def take_lock(kind: str, scope_key: str, op: Operation) -> None:
    """One import per kind and scope at a time; refused with import_locked while another holds it.

    Scopes that overlap (the whole platform, or an organisation and one of its ancestors) count
    as the same scope: both imports could touch the same rows.
    """
    try:
        with transaction.atomic():
            mine = ImportLock.objects.create(
                kind=kind, scope_key=scope_key, operation=op, taken_by=op.actor_label
            )
    except IntegrityError:
        held = ImportLock.objects.filter(kind=kind, scope_key=scope_key).first()
        raise _locked(kind, held) from None
    others = list(ImportLock.objects.filter(kind=kind).exclude(pk=mine.pk))
    clash = next((o for o in others if _overlap(scope_key, o.scope_key)), None)
    if clash is not None:
        mine.delete()
        raise _locked(kind, clash)


def _locked(kind: str, held) -> FileError:
    since = timezone.localtime(held.taken_at).strftime("%Y-%m-%d %H:%M") if held else "?"
    return FileError("import_locked", kind=kind, since=since)


def _ancestors(extid: str) -> set[str]:
    """The extids of an organisation and its ancestors (a few queries: one per level)."""
    from registrar.directory.models import Organisation

    out, org = set(), Organisation.objects.filter(extid=extid).values("extid", "parent_id").first()
    while org is not None and org["extid"] not in out:
        out.add(org["extid"])
        org = (
            Organisation.objects.filter(pk=org["parent_id"]).values("extid", "parent_id").first()
            if org["parent_id"]
            else None
        )
    return out


def _overlap(a: str, b: str) -> bool:
    if "*" in (a, b) or a == b:
        return True
    return a in _ancestors(b) or b in _ancestors(a)


def release_lock(
    kind: str, scope_key: str, op: Operation | None = None, quiet: bool = False
) -> int:
    """Release a lock (an operation its own, or any for `registrar unlock`). `quiet`: a failure
    to release (the database busy) is logged, not raised: `registrar unlock` releases it."""
    qs = ImportLock.objects.filter(kind=kind)
    if op is not None:
        qs = qs.filter(scope_key=scope_key, operation=op)
    elif scope_key:
        qs = qs.filter(scope_key=scope_key)
    try:
        return qs.delete()[0]
    except DatabaseError as e:
        if not quiet:
            raise
        log.warning("the %s lock of operation %s was not released (%s)", kind, op and op.pk, e)
        return 0
