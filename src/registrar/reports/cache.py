"""The report's grid (counts per item and organisation) kept between requests until the data
changes: the dashboard and the API read through it, for every scope and every organisation,
course and curriculum filter alike; the command line computes afresh.

A report over a million records costs a grouped scan of them; the same grid asked again, with
nothing changed, need not. The key holds the data's version: the newest journal change (every
import, action, undo and admin edit writes one, in the same transaction as its rows) and the
newest row of each table the report reads, read in one query of index look-ups. Any committed
write through the journal moves it, so the next request computes afresh: imports still count at
once. A write that bypasses the journal (raw SQL) is seen at the next journalled write, or after
REGISTRAR_REPORT_CACHE_SECONDS at the latest (0: no cache)."""

import hashlib
import threading
import time

from django.conf import settings
from django.db import connection

from registrar.catalogue.models import Course, CurriculumCourse, ProgrammeCurriculum
from registrar.directory.models import Organisation, User
from registrar.journal.models import Change, Operation
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumAssignment,
    CurriculumRecord,
    ProgrammeAssignment,
    ProgrammeRecord,
)

WATCHED = (
    Change,
    Operation,
    CourseRecord,
    CourseAssignment,
    CurriculumRecord,
    CurriculumAssignment,
    ProgrammeRecord,
    ProgrammeAssignment,
    User,
    Organisation,
    Course,
    CurriculumCourse,
    ProgrammeCurriculum,
)


def version() -> tuple:
    """The newest id of each watched table (one query, each an index look-up)."""
    q = connection.ops.quote_name
    parts = ", ".join(f"(SELECT MAX(id) FROM {q(m._meta.db_table)})" for m in WATCHED)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {parts}")
        return tuple(cur.fetchone())


def seconds() -> int:
    return int(getattr(settings, "REGISTRAR_REPORT_CACHE_SECONDS", 0))


KEPT: dict[str, tuple[float, object]] = {}  # this process's grids: name -> (expiry, grid)
LIMIT = 32  # grids kept at most (each filter combination of accreditation, period... is one)


def kept(key: tuple, compute):
    """compute(), or what it gave for the same `key` while the data's version is the same.
    Kept in this process, unpickled (a grid of a hundred thousand cells would cost more to
    unpickle from a shared cache than the look-up saves); each web process keeps its own."""
    ttl = seconds()
    if ttl <= 0:
        return compute()
    what = (connection.vendor, connection.settings_dict["NAME"], version(), *key)
    name = hashlib.sha256(repr(what).encode()).hexdigest()
    now = time.monotonic()
    hit = KEPT.get(name)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    for old in [k for k, (expiry, _) in KEPT.items() if expiry <= now]:
        KEPT.pop(old, None)
    while len(KEPT) >= LIMIT:
        KEPT.pop(next(iter(KEPT)))
    KEPT[name] = (now + ttl, value)
    return value


def forget() -> None:
    """Drop every kept grid (tests: their databases reuse ids)."""
    KEPT.clear()
    GRIDS.clear()


# -- the course grid, kept across changes ---------------------------------------------------------

GRIDS: dict[str, dict] = {}  # name -> {"version", "running", "expiry", "cells": {item: [cell]}}
GRIDS_LOCK = threading.Lock()  # a web process's threads share the kept grids
DELTA_ROWS = 200_000  # changed rows past which the whole grid is computed again (one scan)
COURSE_TABLES = ("learning.CourseAssignment", "learning.CourseRecord")
# Changes of these fields move a learner's cells to another organisation or out of the grid,
# or rename a course: the whole grid is computed again. Other changes to them do not count.
GRID_FIELDS = {
    "directory.User": {"organisation_id", "disabled"},
    "catalogue.Course": {"code"},
    "directory.Organisation": set(),
}
V_CHANGE, V_OPERATION, V_RECORD, V_ASSIGNMENT = 0, 1, 2, 3  # positions in version()


def kept_grid(key: tuple, compute):
    """The course grid of `key`: compute() the first time; after journalled changes, only the
    cells of the courses they touched, compute(only=those course ids), merged into the kept
    grid. A change the journal cannot vouch for (rows written outside it, a learner moved to
    another organisation, a deletion of a user, more than DELTA_ROWS rows) computes it all
    again, and so does the first request after REGISTRAR_REPORT_CACHE_SECONDS.

    Which changes are new: those with an id above the last one seen, and every change of the
    operations that were still running then (PostgreSQL hands out ids before commit, so a
    running operation's changes can appear below the last id seen). Both are read in one
    statement, so in one snapshot."""
    ttl = seconds()
    if ttl <= 0:
        return compute()
    with GRIDS_LOCK:
        return _kept_grid(key, compute, ttl)


def _kept_grid(key: tuple, compute, ttl: int):
    name = hashlib.sha256(
        repr((connection.vendor, connection.settings_dict["NAME"], *key)).encode()
    )
    name = name.hexdigest()
    now = time.monotonic()
    v, running = _version_and_running()
    state = GRIDS.get(name)
    if state is not None and state["expiry"] > now:
        if state["version"] == v:
            return state["flat"]
        touched = _touched(state, v)
        if touched is not None:
            if touched:
                cells = state["cells"]
                for item in touched:
                    cells.pop(item, None)
                for cell in compute(only=touched):
                    cells.setdefault(cell[0], []).append(cell)
                state["flat"] = [c for part in cells.values() for c in part]
            state["version"], state["running"] = v, running
            return state["flat"]
    flat = compute()
    cells: dict[int, list] = {}
    for cell in flat:
        cells.setdefault(cell[0], []).append(cell)
    while len(GRIDS) >= LIMIT:
        GRIDS.pop(next(iter(GRIDS)))
    GRIDS[name] = {
        "version": v,
        "running": running,
        "expiry": now + ttl,
        "cells": cells,
        "flat": flat,
    }
    return flat


def _version_and_running() -> tuple[tuple, frozenset]:
    """version() and the ids of the operations running, in one statement."""
    q = connection.ops.quote_name
    parts = ", ".join(f"(SELECT MAX(id) FROM {q(m._meta.db_table)})" for m in WATCHED)
    table = q(Operation._meta.db_table)
    agg = "string_agg(id::text, ',')" if connection.vendor == "postgresql" else "group_concat(id)"
    running = f"(SELECT {agg} FROM {table} WHERE status = %s)"
    with connection.cursor() as cur:
        cur.execute(f"SELECT {parts}, {running}", [Operation.Status.RUNNING])
        *v, ids = cur.fetchone()
    return tuple(v), frozenset(int(i) for i in (ids or "").split(",") if i)


def _touched(state: dict, v: tuple) -> set[int] | None:
    """The courses whose cells changed since the state's version, or None: compute it all."""
    old = state["version"]
    watched = {m._meta.label for m in WATCHED}
    ignored = {V_CHANGE, V_OPERATION, V_RECORD, V_ASSIGNMENT}
    ignored |= {i for i, m in enumerate(WATCHED) if m._meta.label in GRID_FIELDS}
    ignored |= {
        i
        for i, m in enumerate(WATCHED)
        if m._meta.label.startswith(
            ("catalogue.Curr", "catalogue.Prog", "learning.Curr", "learning.Prog")
        )
    }
    if any(a != b for i, (a, b) in enumerate(zip(old, v, strict=True)) if i not in ignored):
        return None
    since, upto = old[V_CHANGE] or 0, v[V_CHANGE] or 0
    q = Change.objects.filter(id__gt=since, id__lte=upto)
    if state["running"]:
        from django.db.models import Q

        q = Change.objects.filter(
            Q(id__gt=since, id__lte=upto) | Q(operation_id__in=state["running"])
        )
    pks: dict[str, set] = {t: set() for t in COURSE_TABLES}
    courses: set[int] = set()
    created = False
    size = 0
    for ch in q.only("table", "action", "pk_value", "pks", "rows", "before", "after").iterator():
        if ch.table in COURSE_TABLES:
            if ch.action == Change.Action.CREATE:
                created = True
                pks[ch.table].update(ch.pks or ())
            for pk, before, _after, _row in (
                ch.entries() if ch.action != Change.Action.CREATE else ()
            ):
                pks[ch.table].add(pk)
                if before and before.get("course_id") is not None:
                    courses.add(before["course_id"])
        elif ch.table in GRID_FIELDS:
            if ch.action == Change.Action.DELETE:
                return None
            if ch.action == Change.Action.UPDATE:
                fields = set((ch.after or {}).keys()) | set((ch.before or {}).keys())
                if fields & GRID_FIELDS[ch.table]:
                    return None
        elif ch.table not in watched:
            continue
        size = sum(len(x) for x in pks.values())
        if size > DELTA_ROWS:
            return None
    moved = old[V_RECORD] != v[V_RECORD] or old[V_ASSIGNMENT] != v[V_ASSIGNMENT]
    if moved and not created:
        return None  # rows were added outside the journal
    for label, ids in pks.items():
        if not ids:
            continue
        model = CourseRecord if label == "learning.CourseRecord" else CourseAssignment
        ids = sorted(ids)
        for i in range(0, len(ids), 900):
            courses.update(
                model._base_manager.filter(pk__in=ids[i : i + 900]).values_list(
                    "course_id", flat=True
                )
            )
    return courses
