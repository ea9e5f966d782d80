"""Merge two users, and move one user's progress to another (SPEC §7, §8): the domain verbs.

Every row that points at the removed user Z (found from the models' relations, so that a table
added later is covered too) moves to the kept user A. Where both hold a row of the same thing (a
unique key with the user: a course record, an assignment, a list membership), one is kept: the
better record by the progress rules (learning.progress.better), the larger credit, the evaluated
and higher competency score, else A's; a course or lesson record that loses is kept in A's
RecordHistory. Set-based (one query per table) and journalled, so that undo restores both users
exactly."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.catalogue.models import Lesson
from registrar.directory.models import User
from registrar.journal import writes

from . import progress
from .models import (
    Certificate,
    CompetencyScore,
    CourseRecord,
    CreditAward,
    CurriculumRecord,
    LessonRecord,
    ProgrammeRecord,
    RecordHistory,
)

MERGE, TRANSFER = "merge", "transfer"  # RecordHistory.reason of a record that lost
RECORDS = (CourseRecord, LessonRecord, CurriculumRecord, ProgrammeRecord)
# What a transfer of progress moves (SPEC §8): the records and what was earned with them.
PROGRESS = (*RECORDS, CreditAward, Certificate, RecordHistory)
# The results' `object` column: readable names for the tables a merge meets most.
OBJECTS = {
    "learning.CourseRecord": "course_record",
    "learning.LessonRecord": "lesson_record",
    "learning.CurriculumRecord": "curriculum_record",
    "learning.ProgrammeRecord": "programme_record",
    "learning.CourseAssignment": "course_assignment",
    "learning.CurriculumAssignment": "curriculum_assignment",
    "learning.ProgrammeAssignment": "programme_assignment",
    "learning.CreditAward": "credit",
    "learning.Certificate": "certificate",
    "learning.ExamResultSession": "exam_result",
    "learning.CompetencyScore": "competency",
    "learning.Seat": "seat",
    "learning.ExternalTraining": "external_training",
    "learning.RecordHistory": "record_history",
    "directory.ListMember": "list_membership",
    "directory.RoleGrant": "role",
    "directory.UserAudience": "audience",
    "directory.User.manager_id": "manager_link",
    "directory.User.alternate_manager_id": "alternate_manager_link",
    "directory.Organisation.supervisor_id": "supervisor_link",
    "catalogue.ClassroomSession.trainer_id": "trainer_link",
    "catalogue.ClassroomSession.manager_id": "session_manager_link",
    "catalogue.SessionTrainer": "trainer_link",
}
NAMES = ("login", "code", "extid", "name", "label", "title", "course_code", "course_name")
SHOWN = ("status", "score", "amount", "option", "status_date", "awarded_on", "entered_at")
KEPT_A, KEPT_Z, MOVED, CLEARED, REMOVED = "A", "Z", "moved", "cleared", "removed"


@dataclass(frozen=True)
class Link:
    """A foreign key to User: its table, its column, the other columns of a unique key it is
    part of (() when the user alone is unique, None when there is none)."""

    model: type
    field: str
    key: tuple[str, ...] | None
    journalled: bool
    on_delete: object

    @property
    def object(self) -> str:
        label = self.model._meta.label
        return OBJECTS.get(f"{label}.{self.field}") or OBJECTS.get(label) or _snake(label)


def _snake(label: str) -> str:
    name = label.split(".")[-1]
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _journalled(model) -> bool:
    return any(f.name == "op" for f in model._meta.concrete_fields)


def _unique_key(model, fk) -> tuple[str, ...] | None:
    if fk.one_to_one or fk.unique:
        return ()
    sets = [c.fields for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
    sets += list(model._meta.unique_together)
    for names in sets:
        if fk.name in names:
            return tuple(model._meta.get_field(n).attname for n in names if n != fk.name)
    return None


def links() -> list[Link]:
    """Every foreign key that points at User, M2M link tables included."""
    out = []
    for rel in User._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            model, fk = rel.related_model, rel.field
            out.append(
                Link(model, fk.attname, _unique_key(model, fk), _journalled(model), rel.on_delete)
            )
    return sorted(out, key=lambda x: (x.model._meta.label, x.field))


def columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@dataclass
class Item:
    """One line of the plan: a row of Z's (or A's, or both), and what becomes of it."""

    link: Link
    label: str
    z: dict | None
    a: dict | None
    kept: str
    why: str = ""

    @property
    def result(self) -> str:
        return "deleted" if self.kept in (KEPT_A, REMOVED) else "updated"

    @property
    def object(self) -> str:
        return "user" if self.kept == REMOVED else self.link.object


@dataclass
class Plan:
    """What a merge (or a transfer) does, decided before anything is written."""

    remove: dict
    keep: dict
    reason: str
    items: list[Item] = field(default_factory=list)
    outside: list[tuple[Link, list[int]]] = field(default_factory=list)  # tables off the journal
    a_progress: bool = False
    z_progress: bool = False


def _rows(model, **where) -> list[dict]:
    return list(model._base_manager.filter(**where).order_by("pk").values(*columns(model)))


def plan(remove: dict, keep: dict, reason: str = MERGE) -> Plan:
    """The plan of moving Z's (`remove`) rows to A (`keep`): every table that points at users for
    a merge (and Z deleted), the progress tables only for a transfer. One query per table (two
    for a table with a unique key), whatever the number of rows."""
    z, a = remove["id"], keep["id"]
    out = Plan(remove, keep, reason)
    for link in links():
        if reason == TRANSFER and link.model not in PROGRESS:
            continue
        z_rows = _rows(link.model, **{link.field: z})
        if link.model is User:  # users whose manager is Z; Z's own row goes with Z
            z_rows = [r for r in z_rows if r["id"] != z]
        if not link.journalled:
            if z_rows:
                out.outside.append((link, [r[link.model._meta.pk.attname] for r in z_rows]))
            continue
        a_rows = {}
        if link.key is not None and z_rows:
            a_rows = {
                tuple(r[k] for k in link.key): r for r in _rows(link.model, **{link.field: a})
            }
        for row in z_rows:
            other = a_rows.get(tuple(row[k] for k in link.key)) if link.key is not None else None
            if link.model is User and row["id"] == a:
                out.items.append(
                    Item(link, "", row, None, CLEARED, _("A cannot manage themselves"))
                )
            elif other is None:
                out.items.append(Item(link, "", row, None, MOVED))
            else:
                kept, why = choose(link.model, other, row)
                out.items.append(Item(link, "", row, other, kept, why))
    if reason == MERGE:
        user = User._base_manager.filter(pk=z).values(*columns(User)).first()
        out.items.append(
            Item(Link(User, "id", None, True, None), remove["login"], user, None, REMOVED)
        )
    else:
        out.z_progress = has_progress(z, out.items)
        out.a_progress = has_progress(a)
    _label(out.items)
    return out


def has_progress(user_id: int, items: list[Item] | None = None) -> bool:
    """Whether a user holds progress: a record started, a credit or a certificate."""
    if items is not None:
        rows = [(i.link.model, i.z) for i in items]
        return any(
            m not in RECORDS or r["status"] != "N" for m, r in rows if m is not RecordHistory
        )
    for model in RECORDS:
        if model._base_manager.filter(user_id=user_id).exclude(status="N").exists():
            return True
    return any(m._base_manager.filter(user_id=user_id).exists() for m in (CreditAward, Certificate))


def status_word(status: str) -> str:
    words = {
        "C": _("completed"),
        "P": _("passed"),
        "F": _("failed"),
        "I": _("in progress"),
        "B": _("browsed"),
        "N": _("not started"),
    }
    return words.get(status or "N", status)


def choose(model, a: dict, z: dict) -> tuple[str, str]:
    """Which of A's and Z's rows of the same thing is kept, and why (SPEC §7: completed over
    passed over failed over in progress over not started; then the higher score; then the later
    date; A's when they are equal)."""
    if model in RECORDS:
        won = progress.better(a, z)
        lost = z if won is a else a
        kept = KEPT_A if won is a else KEPT_Z
        rank = progress.LESSON_RANK
        if rank.get(won["status"], 0) != rank.get(lost["status"], 0):
            why = _("%(won)s over %(lost)s") % {
                "won": status_word(won["status"]),
                "lost": status_word(lost["status"]),
            }
        elif won["score"] != lost["score"]:
            why = _("the same status, the higher score")
        elif won["status_date"] != lost["status_date"]:
            why = _("the same status and score, the later date")
        else:
            why = _("the same status, score and date: A's kept")
        return kept, why
    if model is CreditAward and z["amount"] > a["amount"]:
        return KEPT_Z, _("the larger credit")
    if model is CreditAward:
        return KEPT_A, _("the larger credit") if a["amount"] > z["amount"] else _("both: A's kept")
    if model is CompetencyScore:
        za = (not z["not_evaluated"] and z["score"] is not None, z["score"] or 0)
        aa = (not a["not_evaluated"] and a["score"] is not None, a["score"] or 0)
        if za > aa:
            return KEPT_Z, _("the higher score")
        return KEPT_A, _("the higher score") if aa > za else _("both: A's kept")
    return KEPT_A, _("both: A's kept")


def describe(row: dict | None, model=None) -> str:
    """A row's values as the results table shows them: status, score, date, amount..."""
    if not row:
        return ""
    out = []
    for name in SHOWN:
        v = row.get(name)
        if v in (None, ""):
            continue
        if name == "status" and model in RECORDS:
            v = status_word(v)
        elif hasattr(v, "date") and callable(v.date):
            v = timezone.localtime(v).date().isoformat() if timezone.is_aware(v) else v.date()
        elif hasattr(v, "isoformat"):
            v = v.isoformat()
        out.append(str(v))
    if row.get("not_evaluated"):
        out.append(_("not evaluated"))
    return " ".join(out)


def _label(items: list[Item]) -> None:
    """Name each item's row for a person (a course code, a list name, a role and its scope):
    one query per table and foreign key."""
    by_model: dict[type, list[Item]] = defaultdict(list)
    for i in items:
        if i.kept != REMOVED:
            by_model[i.link.model].append(i)
    for model, group in by_model.items():
        fields = {f.attname for f in model._meta.concrete_fields}
        own = [n for n in NAMES if n in fields]
        if own:  # the first of its own names that is set
            for i in group:
                i.label = next((str(i.z[n]) for n in own if i.z.get(n)), f"#{i.z['id']}")
            continue
        names: dict[str, dict] = {}
        fks = [
            f
            for f in model._meta.concrete_fields
            if f.many_to_one and f.related_model is not User and f.attname != "op"
        ]
        for f in fks:
            related = f.related_model
            fields = {g.attname for g in related._meta.concrete_fields}
            name = next((n for n in NAMES if n in fields), None)
            ids = {i.z[f.attname] for i in group if i.z.get(f.attname) is not None}
            if name and ids:
                rows = related._base_manager.filter(pk__in=ids).values_list("pk", name)
                names[f.attname] = dict(rows)
        for i in group:
            parts = [str(names[k].get(i.z[k], "")) for k in names if i.z.get(k) is not None]
            i.label = " @ ".join(p for p in parts if p) or f"#{i.z['id']}"


def _children(model, pks: list[int]) -> list[tuple[type, list[dict]]]:
    """Journalled rows that point at rows of `model` about to be deleted (a lesson record's
    attempts): deleted first, with their snapshots."""
    out = []
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        child, fk = rel.related_model, rel.field
        if not _journalled(child) or child is User:
            continue
        rows = []
        for part in _parts(pks):
            rows += _rows(child, **{f"{fk.attname}__in": part})
        if rows:
            out.append((child, rows))
    return out


def _parts(values: list, size: int = 900):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _archived(model, row: dict, user_id: int, reason: str, lesson_course: dict, now) -> dict | None:
    """The RecordHistory row of a course or lesson record that lost to a better one."""
    if model is CourseRecord:
        course, lesson = row["course_id"], None
    elif model is LessonRecord:
        course, lesson = lesson_course.get(row["lesson_id"]), row["lesson_id"]
    else:
        return None
    return {
        "user_id": user_id,
        "course_id": course,
        "lesson_id": lesson,
        "status": row["status"],
        "status_date": row["status_date"],
        "score": row["score"],
        "reason": reason,
        "archived_at": now,
    }


def apply(op, p: Plan) -> dict[str, dict[str, int]]:
    """Write the plan: the losing rows (and their children) deleted and archived in A's history,
    Z's rows moved to A, managers of A by Z cleared, tables outside the journal handled as a
    deletion of Z would (links cleared, rows cascaded), Z deleted (merge); the completions A has
    now rolled up to curricula and programmes. Returns the counts per object and result."""
    z, a = p.remove["id"], p.keep["id"]
    losers: dict[type, list[dict]] = defaultdict(list)
    moves: dict[tuple, list[Item]] = defaultdict(list)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for i in p.items:
        counts[i.object][i.result] += 1
        if i.kept == KEPT_A:
            losers[i.link.model].append(i.z)
        elif i.kept == KEPT_Z:
            losers[i.link.model].append(i.a)
            moves[(i.link.model, i.link.field, a)].append(i)
        elif i.kept == MOVED:
            moves[(i.link.model, i.link.field, a)].append(i)
        elif i.kept == CLEARED:
            moves[(i.link.model, i.link.field, None)].append(i)
    lesson_course = {}
    lessons = [r["lesson_id"] for r in losers.get(LessonRecord, ())]
    for part in _parts(sorted(set(lessons))):
        lesson_course.update(
            Lesson._base_manager.filter(pk__in=part).values_list("pk", "course_id")
        )
    # Children first, then the losing rows: undo restores newest first, so rows come back
    # before their children, and after Z's rows have gone back to Z (a unique key is free).
    for model, rows in losers.items():
        for child, kids in _children(model, [r["id"] for r in rows]):
            writes.delete(child, [(k["id"], k, None) for k in kids], op)
    now = timezone.now()
    history = []
    for model, rows in losers.items():
        writes.delete(model, [(r["id"], r, None) for r in rows], op)
        history += [_archived(model, r, a, p.reason, lesson_course, now) for r in rows]
    writes.insert(RecordHistory, [h for h in history if h], op)
    for (model, name, value), group in moves.items():
        new = {name: value}  # one dict for the group: one UPDATE a chunk
        writes.update(
            model, [(i.z["id"], new, {name: i.z[name], "op": i.z["op"]}, None) for i in group], op
        )
    if p.reason == MERGE:
        for link, pks in p.outside:
            qs = link.model._base_manager.filter(pk__in=pks)
            if link.on_delete is models.SET_NULL:
                qs.update(**{link.field: None})
            else:
                qs._raw_delete(qs.db)
        user = next(i.z for i in p.items if i.kept == REMOVED)
        writes.delete(User, [(z, user, None)], op)
    courses = {i.z["course_id"] for i in p.items if i.link.model is CourseRecord}
    if courses:
        progress.roll_up({a}, courses, op)
    return {k: dict(v) for k, v in counts.items()}


def summary(user_id: int) -> dict:
    """What the merge page shows of a user (SPEC §7): organisation, email, extid, and how many
    assignments, records, credits, certificates, exam results and lists they hold (one count
    query per table)."""
    from registrar.directory.models import ListMember

    from .models import (
        CourseAssignment,
        CurriculumAssignment,
        ExamResultSession,
        ProgrammeAssignment,
    )

    u = User._base_manager.select_related("organisation").get(pk=user_id)

    def count(*models) -> int:
        return sum(m._base_manager.filter(user_id=user_id).count() for m in models)

    return {
        "login": u.login,
        "name": f"{u.first_name} {u.last_name}".strip(),
        "organisation": u.organisation.label,
        "organisation_extid": u.organisation.extid,
        "email": u.email,
        "extid": u.extid or "",
        "disabled": u.disabled,
        "counts": {
            "assignments": count(CourseAssignment, CurriculumAssignment, ProgrammeAssignment),
            "records": count(*RECORDS),
            "credits": count(CreditAward),
            "certificates": count(Certificate),
            "exam_results": count(ExamResultSession),
            "lists": count(ListMember),
        },
    }
