"""The completion report of SPEC §9, computed once for the command line, the API and the
dashboard: per course, organisation subtree, curriculum or programme, how many learners are
assigned, not started, in progress, completed and overdue, and the completion rate.

Who counts (docs/reports.md): a learner is *assigned* to an item when they have an assignment
to it or a record of it (an imported completion counts at once, assignment or not); disabled
users are left out unless asked; with `accreditation`, a learner whose course record is legacy
(the global course-records importer) is left out of that course. Each report is one grouped
query (conditional aggregates over the assignments and records); the organisation report
groups by the learners' own organisation and sums each subtree over the tree, read once."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.catalogue.models import (
    Course,
    Curriculum,
    CurriculumCourse,
    Programme,
    ProgrammeCurriculum,
)
from registrar.directory.models import Organisation, User
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumAssignment,
    CurriculumRecord,
    ProgrammeAssignment,
    ProgrammeRecord,
)

BY = ("course", "organisation", "curriculum", "programme")
KEYS = {
    "course": "course_code",
    "organisation": "org_extid",
    "curriculum": "curriculum_code",
    "programme": "programme_code",
}
COUNTS = ("assigned", "not_started", "in_progress", "completed", "overdue")
STATUSES = COUNTS[1:]  # the statuses a figure links down to, with "assigned"
MAX_TEXT = 100  # the longest code or extid a filter takes (the columns' own length)

Scope = frozenset[int] | None  # organisation ids a caller may read; None: the whole platform


class ReportError(Exception):
    """A filter that cannot be used: the key it names, why, and the HTTP status (400, 403)."""

    def __init__(self, key: str, message: str, status: int = 400):
        super().__init__(f"{key}: {message}")
        self.key, self.message, self.status = key, message, status


@dataclass(frozen=True)
class Filters:
    """What narrows a report. `since`/`until` (inclusive days, platform time zone) keep the
    learners whose assignment began in the period: the earlier of the assignment's date and
    the record's status date (an imported completion dated 2024 began in 2024)."""

    org: str = ""
    course: str = ""
    curriculum: str = ""
    since: date | None = None
    until: date | None = None
    accreditation: bool = False
    include_disabled: bool = False

    @classmethod
    def parse(cls, values: Mapping[str, object]) -> "Filters":
        """Filters from request or command-line values (strings, or booleans and dates);
        a bad value raises ReportError naming its key."""
        out = {}
        for key in ("org", "course", "curriculum"):
            text = str(values.get(key) or "").strip()
            if len(text) > MAX_TEXT:
                raise ReportError(key, _("at most %(n)s characters") % {"n": MAX_TEXT})
            out[key] = text
        for key in ("since", "until"):
            out[key] = parse_date(key, values.get(key))
        if out["since"] and out["until"] and out["since"] > out["until"]:
            raise ReportError("since", _("the period starts after it ends"))
        for key in ("accreditation", "include_disabled"):
            out[key] = _flag(key, values.get(key))
        return cls(**out)


def parse_date(key: str, value) -> date | None:
    """A day given as YYYY-MM-DD (or YYYY/MM/DD), or nothing; else ReportError naming `key`."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text.replace("/", "-")) if len(text) == 10 else _bad_date(key)
    except ValueError:
        return _bad_date(key)


def _bad_date(key: str):
    raise ReportError(key, _("expects a date, YYYY-MM-DD"))


TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ReportError(key, _("expects yes or no"))


# -- the organisation tree ---------------------------------------------------------------------


class Tree:
    """The organisation tree, read in one query: subtrees, extids and labels."""

    def __init__(self):
        self.parent: dict[int, int | None] = {}
        self.extid: dict[int, str] = {}
        self.label: dict[int, str] = {}
        self.children: dict[int | None, list[int]] = {}
        rows = Organisation.objects.values_list("pk", "parent_id", "extid", "label")
        for pk, parent, extid, label in rows.order_by("extid"):
            self.parent[pk], self.extid[pk], self.label[pk] = parent, extid, label
            self.children.setdefault(parent, []).append(pk)
        self.by_extid = {e: pk for pk, e in self.extid.items()}

    def subtree(self, root: int) -> set[int]:
        out, stack = set(), [root]
        while stack:
            pk = stack.pop()
            if pk not in out:
                out.add(pk)
                stack.extend(self.children.get(pk, ()))
        return out

    def depth_first(self, roots) -> list[int]:
        """`roots` and their descendants, each after its parent, siblings by extid."""
        out, seen = [], set()
        stack = sorted(roots, key=lambda pk: self.extid[pk], reverse=True)
        while stack:
            pk = stack.pop()
            if pk in seen:
                continue
            seen.add(pk)
            out.append(pk)
            stack.extend(reversed(self.children.get(pk, [])))
        return out

    def roots_of(self, ids: set[int]) -> list[int]:
        """The members of `ids` whose parent is not in `ids` (the tops of a union of subtrees)."""
        return [pk for pk in ids if self.parent.get(pk) not in ids]


def scope_of(extids, tree: Tree | None = None) -> Scope:
    """The scope that organisation extids' subtrees make; an unknown extid covers nothing."""
    tree = tree or Tree()
    out: set[int] = set()
    for e in extids:
        if e in tree.by_extid:
            out |= tree.subtree(tree.by_extid[e])
    return frozenset(out)


# -- the queries -------------------------------------------------------------------------------


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _instant(day: date):
    """The first instant of a day in the platform's time zone, as the database compares it."""
    when = timezone.make_aware(datetime.combine(day, time.min))
    return connection.ops.adapt_datetimefield_value(when)


# The (learner, item) pairs: every assignment with the item's record, and every record without
# an assignment; `status` is NULL when there is no record. One FULL JOIN (each table read once),
# or the two halves (_full_join says which).
FULL = """
    SELECT COALESCE(a.user_id, r.user_id) AS user_id, COALESCE(a.{item}, r.{item}) AS item_id,
           a.target_date AS target, a.assigned_at AS began, r.status AS status,
           r.status_date AS status_date{legacy}
    FROM {assignments} a FULL JOIN {records} r ON r.user_id = a.user_id AND r.{item} = a.{item}
"""
ASSIGNED = """
    SELECT a.user_id AS user_id, a.{item} AS item_id, a.target_date AS target,
           a.assigned_at AS began, r.status AS status, r.status_date AS status_date{legacy}
    FROM {assignments} a LEFT JOIN {records} r ON r.user_id = a.user_id AND r.{item} = a.{item}
"""
UNASSIGNED = """
    SELECT r.user_id AS user_id, r.{item} AS item_id, CAST(NULL AS DATE) AS target,
           CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS began,
           r.status AS status, r.status_date AS status_date{legacy}
    FROM {records} r
    WHERE NOT EXISTS (SELECT 1 FROM {assignments} a2
                      WHERE a2.user_id = r.user_id AND a2.{item} = r.{item})
"""

TABLES = {
    "course": (CourseAssignment, CourseRecord, "course_id"),
    "curriculum": (CurriculumAssignment, CurriculumRecord, "curriculum_id"),
    "programme": (ProgrammeAssignment, ProgrammeRecord, "programme_id"),
}


def _full_join() -> bool:
    """SQLite (3.39 and later): one FULL JOIN reads each table once. PostgreSQL runs the two
    halves faster (its full hash join is not parallel; the halves' joins are)."""
    if connection.vendor != "sqlite":
        return False
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 39)


def _pairs_sql(level: str, only: set[int] | None = None) -> list[str]:
    """The pairs of `level`, as one or two plain SELECTs (which both databases fold into the
    grouped query around them instead of materialising them); `only`: of those items alone
    (read through the item's index)."""
    assignments, records, item = TABLES[level]
    legacy = ", r.legacy AS legacy" if level == "course" else ""
    names = {"item": item, "assignments": _t(assignments), "records": _t(records)}
    if only is not None:
        ids = ", ".join(str(int(i)) for i in sorted(only))
        return [
            ASSIGNED.format(legacy=legacy, **names) + f" WHERE a.{item} IN ({ids})",
            UNASSIGNED.format(legacy=legacy, **names) + f" AND r.{item} IN ({ids})",
        ]
    parts = (FULL,) if _full_join() else (ASSIGNED, UNASSIGNED)
    return [part.format(legacy=legacy, **names) for part in parts]


def _started_below(level: str, accreditation: bool, params: list) -> str:
    """SQL true when the learner of pair `q` has started something inside the curriculum or
    programme (a course or curriculum record in progress or completed; with `accreditation`,
    legacy course records do not count): the roll-up that makes the item in progress though
    its own record says nothing yet."""
    legacy = " AND cr.legacy = %s" if accreditation else ""
    courses = (
        f"SELECT 1 FROM {_t(CurriculumCourse)} cc JOIN {_t(CourseRecord)} cr"
        f" ON cr.course_id = cc.course_id AND cr.user_id = q.user_id"
        f" WHERE cc.curriculum_id = {{curriculum}} AND cr.status IN ('I', 'C'){legacy}"
    )
    if level == "curriculum":
        params.extend([False] * accreditation)
        return f"EXISTS ({courses.format(curriculum='q.item_id')})"
    curricula = (
        f"SELECT 1 FROM {_t(ProgrammeCurriculum)} pc JOIN {_t(CurriculumRecord)} qr"
        f" ON qr.curriculum_id = pc.curriculum_id AND qr.user_id = q.user_id"
        f" WHERE pc.programme_id = q.item_id AND qr.status IN ('I', 'C')"
    )
    in_curricula = (
        f"SELECT 1 FROM {_t(ProgrammeCurriculum)} pc2 WHERE pc2.programme_id = q.item_id"
        f" AND EXISTS ({courses.format(curriculum='pc2.curriculum_id')})"
    )
    params.extend([False] * accreditation)
    return f"(EXISTS ({curricula}) OR EXISTS ({in_curricula}))"


@dataclass(frozen=True)
class Resolved:
    """Filters with their codes turned into ids, and the organisations the report may count."""

    filters: Filters
    orgs: frozenset[int] | None  # None: every organisation
    course_id: int | None = None
    curriculum_id: int | None = None
    tree: Tree | None = None
    org_id: int | None = None


def resolve(
    filters: Filters, scope: Scope, need_tree: bool = False, tree: Tree | None = None
) -> Resolved:
    """Codes to ids (a query each, only for the filters given), and the organisations counted:
    the scope, narrowed to the `org` filter's subtree. An unknown code is a 400 naming its key;
    an organisation outside the scope a 403."""
    from registrar.bulk import references

    if tree is None and (need_tree or filters.org or scope is not None):
        tree = Tree()
    orgs, org_id = scope, None
    if filters.org:
        org_id = tree.by_extid.get(filters.org)
        if org_id is None:
            raise ReportError(
                "org", _("no organisation has the external id %(extid)s") % {"extid": filters.org}
            )
        if scope is not None and org_id not in scope:
            raise ReportError(
                "org",
                _("organisation %(extid)s is outside your scope") % {"extid": filters.org},
                403,
            )
        orgs = frozenset(tree.subtree(org_id))
    course_id = curriculum_id = None
    if filters.course:
        found = references.find_one("course", filters.course)
        if found is None:
            raise ReportError(
                "course", _("no course has the code %(code)s") % {"code": filters.course}
            )
        course_id = found["id"]
        filters = replace(filters, course=found["code"])
    if filters.curriculum:
        found = references.find_one("curriculum", filters.curriculum)
        if found is None:
            raise ReportError(
                "curriculum",
                _("no curriculum has the code %(code)s") % {"code": filters.curriculum},
            )
        curriculum_id = found["id"]
        filters = replace(filters, curriculum=found["code"])
    return Resolved(filters, orgs, course_id, curriculum_id, tree, org_id)


def _where(level: str, f: Filters, params: list) -> list[str]:
    """The WHERE terms of the grouped query (on `p` the pairs and `u` the learner): the
    filters that change what a pair counts as (the others select cells of the grid)."""
    where = []
    if not f.include_disabled:
        where.append("u.disabled = %s")
        params.append(False)
    if level == "course" and f.accreditation:
        where.append("(p.legacy IS NULL OR p.legacy = %s)")
        params.append(False)
    began = (
        "CASE WHEN p.status_date IS NOT NULL AND (p.began IS NULL OR p.status_date < p.began)"
        " THEN p.status_date ELSE p.began END"
    )
    if f.since:
        where.append(f"{began} >= %s")
        params.append(_instant(f.since))
    if f.until:
        where.append(f"{began} < %s")
        params.append(_instant(f.until + timedelta(days=1)))
    return where


def _items(level: str, r: Resolved) -> set[int] | None:
    """The ids of the items (courses, curricula, programmes) that the course and curriculum
    filters keep: the item itself, the items containing it, or the courses of the curriculum;
    None when neither filter is given. One query per filter given."""
    out = None
    for what, pk in (("course", r.course_id), ("curriculum", r.curriculum_id)):
        if pk is None:
            continue
        if level == what:
            found = {pk}
        else:
            cc, pc = _t(CurriculumCourse), _t(ProgrammeCurriculum)
            sql = {
                ("curriculum", "course"): f"SELECT curriculum_id FROM {cc} WHERE course_id = %s",
                ("programme", "course"): f"SELECT pc.programme_id FROM {pc} pc JOIN {cc} cc"
                " ON cc.curriculum_id = pc.curriculum_id WHERE cc.course_id = %s",
                ("course", "curriculum"): f"SELECT course_id FROM {cc} WHERE curriculum_id = %s",
                ("programme", "curriculum"): f"SELECT programme_id FROM {pc}"
                " WHERE curriculum_id = %s",
            }[(level, what)]
            with connection.cursor() as cur:
                cur.execute(sql, [pk])
                found = {row[0] for row in cur.fetchall()}
        out = found if out is None else out & found
    return out


def _grid(level: str, f: Filters, today: date, only: set[int] | None = None) -> list[tuple]:
    """The one grouped query of a report: over the (learner, item) pairs of `level` (course,
    curriculum, programme), per item and learner's organisation, (item id, item code,
    organisation id, assigned, not started, in progress, completed, overdue). Each part of the
    pairs is aggregated on its own (a scan with index look-ups, nothing materialised) and the
    parts' sums added. The organisation, course and curriculum filters then select cells of
    this grid, so that one grid serves every scope (registrar.reports.cache keeps it).
    `only`: the cells of those items alone (the cache's update after a change)."""
    parts, params = [], []
    item = "p.item_id + 0" if connection.vendor == "sqlite" else "p.item_id"
    for pairs in _pairs_sql(level, only):
        status = "p.status"
        params.append(connection.ops.adapt_datefield_value(today))  # in placeholder order
        if level in ("curriculum", "programme"):
            started = _started_below(level, f.accreditation, params)
            # The fence (an OFFSET) keeps the roll-up a column computed once per pair: folded
            # into the grouped query, it would be run again by each of the five sums.
            fence = "OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"
            pairs = (
                f"SELECT q.*, CASE WHEN q.status = 'C' THEN 'C' WHEN q.status = 'I' OR {started}"
                f" THEN 'I' ELSE 'N' END AS rolled FROM ({pairs}) q {fence}"
            )
            status = "p.rolled"
        where = ["u.id = p.user_id", *_where(level, f, params)]
        not_done = f"({status} IS NULL OR {status} <> 'C')"
        # SQLite must read the pairs first and look each learner up: CROSS JOIN fixes its join
        # order (PostgreSQL plans it as the inner join it is), and grouping by `item_id + 0`
        # keeps it from walking an index of the item, which reads the rows out of order
        # (on PostgreSQL the plain column keeps its statistics: a hash aggregate).
        parts.append(
            f"SELECT {item} AS item, u.organisation_id AS org, COUNT(*) AS n,"
            f" SUM(CASE WHEN {status} IS NULL OR {status} = 'N' THEN 1 ELSE 0 END) AS ns,"
            f" SUM(CASE WHEN {status} = 'I' THEN 1 ELSE 0 END) AS ip,"
            f" SUM(CASE WHEN {status} = 'C' THEN 1 ELSE 0 END) AS c,"
            f" SUM(CASE WHEN p.target < %s AND {not_done} THEN 1 ELSE 0 END) AS od"
            f" FROM ({pairs}) p CROSS JOIN {_t(User)} u"
            f" WHERE {' AND '.join(where)} GROUP BY {item}, u.organisation_id"
        )
    sums = "SUM(n), SUM(ns), SUM(ip), SUM(c), SUM(od)"
    sql = (
        f"SELECT t.item, x.code, t.org, {sums} FROM ({' UNION ALL '.join(parts)}) t"
        f" JOIN {_t(CODES[level])} x ON x.id = t.item GROUP BY t.item, x.code, t.org"
    )
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cur:
        if pg:  # hash joins of a million pairs in memory, not in batches on disk; no JIT
            cur.execute("SET work_mem = '64MB'; SET jit = off")  # (a quarter of a second)
        try:
            cur.execute(sql, params)
            rows = cur.fetchall()
        finally:
            if pg:
                cur.execute("RESET work_mem; RESET jit")
    return [(i, code, org, *(int(v or 0) for v in counts)) for i, code, org, *counts in rows]


def _row(key: str, value: str, counts) -> dict:
    assigned, not_started, in_progress, completed, overdue = counts
    return {
        key: value,
        "assigned": assigned,
        "not_started": not_started,
        "in_progress": in_progress,
        "completed": completed,
        "overdue": overdue,
        "completion_rate": round(completed / assigned, 3) if assigned else 0.0,
    }


CODES = {"course": Course, "curriculum": Curriculum, "programme": Programme}


def completions(
    by: str = "course",
    filters: Filters = Filters(),
    scope: Scope = None,
    today=None,
    tree: Tree | None = None,
    cached: bool = False,
) -> list[dict]:
    """The report: one dict per course, organisation, curriculum or programme that has someone
    assigned, with the keys of SPEC §9 (KEYS[by], COUNTS, completion_rate), ordered by code
    (organisations depth-first, each before its children). `scope`: the organisations the
    caller may read (None: all); `tree`: the organisation tree, when the caller has read it;
    `cached`: reuse the grid kept while the data is unchanged (registrar.reports.cache)."""
    if by not in BY:
        raise ReportError("by", _("expects one of %(choices)s") % {"choices": ", ".join(BY)})
    today = today or timezone.localdate()
    r = resolve(filters, scope, by == "organisation", tree)
    level = "course" if by == "organisation" else by
    items = _items(level, r)
    if not cached:
        return _sums(by, r, _grid(level, r.filters, today), items)
    from . import cache

    key = (level, today.isoformat(), r.filters.accreditation, r.filters.include_disabled)
    key += (r.filters.since, r.filters.until)
    if level == "course":  # kept across changes: the courses changed since are counted again

        def grid():
            return cache.kept_grid(key, lambda only=None: _grid(level, r.filters, today, only))

    else:
        grid = lambda: cache.kept(key, lambda: _grid(level, r.filters, today))  # noqa: E731
    chosen = (by, r.org_id, _sorted(r.orgs), _sorted(items))
    return [dict(row) for row in cache.kept(key + chosen, lambda: _sums(by, r, grid(), items))]


def _sorted(ids) -> tuple | None:
    return None if ids is None else tuple(sorted(ids))


def _sums(by: str, r: Resolved, cells: list[tuple], items: set[int] | None) -> list[dict]:
    """The report from the grid: the cells the organisations and items allowed, summed per
    item (by its code) or per organisation subtree."""
    cells = [
        c for c in cells if (r.orgs is None or c[2] in r.orgs) and (items is None or c[0] in items)
    ]
    if by == "organisation":
        return _by_organisation(r, cells)
    sums: dict[str, list[int]] = {}
    for _item, code, _org, *counts in cells:
        _add(sums.setdefault(code, [0] * len(COUNTS)), counts)
    return [_row(KEYS[by], code, sums[code]) for code in sorted(sums)]


def _add(acc: list[int], counts) -> None:
    for i, c in enumerate(counts):
        acc[i] += c


def _by_organisation(r: Resolved, cells: list[tuple]) -> list[dict]:
    """The cells summed by each learner's own organisation, then over every subtree (each
    learner belongs to one organisation, so the sums are exact). Shown: the organisations the
    report may count (the `org` filter's subtree, inside the scope) that have someone."""
    tree = r.tree
    totals: dict[int, list[int]] = {}
    for _item, _code, org, *counts in cells:
        pk, seen = org, set()
        while pk is not None and pk not in seen:  # the learners' counts go to every ancestor
            seen.add(pk)
            _add(totals.setdefault(pk, [0] * len(COUNTS)), counts)
            pk = tree.parent.get(pk)
    shown = r.orgs if r.orgs is not None else frozenset(tree.parent)
    roots = [r.org_id] if r.org_id is not None else tree.roots_of(set(shown))
    return [
        _row("org_extid", tree.extid[pk], totals[pk])
        for pk in tree.depth_first(roots)
        if pk in shown and pk in totals
    ]


def titles(by: str, keys) -> dict[str, str]:
    """The titles (labels for organisations) of a report's keys: one query."""
    model = Organisation if by == "organisation" else CODES[by]
    field, label = ("extid", "label") if by == "organisation" else ("code", "title")
    keys = sorted(set(keys))
    out: dict[str, str] = {}
    for i in range(0, len(keys), 900):
        qs = model.objects.filter(**{f"{field}__in": keys[i : i + 900]}).values_list(field, label)
        out.update(qs)
    return out
