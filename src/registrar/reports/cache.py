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
