"""The learning verbs (issue 11): each carries its consequence (roll-up, recompute), and no
import or action writes learner records or assignments but through them. One test per rule."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from registrar.core import lookups
from registrar.journal import service
from registrar.journal.models import Operation
from registrar.journal.undo import undo
from registrar.learning import assignments, progress
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeRecord,
    Source,
)

from . import factories as F

BULK = Path(__file__).resolve().parents[1] / "src" / "registrar" / "bulk"
LEARNER_MODELS = (
    "CourseAssignment",
    "CurriculumAssignment",
    "ProgrammeAssignment",
    "CourseRecord",
    "CurriculumRecord",
    "ProgrammeRecord",
    "LessonRecord",
    "LessonAttempt",
)
# Writes whose model is an expression, each known to name no learner model: (file, expression).
# A new one is looked at before it joins this list.
OTHER_MODELS = {
    ("actions/courses/_content.py", "MODELS[self.target]"),  # courses, curricula
    ("actions/courses/_content.py", "self.through()"),  # their audiences
    ("imports/catalogue.py", "model"),  # catalogue.MODELS: the catalogue's own tables
    ("imports/classroom_sessions.py", "link.model"),  # a session's trainers and organisations
}
WRITE = re.compile(r"\bwrites\.(insert|update|delete)\(\s*([^,]+?)\s*,", re.S)
ORM_WRITE = re.compile(
    rf"\b(?:{'|'.join(LEARNER_MODELS)})\.(?:objects|_base_manager)\.(?:[^\n]*\.)?"
    r"(?:create|bulk_create|bulk_update|update|update_or_create|get_or_create|delete|_raw_delete)\("
)


@pytest.fixture
def world(db):
    """Alice; course A (lessons A1, A2) and course B, both of curriculum J, the only curriculum
    of programme P."""
    w = type("World", (), {})()
    w.alice = F.user("alice")
    w.a, w.b = F.course("A"), F.course("B")
    w.a1, w.a2 = F.lesson("A1", w.a), F.lesson("A2", w.a)
    w.j = F.curriculum("J", courses=[w.a, w.b])
    w.p = F.programme("P", curricula=[w.j])
    return w


def operation() -> Operation:
    return service.start_operation("action", "test")


def finish(op: Operation) -> None:
    service.finish_operation(op, Operation.Status.DONE)


def statuses(model, user) -> dict[str, str]:
    field = model._meta.model_name.removesuffix("record")
    return dict(model.objects.filter(user=user).values_list(f"{field}__code", "status"))


def test_writing_a_completed_course_record_rolls_up_to_its_curriculum_and_programme(world):
    when = timezone.now() - timedelta(days=3)
    CourseRecord.objects.create(user=world.alice, course=world.a, status="C", status_date=when)
    b = CourseRecord.objects.create(user=world.alice, course=world.b, status="I")
    before = lookups.exact_pairs(
        CourseRecord, "user_id", "course_id", [(world.alice.pk, world.b.pk)], "status"
    )[(world.alice.pk, world.b.pk)]
    op = operation()
    progress.write_course_records(
        [], [], [(b.pk, {"status": "C", "status_date": when}, before, None)], op
    )
    assert statuses(CurriculumRecord, world.alice) == {"J": "C"}
    assert statuses(ProgrammeRecord, world.alice) == {"P": "C"}


def test_writing_a_course_record_not_completed_rolls_nothing_up(world):
    CourseRecord.objects.create(user=world.alice, course=world.a, status="C")
    op = operation()
    ids = progress.write_course_records(
        [{"user_id": world.alice.pk, "course_id": world.b.pk, "status": "I"}], [1], [], op
    )
    assert CourseRecord.objects.get(pk=ids[0]).status == "I"
    assert statuses(CurriculumRecord, world.alice) == {}


def test_writing_lesson_records_recomputes_the_course_record_and_rolls_it_up(world):
    CourseRecord.objects.create(user=world.alice, course=world.b, status="C")
    when = timezone.now() - timedelta(days=1)
    a1 = LessonRecord.objects.create(user=world.alice, lesson=world.a1, status="I", time_spent=5)
    before = lookups.exact_pairs(
        LessonRecord, "user_id", "lesson_id", [(world.alice.pk, world.a1.pk)], "status"
    )[(world.alice.pk, world.a1.pk)]
    new = {"user_id": world.alice.pk, "lesson_id": world.a2.pk, "status": "P", "time_spent": 7}
    new["status_date"] = when
    attempt = {"number": 1, "status": "P", "status_date": when, "time_spent": 7}
    op = operation()
    outcome = progress.write_lesson_records(
        op,
        [new],
        [2],
        [(a1.pk, {"status": "C", "status_date": when}, before, 1)],
        [(new, {**attempt, "source": Source.IMPORT}, 2)],
    )
    assert outcome == {(world.alice.pk, world.a.pk): "created"}
    course = CourseRecord.objects.get(user=world.alice, course=world.a)
    assert (course.status, course.completion_percent, course.time_spent) == ("C", 100, 12)
    assert LessonAttempt.objects.get().record_id == new["id"]
    assert statuses(CurriculumRecord, world.alice) == {"J": "C"}
    assert statuses(ProgrammeRecord, world.alice) == {"P": "C"}
    finish(op)
    undo(op.pk)  # journalled: undo takes every row back
    assert not CourseRecord.objects.filter(course=world.a).exists()
    assert (LessonRecord.objects.get().status, LessonAttempt.objects.count()) == ("I", 0)
    assert statuses(CurriculumRecord, world.alice) == {}


def test_writing_lesson_records_lowers_a_course_record_only_for_the_pairs_named_lower(world):
    CourseRecord.objects.create(user=world.alice, course=world.a, status="I")
    recs = [
        LessonRecord.objects.create(user=world.alice, lesson=lesson, status="I")
        for lesson in (world.a1, world.a2)
    ]
    keys = [(world.alice.pk, r.lesson_id) for r in recs]
    found = lookups.exact_pairs(LessonRecord, "user_id", "lesson_id", keys, "status")
    updates = [(r.pk, {"status": "N"}, found[k], None) for r, k in zip(recs, keys, strict=True)]
    pair = (world.alice.pk, world.a.pk)
    op = operation()
    assert progress.write_lesson_records(op, [], [], updates) == {pair: "unchanged"}
    assert CourseRecord.objects.get(course=world.a).status == "I"
    # Values none (its attempts reset, say): nothing written, the course still recomputed.
    again = [(r.pk, {}, found[k], None) for r, k in zip(recs, keys, strict=True)]
    assert progress.write_lesson_records(op, [], [], again, lower={pair}) == {pair: "updated"}
    assert CourseRecord.objects.get(course=world.a).status == "N"


def test_removing_an_assignment_keeps_the_learners_records(world):
    op = operation()
    now = timezone.now()
    new = [{"user_id": world.alice.pk, "course_id": world.a.pk, "assigned_at": now}]
    (pk,) = assignments.assign("course", new, [], op, [1])
    CourseRecord.objects.create(user=world.alice, course=world.a, status="C")
    full = CourseAssignment.objects.filter(pk=pk).values()[0]
    assignments.remove("course", [(pk, full, None)], op)
    assert not CourseAssignment.objects.exists()
    assert statuses(CourseRecord, world.alice) == {"A": "C"}


def test_no_import_or_action_writes_learner_records_directly():
    """Kinds and actions write assignments and records through registrar.learning's verbs, which
    carry the roll-up and the recompute; a direct write would skip them."""
    found, unknown = [], []
    for path in sorted(BULK.rglob("*.py")):
        text, name = path.read_text(), path.relative_to(BULK).as_posix()
        if re.search(
            r"from registrar\.journal\.writes import[^\n]*\b(insert|update|delete)\b", text
        ):
            found.append(f"{name}: imports a write function of registrar.journal.writes")
        for m in WRITE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            model = m.group(2)
            if model in LEARNER_MODELS:
                found.append(f"{name}:{line}: writes.{m.group(1)}({model}, ...)")
            elif not re.fullmatch(r"[A-Z]\w*", model) and (name, model) not in OTHER_MODELS:
                unknown.append(f"{name}:{line}: writes.{m.group(1)}({model}, ...)")
        found += [f"{name}: {m.group(0)}" for m in ORM_WRITE.finditer(text)]
    assert not found, "use registrar.learning's verbs instead:\n" + "\n".join(found)
    assert not unknown, (
        "a write whose model is an expression (name the model, or add it to OTHER_MODELS once it "
        "is known to be no learner model):\n" + "\n".join(unknown)
    )
