"""Verbs on learner records: reset courses and curricula (records, lesson records and attempts
deleted with full snapshots, the lost statuses archived in RecordHistory), re-issue certificates
and set competency scores. Set-based (one query per table per batch) and journalled, so undo
restores exactly what was there."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from registrar.catalogue.models import Lesson
from registrar.core import lookups
from registrar.journal import writes

from .models import (
    Certificate,
    CompetencyScore,
    CourseRecord,
    CourseStatus,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    RecordHistory,
    Source,
)

Pair = tuple[int, int]
RESET = "reset"  # RecordHistory.reason of a record lost to a reset


def columns(model, *skip: str) -> list[str]:
    """Every concrete column of `model` but `skip`: what a full before snapshot reads."""
    return [f.attname for f in model._meta.concrete_fields if f.attname not in skip]


def _children(model, parent: str, ids, names: list[str]) -> list[dict]:
    """Rows of `model` whose `parent` column is one of `ids` (a one-to-many lookup, which the
    keyed lookups of core.lookups do not cover): one query per chunk of ids."""
    out: list[dict] = []
    for part in lookups.chunks(sorted(set(ids)), lookups.RAW_CHUNK):
        out.extend(model._base_manager.filter(**{f"{parent}__in": part}).values(*names))
    return out


@dataclass
class CourseProgress:
    """What (user, course) pairs hold: the course record, the lesson records of the course's
    lessons and their attempts, each row a full snapshot (every column, op included)."""

    records: dict[Pair, dict] = field(default_factory=dict)
    lessons: dict[Pair, list[dict]] = field(default_factory=lambda: defaultdict(list))
    attempts: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))

    def has(self, pair: Pair) -> bool:
        """Whether the pair has anything to reset."""
        return pair in self.records or bool(self.lessons.get(pair))

    def completed(self, pair: Pair) -> bool:
        rec = self.records.get(pair)
        return rec is not None and rec["status"] == CourseStatus.COMPLETED


def course_progress(pairs) -> CourseProgress:
    """The records of (user, course) pairs: the course records (one query per 5,000 pairs), the
    courses' lessons (disabled ones too: their records are the learner's as well), the lesson
    records of the pairs' users and the attempts of those records."""
    pairs = {p for p in pairs if None not in p}
    out = CourseProgress()
    if not pairs:
        return out
    out.records = lookups.exact_pairs(
        CourseRecord,
        "user_id",
        "course_id",
        pairs,
        *columns(CourseRecord, "id", "user_id", "course_id"),
    )
    lessons_of: dict[int, list[int]] = defaultdict(list)
    course_of: dict[int, int] = {}
    for part in lookups.chunks({c for _, c in pairs}):
        for course, lesson in Lesson._base_manager.filter(course_id__in=part).values_list(
            "course_id", "id"
        ):
            lessons_of[course].append(lesson)
            course_of[lesson] = course
    wanted = {(u, lesson) for u, c in pairs for lesson in lessons_of.get(c, ())}
    lesson_records = lookups.exact_pairs(
        LessonRecord,
        "user_id",
        "lesson_id",
        wanted,
        *columns(LessonRecord, "id", "user_id", "lesson_id"),
    )
    for (u, lesson), rec in lesson_records.items():
        out.lessons[(u, course_of[lesson])].append(rec)
    for att in _children(
        LessonAttempt,
        "record_id",
        (rec["id"] for rec in lesson_records.values()),
        columns(LessonAttempt),
    ):
        out.attempts[att["record_id"]].append(att)
    return out


def reset_courses(
    op, items: list[tuple[int, int, int | None]], known: CourseProgress | None = None
) -> dict[Pair, str]:
    """Put (user, course[, input row]) pairs back to not started: their course record, lesson
    records and attempts deleted (journalled with full snapshots: undo re-creates them, ids
    included), each lost status archived in RecordHistory (reason reset). A pair named twice is
    reset once. Credits, certificates, assignments and the curriculum and programme records are
    left: they record what was earned, and the learner's later completions roll up again.

    `known`: the progress the caller planned on (course_progress), read here otherwise.
    Returns {(user, course): "deleted" | "unchanged"} (unchanged: nothing to reset)."""
    rows: dict[Pair, int | None] = {}
    for u, c, *row in items:
        rows.setdefault((u, c), row[0] if row else None)
    progress = known if known is not None else course_progress(rows)
    outcome = {pair: "deleted" if progress.has(pair) else "unchanged" for pair in rows}
    gone = sorted(pair for pair, result in outcome.items() if result == "deleted")
    attempts, lessons, records, history = [], [], [], []
    now = timezone.now()
    for pair in gone:
        row = rows[pair]
        for rec in progress.lessons.get(pair, ()):
            attempts.extend((a["id"], a, row) for a in progress.attempts.get(rec["id"], ()))
            lessons.append((rec["id"], {**rec, "user_id": pair[0]}, row))
            history.append(_archived(pair, rec, now, lesson_id=rec["lesson_id"]))
        rec = progress.records.get(pair)
        if rec is not None:
            records.append((rec["id"], {**rec, "user_id": pair[0], "course_id": pair[1]}, row))
            history.append(_archived(pair, rec, now))
    # Children first: undo restores newest first, so records come back before their attempts.
    writes.delete(LessonAttempt, attempts, op)
    writes.delete(LessonRecord, lessons, op)
    writes.delete(CourseRecord, records, op)
    history = [h for h in history if h is not None]
    writes.insert(RecordHistory, history, op)
    return outcome


def _archived(pair: Pair, rec: dict, now, lesson_id: int | None = None) -> dict | None:
    """The RecordHistory row of a record lost to a reset; None for a record not started (it
    held no result worth showing in the learner's history)."""
    if rec["status"] == CourseStatus.NOT_STARTED:
        return None
    return {
        "user_id": pair[0],
        "course_id": pair[1],
        "lesson_id": lesson_id,
        "status": rec["status"],
        "status_date": rec["status_date"],
        "score": rec["score"],
        "reason": RESET,
        "archived_at": now,
    }


def curriculum_records(pairs) -> dict[Pair, dict]:
    """The curriculum records of (user, curriculum) pairs, full snapshots."""
    return lookups.exact_pairs(
        CurriculumRecord,
        "user_id",
        "curriculum_id",
        pairs,
        *columns(CurriculumRecord, "id", "user_id", "curriculum_id"),
    )


def reset_curricula(
    op, items: list[tuple[int, int, int | None]], known: dict[Pair, dict] | None = None
) -> dict[Pair, str]:
    """Put (user, curriculum[, input row]) pairs back to not started: their curriculum records
    deleted (journalled, full snapshots). The curriculum's courses are the caller's choice
    (reset_courses); programme records are left, as reset_courses leaves curricula.
    Returns {(user, curriculum): "deleted" | "unchanged"}."""
    rows: dict[Pair, int | None] = {}
    for u, c, *row in items:
        rows.setdefault((u, c), row[0] if row else None)
    found = known if known is not None else curriculum_records(rows)
    gone = [
        (found[p]["id"], {**found[p], "user_id": p[0], "curriculum_id": p[1]}, rows[p])
        for p in sorted(rows)
        if p in found
    ]
    writes.delete(CurriculumRecord, gone, op)
    return {p: "deleted" if p in found else "unchanged" for p in rows}


def certificates_of(pairs) -> dict[Pair, list[dict]]:
    """The certificates of (user, course) pairs (a user may hold more than one of a course: each
    is listed), with template, version and op. One query per chunk of users."""
    pairs = {p for p in pairs if None not in p}
    out: dict[Pair, list[dict]] = defaultdict(list)
    courses = sorted({c for _, c in pairs})
    names = ["id", "user_id", "course_id", "template_id", "template_version", "issued_at", "op"]
    for part in lookups.chunks(sorted({u for u, _ in pairs}), lookups.RAW_CHUNK):
        qs = Certificate._base_manager.filter(user_id__in=part, course_id__in=courses)
        for cert in qs.values(*names):
            pair = (cert["user_id"], cert["course_id"])
            if pair in pairs:
                out[pair].append(cert)
    return out


def reissue_certificates(
    op, new: list[dict], changed: list[tuple[int, dict, dict, int | None]], new_rows=None
) -> list[int]:
    """Issue certificates (`new`: user_id, course_id, template_id, template_version, issued_at)
    and re-issue existing ones with their course's current template (`changed`: (pk, values,
    before with op, input row)). Returns the new certificates' ids."""
    for cert in new:
        cert.setdefault("source", Source.ACTION)
    ids = writes.insert(Certificate, new, op, new_rows)
    writes.update(Certificate, changed, op)
    return ids


def competency_scores(pairs) -> dict[Pair, dict]:
    """The competency scores of (user, competency) pairs, with score, not_evaluated and op."""
    return lookups.exact_pairs(
        CompetencyScore, "user_id", "competency_id", pairs, "score", "not_evaluated"
    )


def score_competencies(
    op, new: list[dict], changed: list[tuple[int, dict, dict, int | None]], new_rows=None
) -> list[int]:
    """Create competency scores (`new`: user_id, competency_id, score, not_evaluated) and change
    existing ones (`changed`: (pk, values, before with op, input row))."""
    ids = writes.insert(CompetencyScore, new, op, new_rows)
    writes.update(CompetencyScore, changed, op)
    return ids
