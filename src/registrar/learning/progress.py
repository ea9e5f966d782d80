"""The progress rules, in one place: cascade down, roll up, and which of two records is better.

- Completing a programme completes its curricula and their courses; completing a curriculum
  completes its courses (cascade down). Never the other way round, except that a curriculum
  whose courses are all completed is completed, and likewise a programme (roll up).
- Of two records of the same course or lesson, the better is the one with the higher status
  (completed > passed > failed > in progress > browsed > not started), then the higher score,
  then the later date.

Every function is set-based: it takes many users and contents at once and writes through the journal.
"""

from collections import defaultdict
from datetime import datetime

import numpy as np
from django.db import connection
from django.utils import timezone

from registrar.catalogue.models import CurriculumCourse, Lesson, ProgrammeCurriculum
from registrar.core import lookups
from registrar.journal import writes

from .models import (
    CourseRecord,
    CourseStatus,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeRecord,
    Source,
)

LESSON_RANK = {"N": 0, "B": 1, "I": 2, "F": 3, "P": 4, "C": 5}
COURSE_RANK = {"N": 0, "I": 2, "C": 5}


def better(a: dict, b: dict) -> dict:
    """The better of two records (dicts with status, score, status_date)."""

    def key(r):
        rank = LESSON_RANK.get(r.get("status") or "N", 0)
        score = r.get("score")
        return (
            rank,
            -1 if score is None else float(score),
            r.get("status_date") or datetime.min.replace(tzinfo=timezone.get_current_timezone()),
        )

    return a if key(a) >= key(b) else b


def courses_of_curricula(curriculum_ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for part in lookups.chunks(set(curriculum_ids)):
        for cur, course in CurriculumCourse.objects.filter(curriculum_id__in=part).values_list(
            "curriculum_id", "course_id"
        ):
            out[cur].append(course)
    return out


def curricula_of_programmes(programme_ids) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for part in lookups.chunks(set(programme_ids)):
        for prog, cur in ProgrammeCurriculum.objects.filter(programme_id__in=part).values_list(
            "programme_id", "curriculum_id"
        ):
            out[prog].append(cur)
    return out


def cascade(
    kind: str, items: list[tuple[int, int, datetime]]
) -> dict[str, list[tuple[int, int, datetime]]]:
    """(user, content, date) completions of a programme, curriculum or course, expanded downwards.

    Returns {"programme": [...], "curriculum": [...], "course": [...]}: everything to complete.
    """
    out = {"programme": [], "curriculum": [], "course": []}
    out[kind] = list(items)
    if kind == "programme":
        curricula = curricula_of_programmes({c for _, c, _ in items})
        out["curriculum"] = [(u, cur, when) for u, p, when in items for cur in curricula.get(p, [])]
    if kind in ("programme", "curriculum"):
        courses = courses_of_curricula({c for _, c, _ in out["curriculum"]})
        out["course"] = [
            (u, course, when)
            for u, cur, when in out["curriculum"]
            for course in courses.get(cur, [])
        ]
    return out


MODELS = {
    "course": (CourseRecord, "course_id"),
    "curriculum": (CurriculumRecord, "curriculum_id"),
    "programme": (ProgrammeRecord, "programme_id"),
}


def complete(
    kind: str, items: list[tuple], op, source: str = Source.IMPORT, known: dict | None = None
) -> dict[tuple[int, int], str]:
    """Mark (user, content, date[, input row]) completed; an existing completion keeps its own
    date. `known`: the records the caller planned on, by (user, content), with their `op` (the
    guard of journal.writes); read here otherwise. Courses: use complete_courses, which rolls up.

    Returns {(user, content): "created" | "updated" | "unchanged"}.
    """
    model, field = MODELS[kind]
    wanted: dict[tuple[int, int], datetime] = {}
    rows: dict[tuple[int, int], int | None] = {}
    for u, c, when, *row in items:
        key = (u, c)
        wanted[key] = min(when, wanted.get(key, when))
        rows.setdefault(key, row[0] if row else None)
    # The exact pairs wanted, not every user × content: a batch of thousands of users and
    # hundreds of courses would otherwise read every record they have.
    existing = (
        known
        if known is not None
        else lookups.exact_pairs(
            model, "user_id", field, wanted.keys(), "status", "status_date", "op"
        )
    )
    inserts, updates, outcome = [], [], {}
    done = {"status": CourseStatus.COMPLETED, "completion_percent": 100, "source": source}
    # In (user, content) order: the unique index then grows at its end instead of splitting pages.
    for key in sorted(wanted):
        when, rec = wanted[key], existing.get(key)
        if rec is None:
            inserts.append({"user_id": key[0], field: key[1], "status_date": when, **done})
            outcome[key] = "created"
        elif rec["status"] != CourseStatus.COMPLETED:
            updates.append((rec["id"], {"status_date": when, **done}, rec, rows[key]))
            outcome[key] = "updated"
        else:
            outcome[key] = "unchanged"
    new_rows = [rows[(x["user_id"], x[field])] for x in inserts]
    writes.insert(model, inserts, op, new_rows if any(n is not None for n in new_rows) else None)
    writes.update(model, updates, op)
    return outcome


def complete_courses(
    items: list[tuple],
    op,
    source: str = Source.IMPORT,
    known: dict | None = None,
    also: tuple[set, set] = (set(), set()),
) -> dict[tuple[int, int], str]:
    """Complete courses for users (complete("course", ...)) and roll the completions up to the
    curricula and programmes they finish: the verb every completion goes through, so that no
    caller can forget the roll-up. `also`: (users, courses) whose earlier completions the
    roll-up looks at too (a journey completed now over courses completed before)."""
    outcome = complete("course", items, op, source, known)
    done = [key for key, result in outcome.items() if result != "unchanged"]
    roll_up({u for u, _ in done} | set(also[0]), {c for _, c in done} | set(also[1]), op)
    return outcome


def complete_new_courses(
    users: list[int], courses: list[int], dates: list[datetime], op, source: str = Source.IMPORT
) -> None:
    """First completions of (user, course) pairs, each once, that have no course record (the
    caller checked: a record written meanwhile fails the unique key and nothing is written),
    inserted column by column and rolled up like every completion (complete_courses)."""
    if not users:
        return
    # In (user, course) order: the unique index then grows at its end instead of splitting pages.
    order = np.lexsort((np.asarray(courses), np.asarray(users)))
    writes.insert_columns(
        CourseRecord,
        {
            "user_id": [users[i] for i in order],
            "course_id": [courses[i] for i in order],
            "status_date": [dates[i] for i in order],
        },
        len(users),
        op,
        same={"status": CourseStatus.COMPLETED, "completion_percent": 100, "source": source},
    )
    roll_up(set(users), set(courses), op)


def _finished(records, link, child: str, parent: str, staged: str, members) -> list[tuple]:
    """(user, parent, date) for each parent of `members` ({parent: its children}) whose every
    child the user has completed, dated by the latest of those completions (a completion
    without a date: now). `records`: the children's records; `link`: the parent-child table,
    whose `child` and `parent` columns name them; `staged`: the table of the users (column u).
    One aggregate query."""
    if not members:
        return []
    rt, lt = records._meta.db_table, link._meta.db_table
    where, params = lookups.in_sql(link, parent, list(members))
    # SQLite, which has no statistics, would read every record of the members' children, for
    # every user, and probe the staged users: the users first (CROSS JOIN keeps the order),
    # their records, then each record's links by child (the `+` keeps the parent filter off
    # the index), which costs what the batch's own users hold, whatever the table's size.
    join = "CROSS JOIN" if connection.vendor == "sqlite" else "JOIN"
    with connection.cursor() as c:
        c.execute(
            f'SELECT r."user_id", "{lt}"."{parent}", COUNT(*), MAX(r."status_date"), '
            f'SUM(CASE WHEN r."status_date" IS NULL THEN 1 ELSE 0 END) '
            f'FROM "{staged}" s {join} "{rt}" r ON r."user_id" = s."u" '
            f'{join} "{lt}" ON "{lt}"."{child}" = r."{child}" '
            f'WHERE r."status" = %s AND +{where} GROUP BY r."user_id", "{lt}"."{parent}"',
            [CourseStatus.COMPLETED, *params],
        )
        found = c.fetchall()
    now = timezone.now()
    return [
        (u, p, now if undated else lookups.sqlite_datetime(latest))
        for u, p, n, latest, undated in found
        if n == len(set(members[p]))
    ]


def roll_up(user_ids, course_ids, op) -> None:
    """Complete the curricula whose courses are all completed, then the programmes likewise.

    Looks only at the curricula containing `course_ids` and the programmes containing those.
    """
    user_ids = set(user_ids)
    if not user_ids or not course_ids:
        return
    curricula = set()
    for part in lookups.chunks(set(course_ids)):
        curricula.update(
            CurriculumCourse.objects.filter(course_id__in=part).values_list(
                "curriculum_id", flat=True
            )
        )
    members = courses_of_curricula(curricula)
    if not members:
        return
    programmes = set()
    for part in lookups.chunks(curricula):
        programmes.update(
            ProgrammeCurriculum.objects.filter(curriculum_id__in=part).values_list(
                "programme_id", flat=True
            )
        )
    pmembers = curricula_of_programmes(programmes)
    # The users staged once for both levels, in order (their records are read in that order).
    with lookups.staged("roll_up_users", {"u": "bigint"}, [(u,) for u in sorted(user_ids)]) as st:
        done = _finished(CourseRecord, CurriculumCourse, "course_id", "curriculum_id", st, members)
        complete("curriculum", done, op, Source.IMPORT)
        done = _finished(
            CurriculumRecord, ProgrammeCurriculum, "curriculum_id", "programme_id", st, pmembers
        )
    complete("programme", done, op, Source.IMPORT)


def recompute_courses(
    pairs, op, source: str = Source.IMPORT, lower: bool = False
) -> dict[tuple[int, int], str]:
    """Course records of (user, course) pairs recomputed from the user's lesson records.

    A course is completed when every lesson of it (its lessons that are not disabled) is
    completed or passed, in progress when any of them is started (any status but not started),
    else not started; its status date is the latest of its lesson records' dates, its completion
    percent the share of lessons completed or passed, its time spent the sum of theirs. A course
    without enabled lessons is left as it is; no record is created for a course not started.
    Unless `lower`, a course record is never taken back (a completed course stays completed with
    its own date, as a completion the learner achieved otherwise must not be lost), and a
    completed course keeps its date. Completed courses roll up to curricula and programmes.

    Returns {(user, course): "created" | "updated" | "unchanged"}.
    """
    from registrar.catalogue.models import Lesson

    from .models import LessonRecord

    pairs = {p for p in pairs if None not in p}
    if not pairs:
        return {}
    lessons_of: dict[int, list[int]] = defaultdict(list)
    for part in lookups.chunks({c for _, c in pairs}):
        for course, lesson in Lesson.objects.filter(course_id__in=part, disabled=False).values_list(
            "course_id", "id"
        ):
            lessons_of[course].append(lesson)
    lesson_records = lookups.exact_pairs(
        LessonRecord,
        "user_id",
        "lesson_id",
        {(u, lesson) for u, c in pairs for lesson in lessons_of.get(c, ())},
        "status",
        "status_date",
        "time_spent",
    )
    fields = ("status", "status_date", "completion_percent", "time_spent", "source", "op")
    courses = lookups.exact_pairs(CourseRecord, "user_id", "course_id", pairs, *fields)
    inserts, updates, outcome, completed = [], [], {}, set()
    for pair in sorted(pairs):
        u, c = pair
        outcome[pair] = "unchanged"
        lessons = lessons_of.get(c)
        if not lessons:
            continue
        recs = [r for r in (lesson_records.get((u, lesson)) for lesson in lessons) if r]
        done = sum(1 for r in recs if r["status"] in ("C", "P"))
        if done == len(lessons):
            status = CourseStatus.COMPLETED
        elif any(r["status"] != "N" for r in recs):
            status = CourseStatus.IN_PROGRESS
        else:
            status = CourseStatus.NOT_STARTED
        dates = [r["status_date"] for r in recs if r["status_date"]]
        wanted = {
            "status": status,
            "status_date": max(dates) if dates else None,
            "completion_percent": round(100 * done / len(lessons)),
            "time_spent": sum(r["time_spent"] for r in recs),
        }
        current = courses.get(pair)
        if current is None:
            if status == CourseStatus.NOT_STARTED:
                continue
            inserts.append({"user_id": u, "course_id": c, **wanted, "source": source})
            outcome[pair] = "created"
        else:
            had = current["status"]
            if had == CourseStatus.COMPLETED and status == CourseStatus.COMPLETED:
                continue  # a completion keeps its date
            if not lower and COURSE_RANK.get(had, 0) > COURSE_RANK[status]:
                continue
            if had != status:
                wanted["source"] = source
            new = {k: v for k, v in wanted.items() if current.get(k) != v}
            if not new:
                continue
            updates.append((current["id"], new, current, None))
            outcome[pair] = "updated"
        if status == CourseStatus.COMPLETED:
            completed.add(pair)
    writes.insert(CourseRecord, inserts, op)
    writes.update(CourseRecord, updates, op)
    if completed:
        roll_up({u for u, _ in completed}, {c for _, c in completed}, op)
    return outcome


def write_course_records(
    new: list[dict], new_rows, updates: list[tuple[int, dict, dict, int | None]], op
) -> list[int]:
    """Create course records (`new`: rows with user_id, course_id and values) and change existing
    ones (`updates`: (pk, values, before with op, user_id and course_id, input row)), then roll
    the records now completed up to their curricula and programmes: the verb every course record
    written directly goes through, so that no caller can forget the roll-up. Returns the new
    records' ids."""
    ids = writes.insert(CourseRecord, new, op, new_rows)
    writes.update(CourseRecord, updates, op)
    done = {
        (x["user_id"], x["course_id"]) for x in new if x.get("status") == CourseStatus.COMPLETED
    }
    done.update(
        (before["user_id"], before["course_id"])
        for _, values, before, _ in updates
        if values.get("status", before.get("status")) == CourseStatus.COMPLETED
    )
    roll_up({u for u, _ in done}, {c for _, c in done}, op)
    return ids


def write_new_course_records(
    given: dict[str, list], n: int, op, same: dict | None = None
) -> list[int]:
    """Create n course records given column by column (user_id, course_id, status and the
    values; `same`: one value for every row), none of which exists yet (a record written
    meanwhile fails the unique key and nothing is written), and roll the completed ones up as
    write_course_records does. Returns their ids."""
    # In (user, course) order: the unique index then grows at its end instead of splitting pages.
    order = np.lexsort((np.asarray(given["course_id"]), np.asarray(given["user_id"])))
    given = {k: [v[i] for i in order] for k, v in given.items()}
    ids = writes.insert_columns(CourseRecord, given, n, op, same=same)
    done = [
        (u, c)
        for u, c, status in zip(given["user_id"], given["course_id"], given["status"], strict=True)
        if status == CourseStatus.COMPLETED
    ]
    roll_up({u for u, _ in done}, {c for _, c in done}, op)
    return ids


def write_lesson_records(
    op,
    new: list[dict],
    new_rows,
    updates: list[tuple[int, dict, dict, int | None]],
    attempts: list[tuple[dict, dict, int | None]] = (),
    gone: list[tuple[int, dict, int | None]] = (),
    *,
    courses: dict[int, int] | None = None,
    source: str = Source.IMPORT,
    lower=frozenset(),
) -> dict[tuple[int, int], str]:
    """Write lesson records and their attempts, then recompute the course records of the (user,
    course) pairs they touch (recompute_courses, which rolls up): the verb every lesson record
    goes through, so that no course record is left behind its lessons.

    `new`: records to create (user_id, lesson_id and values; each is given its id). `updates`:
    (pk, values, before with op, user_id and lesson_id, input row); one without values writes
    nothing but its course is still recomputed (its attempts changed). `attempts`: (record, values,
    input row) to create, the record a row of `new` or any dict with its id. `gone`: attempts to
    delete ((pk, full snapshot, input row)). `courses`: the course of each lesson, read here
    otherwise. `lower`: the (user, course) pairs whose course record may be taken back
    (recompute_courses' `lower`), recomputed after the others.

    Returns recompute_courses' outcome for every pair."""
    ids = writes.insert(LessonRecord, new, op, new_rows)
    for rec, pk in zip(new, ids, strict=True):
        rec["id"] = pk
    writes.delete(LessonAttempt, list(gone), op)
    writes.update(LessonRecord, [x for x in updates if x[1]], op)
    writes.insert(
        LessonAttempt,
        [{"record_id": rec["id"], **values} for rec, values, _ in attempts],
        op,
        [row for _, _, row in attempts],
    )
    touched = [(x["user_id"], x["lesson_id"]) for x in new]
    touched += [(before["user_id"], before["lesson_id"]) for _, _, before, _ in updates]
    if courses is None:
        courses = {}
        for part in lookups.chunks({lesson for _, lesson in touched}):
            courses.update(Lesson._base_manager.filter(id__in=part).values_list("id", "course_id"))
    pairs = {(u, courses[lesson]) for u, lesson in touched}
    lower = set(lower)
    outcome = recompute_courses(pairs - lower, op, source)
    outcome.update(recompute_courses(pairs & lower, op, source, lower=True))
    return outcome
