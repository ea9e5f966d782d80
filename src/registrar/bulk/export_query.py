"""The export's one SQL query (SPEC §6): users joined to their pairs at the row grain.

Pairs at a level are the level's assignments (with their record, if any), then the records
without an assignment, then (courses, when asked) the user's external trainings: one UNION ALL
whose branches share their select list. The deeper levels join on the course pairs (lessons,
credits) and the user's curricula that contain the course. Users left-join their pairs, so a
user with none at the grain has one row of empty cells (an inner join when a status filter is
set). Every value is turned to its text in SQL (dates ISO 8601, flags yes/no), so that a row
goes from the cursor to the writer as it is."""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection

from .export_columns import (
    COLUMNS,
    COURSES,
    CREDITS,
    CURRICULA,
    DATE,
    FLAG,
    LESSONS,
    MOMENT,
    NUM,
    TEXT,
    USERS,
)
from .io.writers import ESCAPE_PREFIXES


@dataclass
class Plan:
    """A checked configuration: the columns, and every filter with its references as ids."""

    columns: list[str]
    scope_id: int | None = None  # the organisation whose subtree the export is confined to
    org_id: int | None = None
    audience_id: int | None = None
    category_id: int | None = None
    folder_ids: list[int] | None = None
    course_id: int | None = None
    course_code: str | None = None
    curriculum_id: int | None = None
    external: bool = False
    date_from: date | None = None
    date_to: date | None = None
    status: list[str] = field(default_factory=list)
    escape: bool = False  # CSV: text cells escaped against formulas (an .xlsx cell is text)

    @property
    def groups(self) -> set[str]:
        return {COLUMNS[c].group for c in self.columns}

    @property
    def grain(self) -> str:
        """The deepest group chosen: one row per user, curriculum, course (credit) or lesson."""
        g = self.groups
        if LESSONS in g:
            return LESSONS
        if COURSES in g or CREDITS in g:
            return COURSES
        return CURRICULA if CURRICULA in g else USERS

    @property
    def top(self) -> str | None:
        """The highest level chosen: the one the status, category, folder and dates filter."""
        g = self.groups
        if CURRICULA in g:
            return CURRICULA
        if COURSES in g or CREDITS in g:
            return COURSES
        return LESSONS if LESSONS in g else None


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _tz() -> str:
    return settings.TIME_ZONE.replace("'", "")


def _moment(x: str) -> str:
    """A moment as ISO 8601 in UTC (`2024-06-15T08:30:00Z`): unambiguous, read back as the same
    moment by the imports, and cheap (SQLite's localtime conversion costs microseconds a row)."""
    if _pg():
        return f"to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    # Django stores moments as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    return f"(substr({x}, 1, 10) || 'T' || substr({x}, 12, 8) || 'Z')"


def _day(x: str) -> str:
    if _pg():
        return f"to_char({x} AT TIME ZONE '{_tz()}', 'YYYY-MM-DD')"
    return f"date({x}, 'localtime')"


def _day_value(x: str) -> str:
    """The day of a moment as a date (for comparisons)."""
    return f"({x} AT TIME ZONE '{_tz()}')::date" if _pg() else f"date({x}, 'localtime')"


def _date(x: str) -> str:
    return f"to_char({x}, 'YYYY-MM-DD')" if _pg() else x


def _num(x: str) -> str:
    return f"trim_scale({x})::text" if _pg() else f"CAST({x} AS TEXT)"


def _json(alias: str, key: str) -> str:
    if _pg():
        return f"({alias}.custom ->> '{key}')"
    return f"json_extract({alias}.custom, '$.{key}')"


def _audiences() -> str:
    join = (
        "FROM directory_useraudience ua JOIN directory_audience a ON a.id = ua.audience_id "
        "WHERE ua.user_id = u.id"
    )
    if _pg():
        return f"(SELECT string_agg(a.name, '||' ORDER BY a.name) {join})"
    return f"(SELECT group_concat(name, '||') FROM (SELECT a.name {join} ORDER BY a.name))"


def _fill(sql: str) -> str:
    """The column's placeholders for this database."""
    while "{" in sql:
        start = sql.index("{")
        end = sql.index("}", start)
        head, _, rest = sql[start + 1 : end].partition(":")
        if head == "json":
            alias, _, key = rest.partition(":")
            out = _json(alias, key)
        elif head == "day":
            out = _day(rest)
        elif head == "date":
            out = _date(rest)
        else:
            out = _audiences()
        sql = sql[:start] + out + sql[end + 1 :]
    return sql


def expression(name: str, external: bool = False) -> str:
    """The SQL of a column's text (an external training's value when `external`)."""
    col = COLUMNS[name]
    raw = col.sql if not external else col.ext
    if raw is None:
        return "NULL"
    sql = _fill(raw)
    if col.kind == DATE:
        return _date(sql)
    if col.kind == MOMENT:
        return _moment(sql)
    if col.kind == FLAG:
        return f"CASE WHEN {sql} THEN 'yes' WHEN NOT {sql} THEN 'no' END"
    if col.kind == NUM:
        return _num(sql)
    return sql


def _q(name: str) -> str:
    return f'"{name}"'


class _Sql:
    """Parameters collected in the order the SQL text names them."""

    def __init__(self):
        self.params: list = []

    def p(self, value) -> str:
        self.params.append(value)
        return "%s"

    def ids(self, values: list[int]) -> str:
        if _pg():
            return f"= ANY({self.p(list(values))}::bigint[])"
        return f"IN ({', '.join(self.p(v) for v in values)})"


def _level_tables(level: str) -> dict:
    if level == CURRICULA:
        return dict(
            a="k",
            asg="ka",
            rec="kr",
            cat="kcat",
            fol="kfol",
            item="catalogue_curriculum",
            asg_table="learning_curriculumassignment",
            rec_table="learning_curriculumrecord",
            fk="curriculum_id",
            prefix="curriculum",
        )
    return dict(
        a="c",
        asg="ca",
        rec="cr",
        cat="ccat",
        fol="cfol",
        item="catalogue_course",
        asg_table="learning_courseassignment",
        rec_table="learning_courserecord",
        fk="course_id",
        prefix="course",
    )


def _pairs(plan: Plan, q: _Sql, level: str, names: list[str], sort: str) -> str:
    """The user's pairs at `level` (curricula or courses) with the chosen columns of that level,
    its filters applied: `user_id`, the item's id, a sort key and the status (for the filter)."""
    t = _level_tables(level)
    a, asg, rec, cat, fol = t["a"], t["asg"], t["rec"], t["cat"], t["fol"]
    status = f"COALESCE({rec}.status, 'N')"
    select = [
        f"COALESCE({asg}.user_id, {rec}.user_id) AS user_id",
        f"{a}.id AS {t['fk']}",
        f"{a}.code AS {sort}",
        f"{status} AS _{level}_status",
        *[f"{expression(n)} AS {_q(n)}" for n in names],
    ]
    joins = []
    text = " ".join(COLUMNS[n].sql for n in names)
    if f"{cat}." in text:
        joins.append(f"LEFT JOIN catalogue_category {cat} ON {cat}.id = {a}.category_id")
    if f"{fol}." in text:
        joins.append(f"LEFT JOIN catalogue_folder {fol} ON {fol}.id = {a}.folder_id")
    conds = []
    top = plan.top == level
    # Lessons have no assignment: at the lesson level, the dates are their course's.
    dated_level = top or (plan.top == LESSONS and level == COURSES)
    if top and plan.category_id is not None:
        conds.append(f"{a}.category_id = {q.p(plan.category_id)}")
    if top and plan.folder_ids is not None:
        conds.append(f"{a}.folder_id {q.ids(plan.folder_ids)}")
    if level == COURSES and plan.course_id is not None:
        conds.append(f"{a}.id = {q.p(plan.course_id)}")
    if level == CURRICULA and plan.curriculum_id is not None:
        conds.append(f"{a}.id = {q.p(plan.curriculum_id)}")
    if level == COURSES and plan.curriculum_id is not None and CURRICULA not in plan.groups:
        conds.append(
            "EXISTS (SELECT 1 FROM catalogue_curriculumcourse x WHERE x.course_id = c.id "
            f"AND x.curriculum_id = {q.p(plan.curriculum_id)})"
        )
    if level == CURRICULA and plan.course_id is not None and plan.grain == CURRICULA:
        conds.append(
            "EXISTS (SELECT 1 FROM catalogue_curriculumcourse x WHERE x.curriculum_id = k.id "
            f"AND x.course_id = {q.p(plan.course_id)})"
        )
    dated = dated_level and (plan.date_from or plan.date_to)
    assigned = f"COALESCE({asg}.start_date, {_day_value(asg + '.assigned_at')})"
    date_conds = []
    if dated_level and plan.date_from:
        date_conds.append(f"{assigned} >= {q.p(plan.date_from)}")
    if dated_level and plan.date_to:
        date_conds.append(f"{assigned} <= {q.p(plan.date_to)}")
    where = " AND ".join(conds + date_conds)
    head = f"SELECT {', '.join(select)}"
    tail = " ".join(joins)
    on = f"{rec}.user_id = {asg}.user_id AND {rec}.{t['fk']} = {asg}.{t['fk']}"
    branches = [
        f"{head} FROM {t['asg_table']} {asg} JOIN {t['item']} {a} ON {a}.id = {asg}.{t['fk']} "
        f"LEFT JOIN {t['rec_table']} {rec} ON {on} {tail}" + (f" WHERE {where}" if where else "")
    ]
    if not dated:  # records without an assignment have no assignment date
        where_b = " AND ".join([f"{asg}.id IS NULL", *conds])
        # The conditions' parameters are named twice: the second branch repeats them.
        named = _count(conds, q)
        if named:
            q.params.extend(q.params[-named:])
        branches.append(
            f"{head} FROM {t['rec_table']} {rec} JOIN {t['item']} {a} ON {a}.id = {rec}.{t['fk']} "
            f"LEFT JOIN {t['asg_table']} {asg} ON {on} {tail} WHERE {where_b}"
        )
    if level == COURSES and plan.external and plan.grain == COURSES:
        branches.append(_external(plan, q, names, sort))
    return " UNION ALL ".join(branches)


def _count(conds: list[str], q: _Sql) -> int:
    """How many parameters the conditions name (each %s one)."""
    return sum(c.count("%s") for c in conds)


def _external(plan: Plan, q: _Sql, names: list[str], sort: str) -> str:
    """The user's external trainings as course pairs (no course: its columns from the passport)."""
    select = [
        "et.user_id AS user_id",
        "NULL AS course_id",
        f"COALESCE(et.course_code, '') || ' ' || et.course_name AS {sort}",
        "'C' AS _courses_status",
        *[f"{expression(n, external=True)} AS {_q(n)}" for n in names],
    ]
    conds = []
    if plan.course_code is not None:
        conds.append(f"et.course_code = {q.p(plan.course_code)}")
    start = "et.start_date"
    if plan.date_from:
        conds.append(f"{start} >= {q.p(plan.date_from)}")
    if plan.date_to:
        conds.append(f"{start} <= {q.p(plan.date_to)}")
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return f"SELECT {', '.join(select)} FROM learning_externaltraining et{where}"


def _external_allowed(plan: Plan) -> bool:
    """External trainings have no category, folder or curriculum: those filters leave them out."""
    return not (plan.category_id is not None or plan.folder_ids is not None or plan.curriculum_id)


def _grain_pairs(plan: Plan, q: _Sql) -> tuple[str, list[str], str | None]:
    """The derived table `p` of the grain's rows, its sort keys, and its status column (the top
    level's, for the status filter)."""
    names = [n for n in plan.columns if COLUMNS[n].group != USERS]
    of = {g: [n for n in names if COLUMNS[n].group == g] for g in (CURRICULA, COURSES, LESSONS)}
    credits = [n for n in names if COLUMNS[n].group == CREDITS]
    grain = plan.grain
    if grain == CURRICULA:
        return _pairs(plan, q, CURRICULA, of[CURRICULA], "_ksort"), ["_ksort"], "_curricula_status"
    keep_ext = plan.external and _external_allowed(plan)
    saved, plan.external = plan.external, keep_ext
    try:
        cp = _pairs(plan, q, COURSES, of[COURSES], "_csort")
    finally:
        plan.external = saved
    select = ["cp.user_id AS user_id", "cp._csort AS _csort", "cp._courses_status"]
    select += [f"cp.{_q(n)}" for n in of[COURSES]]
    joins = []
    sorts = ["_csort"]
    if CURRICULA in plan.groups:
        kp = _pairs(plan, q, CURRICULA, of[CURRICULA], "_ksort")
        filtered = (
            plan.category_id is not None
            or plan.folder_ids is not None
            or plan.curriculum_id is not None
            or plan.date_from
            or plan.date_to
        )
        kind = "JOIN" if filtered else "LEFT JOIN"
        joins.append(
            f"{kind} (SELECT kc.course_id AS kc_course_id, kp.* "
            f"FROM catalogue_curriculumcourse kc JOIN ({kp}) kp "
            "ON kp.curriculum_id = kc.curriculum_id) kk "
            "ON kk.kc_course_id = cp.course_id AND kk.user_id = cp.user_id"
        )
        select += ["kk._ksort AS _ksort", "kk._curricula_status"]
        select += [f"kk.{_q(n)}" for n in of[CURRICULA]]
        sorts.insert(0, "_ksort")
    if credits:
        joins.append(
            "LEFT JOIN learning_creditaward aw ON aw.user_id = cp.user_id "
            "AND aw.course_id = cp.course_id "
            "LEFT JOIN catalogue_credittype ct ON ct.id = aw.credit_type_id"
        )
        select += ["ct.name AS _tsort"] + [f"{expression(n)} AS {_q(n)}" for n in credits]
        sorts.append("_tsort")
    status = "_curricula_status" if plan.top == CURRICULA else "_courses_status"
    if grain == LESSONS:
        joins.append("JOIN catalogue_lesson l ON l.course_id = cp.course_id")
        joins.append(
            "LEFT JOIN learning_lessonrecord lr ON lr.user_id = cp.user_id AND lr.lesson_id = l.id"
        )
        text = " ".join(COLUMNS[n].sql for n in of[LESSONS])
        if "lcat." in text:
            joins.append("LEFT JOIN catalogue_category lcat ON lcat.id = l.category_id")
        if "lfol." in text:
            joins.append("LEFT JOIN catalogue_folder lfol ON lfol.id = l.folder_id")
        select += [
            "l.position AS _lpos",
            "l.code AS _lsort",
            "COALESCE(lr.status, 'N') AS _lessons_status",
        ]
        select += [f"{expression(n)} AS {_q(n)}" for n in of[LESSONS]]
        sorts += ["_lpos", "_lsort"]
        if plan.top == LESSONS:
            status = "_lessons_status"
    where = []
    if grain == LESSONS and plan.top == LESSONS:
        if plan.category_id is not None:
            where.append(f"l.category_id = {q.p(plan.category_id)}")
        if plan.folder_ids is not None:
            where.append(f"l.folder_id {q.ids(plan.folder_ids)}")
    sql = f"SELECT {', '.join(select)} FROM ({cp}) cp {' '.join(joins)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, sorts, status


def _user_where(plan: Plan, q: _Sql) -> list[str]:
    """The conditions on users: the scope, the organisation and the audience filters."""
    where = []
    if plan.scope_id is not None:
        where.append("u.organisation_id IN (SELECT id FROM scope_tree)")
    if plan.org_id is not None:
        where.append("u.organisation_id IN (SELECT id FROM org_tree)")
    if plan.audience_id is not None:
        where.append(
            "EXISTS (SELECT 1 FROM directory_useraudience fa WHERE fa.user_id = u.id "
            f"AND fa.audience_id = {q.p(plan.audience_id)})"
        )
    return where


def _joins(plan: Plan) -> str:
    """The user's organisation, and managers when a column names them."""
    text = " ".join(COLUMNS[n].sql for n in plan.columns if COLUMNS[n].group == USERS)
    sql = "JOIN directory_organisation o ON o.id = u.organisation_id "
    if "m." in text:
        sql += "LEFT JOIN directory_user m ON m.id = u.manager_id "
    if "am." in text:
        sql += "LEFT JOIN directory_user am ON am.id = u.alternate_manager_id "
    return sql


def build(plan: Plan, order: bool = True) -> tuple[str, list]:
    """The export's query and its parameters.

    With pairs, two branches: the pairs (a common table expression) joined to their users, and
    the users without any (none when a status filter is set). Driving from the pairs lets SQLite
    look users up by key, where a join from users to a derived table would scan it per user."""
    q = _Sql()
    ctes = []
    if plan.scope_id is not None:
        ctes.append(_tree("scope_tree", q, plan.scope_id))
    if plan.org_id is not None:
        ctes.append(_tree("org_tree", q, plan.org_id))
    outer = ", ".join(_outer(plan, i, n) for i, n in enumerate(plan.columns))
    if plan.grain == USERS:
        sql = "WITH RECURSIVE " + ", ".join(ctes) + " " if ctes else ""
        head = [f"{expression(n)} AS c{i}" for i, n in enumerate(plan.columns)]
        sql += f"SELECT {outer} FROM (SELECT {', '.join(head)}, u.login AS _login "
        sql += f"FROM directory_user u {_joins(plan)}"
        where = _user_where(plan, q)
        if where:
            sql += "WHERE " + " AND ".join(where) + " "
        return sql + ") t " + ("ORDER BY _login" if order else ""), q.params
    pairs, sorts, status = _grain_pairs(plan, q)
    ctes.append(f"p AS ({pairs})")
    sql = "WITH RECURSIVE " + ", ".join(ctes) + " "
    cells = [expression(n) if COLUMNS[n].group == USERS else f"p.{_q(n)}" for n in plan.columns]
    keys = [f"p.{s}" if s == "_lpos" else f"COALESCE(p.{s}, '')" for s in sorts]
    head = [f"{c} AS c{i}" for i, c in enumerate(cells)] + ["u.login AS _login"]
    head += [f"{k} AS _s{i}" for i, k in enumerate(keys)]
    where = _user_where(plan, q)
    if plan.status:
        where.append(f"p.{status} IN ({', '.join(q.p(s) for s in plan.status)})")
    sql += f"SELECT {outer} FROM (SELECT {', '.join(head)} FROM p "
    sql += "JOIN directory_user u ON u.id = p.user_id "
    sql += _joins(plan)
    if where:
        sql += "WHERE " + " AND ".join(where) + " "
    if not plan.status:
        empty = [expression(n) if COLUMNS[n].group == USERS else "NULL" for n in plan.columns]
        empty += ["u.login"] + ["0" if s == "_lpos" else "''" for s in sorts]
        where = _user_where(plan, q)
        if _pg():
            where.append("NOT EXISTS (SELECT 1 FROM p x WHERE x.user_id = u.id)")
        else:  # an IN list SQLite builds an index for, once
            where.append("u.id NOT IN (SELECT user_id FROM p)")
        sql += f"UNION ALL SELECT {', '.join(empty)} FROM directory_user u {_joins(plan)}"
        sql += "WHERE " + " AND ".join(where) + " "
    sql += ") t "
    if order:
        sql += "ORDER BY " + ", ".join(["_login", *[f"_s{i}" for i in range(len(keys))]])
    return sql, q.params


def _outer(plan: Plan, i: int, name: str) -> str:
    """Output cell i: escaped against formulas in a CSV file when it is text."""
    cell = f"c{i}"
    if not plan.escape or COLUMNS[name].kind != TEXT:
        return cell
    return f"{escaped(cell)} AS {cell}"


def escaped(x: str) -> str:
    """The results files' formula escaping (bulk.io.writers.escape_formula: a leading quote
    before the same ESCAPE_PREFIXES), applied by the database: a million rows then pay no
    Python call per cell. Tested against escape_formula for every prefix."""
    first = "ascii" if _pg() else "unicode"  # the first character's code: no string built
    codes = ", ".join(str(ord(c)) for c in ESCAPE_PREFIXES)
    return f"CASE WHEN {first}({x}) IN ({codes}) THEN '''' || {x} ELSE {x} END"


def _tree(name: str, q: _Sql, root: int) -> str:
    """An organisation's subtree as a recursive common table expression."""
    return (
        f"{name}(id) AS (SELECT id FROM directory_organisation WHERE id = {q.p(root)} "
        f"UNION SELECT d.id FROM directory_organisation d JOIN {name} t ON d.parent_id = t.id)"
    )
