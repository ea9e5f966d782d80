"""The user actions on learner records (SPEC §5): reset-courses, remove-course-assignments,
reset-certificates, reset-curricula, remove-curriculum-assignments, set-competency-scores. Each
action passes the contract of every action (verify-only, a second run, undo, scope, parameters),
then one test per rule of its own."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F as Col
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registrar.catalogue.models import CertificateTemplate, Competency, CreditType
from registrar.core.errors import FileError
from registrar.journal.undo import undo
from registrar.learning.models import (
    Certificate,
    CompetencyScore,
    CourseAssignment,
    CourseRecord,
    CreditAward,
    CurriculumAssignment,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeRecord,
    RecordHistory,
)

from . import factories as F

TABLES = (
    CourseRecord,
    LessonRecord,
    LessonAttempt,
    CurriculumRecord,
    ProgrammeRecord,
    CourseAssignment,
    CurriculumAssignment,
    Certificate,
    CreditAward,
    CompetencyScore,
    RecordHistory,
)


def state() -> dict:
    """Every learner-data row the actions may touch, by table (without `op`, which undo sets)."""
    return {
        m._meta.label: sorted(
            ({k: v for k, v in row.items() if k != "op"} for row in m.objects.values()),
            key=lambda r: r["id"],
        )
        for m in TABLES
    }


def of(user: str, model, **kw):
    return model.objects.filter(user__login=user, **kw)


@pytest.fixture
def world(db):
    """Alice (SUB) and Carol (OTHER) completed C1 (two lessons, attempts) and curriculum CUR;
    Bob (SUB) is in progress on C2. C1 and C3 issue certificates (template version 2)."""
    root = F.org("ROOT")
    sub = F.org("SUB", parent=root)
    other = F.org("OTHER", parent=root)
    users = {
        "alice": F.user("alice", sub),
        "bob": F.user("bob", sub),
        "carol": F.user("carol", other),
    }
    tpl = CertificateTemplate.objects.create(name="Completion", version=2)
    c1 = F.course("C1", certificate_template=tpl)
    c2 = F.course("C2")
    c3 = F.course("C3", certificate_template=tpl)
    lessons = [F.lesson("C1-L1", c1), F.lesson("C1-L2", c1)]
    cur = F.curriculum("CUR", [c1, c2])
    cur2 = F.curriculum("CUR2", [c2])
    prg = F.programme("PRG", [cur])
    ctype = CreditType.objects.create(name="CPD")
    Competency.objects.create(code="COMP", name="Safety awareness")
    when = timezone.now() - timedelta(days=3)
    for login in ("alice", "carol"):
        u = users[login]
        CourseRecord.objects.create(
            user=u, course=c1, status="C", status_date=when, score=Decimal("90"), attempts=2
        )
        for n, lesson in enumerate(lessons):
            rec = LessonRecord.objects.create(
                user=u, lesson=lesson, status="CP"[n], status_date=when, score=80 + n
            )
            for k in range(1, 3):
                LessonAttempt.objects.create(
                    record=rec, number=k, status="FC"[k - 1], status_date=when, score=50 * k
                )
        CurriculumRecord.objects.create(user=u, curriculum=cur, status="C", status_date=when)
        ProgrammeRecord.objects.create(user=u, programme=prg, status="C", status_date=when)
        CreditAward.objects.create(
            user=u, course=c1, credit_type=ctype, amount=Decimal("1.5"), awarded_on=when.date()
        )
        for c in (c1, c2):
            CourseAssignment.objects.create(user=u, course=c, option="mandatory")
        for c in (cur, cur2):
            CurriculumAssignment.objects.create(user=u, curriculum=c)
    Certificate.objects.create(
        user=users["alice"], course=c1, template=tpl, template_version=1, issued_at=when
    )
    CourseRecord.objects.create(user=users["bob"], course=c2, status="I", status_date=when)
    CourseAssignment.objects.create(user=users["bob"], course=c1)
    return {**users, "tpl": tpl, "c1": c1, "c2": c2, "c3": c3, "cur": cur, "cur2": cur2}


def by_key(rep) -> dict:
    return {
        (r["user_login"], r.get("course_code") or r.get("curriculum_code", "")): r for r in rep.rows
    }


# The contract of every action -------------------------------------------------------------------

CASES = {
    "users.reset-courses": {"courses": ["C1", "C2"]},
    "users.remove-course-assignments": {"courses": ["C1", "C2"]},
    "users.reset-certificates": {"courses": ["C1", "C2"]},
    "users.reset-curricula": {"curricula": ["CUR"], "include_courses": True},
    "users.remove-curriculum-assignments": {"curricula": ["CUR"], "include_courses": True},
    "users.set-competency-scores": {"competency": "COMP", "score": 75},
}
MAIN_KEY = {
    "users.reset-courses": ("courses", ["NOPE"]),
    "users.remove-course-assignments": ("courses", ["NOPE"]),
    "users.reset-certificates": ("courses", "not a list"),
    "users.reset-curricula": ("curricula", ["NOPE"]),
    "users.remove-curriculum-assignments": ("include_courses", "maybe"),
    "users.set-competency-scores": ("competency", "NOPE"),
}
USERS = ["alice", "bob", "carol"]
actions = pytest.mark.parametrize("name", list(CASES))


def changed(rep) -> int:
    return sum(rep.counts[k] for k in ("created", "updated", "deleted"))


@actions
def test_verify_only_gives_the_runs_rows_and_writes_nothing(act, world, name):
    before = state()
    verified = act(name, params=CASES[name], ids=USERS, verify_only=True)
    assert state() == before
    done = act(name, params=CASES[name], ids=USERS)
    assert changed(done) > 0
    assert verified.rows == done.rows
    assert {k: v for k, v in verified.counts.items()} == done.counts


@actions
def test_a_second_run_changes_nothing(act, world, name):
    act(name, params=CASES[name], ids=USERS)
    after = state()
    again = act(name, params=CASES[name], ids=USERS)
    assert changed(again) == 0
    assert {r["result"] for r in again.rows} <= {"skipped", "unchanged"}
    assert state() == after


@actions
def test_undo_restores_every_row(act, world, name):
    before = state()
    rep = act(name, params=CASES[name], ids=USERS)
    assert state() != before
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


@actions
def test_a_user_outside_the_scope_is_rejected(act, world, name):
    carol_before = {
        t: [r for r in rows if r.get("user_id") == world["carol"].pk] for t, rows in state().items()
    }
    rep = act(name, params=CASES[name], ids=["alice", "carol"], scope="SUB")
    carol = [r for r in rep.rows if r["user_login"] == "carol"]
    assert carol and all(r["result"] == "rejected" and r["codes"] == "out_of_scope" for r in carol)
    after = {
        t: [r for r in rows if r.get("user_id") == world["carol"].pk] for t, rows in state().items()
    }
    assert after == carol_before


@actions
def test_an_invalid_parameter_is_refused_naming_the_key(act, world, name):
    with pytest.raises(FileError) as e:
        act(name, params={**CASES[name], "bogus": 1}, ids=USERS)
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "bogus"
    key, bad = MAIN_KEY[name]
    with pytest.raises(FileError) as e:
        act(name, params={**CASES[name], key: bad}, ids=USERS)
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == key


@actions
def test_the_required_key_is_required(act, world, name):
    required = "competency" if name.endswith("competency-scores") else MAIN_KEY[name][0]
    if required == "include_courses":
        required = "curricula"
    with pytest.raises(FileError) as e:
        act(name, params={k: v for k, v in CASES[name].items() if k != required}, ids=USERS)
    assert e.value.params["key"] == required


@actions
def test_results_do_not_depend_on_where_batches_end(act, world, name, settings):
    """A course in two selected curricula of one user is the first row's, in one batch or two."""
    params = {**CASES[name]}
    if "curricula" in params:
        params["curricula"] = ["CUR", "CUR2"]
    whole = act(name, params=params, ids=USERS, verify_only=True)
    settings.REGISTRAR_BATCH_SIZE = 1
    assert act(name, params=params, ids=USERS).rows == whole.rows


@actions
def test_queries_do_not_grow_with_the_selection(act, world, name):
    """Set-based: the same queries for 3 users as for 23."""
    for i in range(20):
        u = F.user(f"extra{i}", world["alice"].organisation)
        CourseRecord.objects.create(user=u, course=world["c1"], status="C")
        CourseAssignment.objects.create(user=u, course=world["c1"])
        CurriculumAssignment.objects.create(user=u, curriculum=world["cur"])
        CurriculumRecord.objects.create(user=u, curriculum=world["cur"], status="C")

    def count(ids):
        with CaptureQueriesContext(connection) as q:
            act(name, params=CASES[name], ids=ids, verify_only=True)
        return len(q.captured_queries)

    assert count(USERS + [f"extra{i}" for i in range(20)]) == count(USERS)


# users.reset-courses -----------------------------------------------------------------------------


def test_reset_courses_deletes_the_record_its_lessons_and_attempts(act, world):
    rep = act("users.reset-courses", params={"courses": ["C1"]}, ids=["alice"])
    assert rep.rows[0]["result"] == "deleted"
    assert not of("alice", CourseRecord, course=world["c1"]).exists()
    assert not of("alice", LessonRecord).exists()
    assert not LessonAttempt.objects.filter(record__user__login="alice").exists()
    # Carol's progress on the same course is hers.
    assert of("carol", LessonRecord).count() == 2


def test_reset_courses_keeps_the_lost_statuses_in_the_learners_history(act, world):
    act("users.reset-courses", params={"courses": ["C1"]}, ids=["alice"])
    history = of("alice", RecordHistory).order_by(Col("lesson_id").asc(nulls_first=True))
    assert [(h.lesson_id is None, h.status, h.reason) for h in history] == [
        (True, "C", "reset"),
        (False, "C", "reset"),
        (False, "P", "reset"),
    ]
    assert history[0].score == Decimal("90")


def test_reset_courses_keeps_credits_certificates_assignments_and_curricula(act, world):
    act("users.reset-courses", params={"courses": ["C1"]}, ids=["alice"])
    assert of("alice", CreditAward).count() == 1
    assert of("alice", Certificate).count() == 1
    assert of("alice", CourseAssignment, course=world["c1"]).exists()
    assert of("alice", CurriculumRecord).get().status == "C"
    assert of("alice", ProgrammeRecord).get().status == "C"


def test_reset_courses_without_progress_is_skipped_no_record(act, world):
    rows = by_key(act("users.reset-courses", params={"courses": ["C1", "C2"]}, ids=["bob"]))
    assert rows[("bob", "C1")]["result"] == "skipped"
    assert rows[("bob", "C1")]["codes"] == "no_record"
    assert rows[("bob", "C2")]["result"] == "deleted"  # in progress: reset


def test_reset_courses_resets_a_disabled_user(act, world):
    world["alice"].disabled = True
    world["alice"].save()
    rep = act(
        "users.reset-courses", params={"courses": ["C1"]}, ids=["alice"], include_disabled=True
    )
    assert rep.rows[0]["result"] == "deleted"


def test_reset_courses_undo_brings_attempts_back_with_their_ids(act, world):
    ids = set(
        LessonAttempt.objects.filter(record__user__login="alice").values_list("id", flat=True)
    )
    rep = act("users.reset-courses", params={"courses": ["C1"]}, ids=["alice"])
    undo(rep.operation.pk)
    assert (
        set(LessonAttempt.objects.filter(record__user__login="alice").values_list("id", flat=True))
        == ids
    )


# users.remove-course-assignments ---------------------------------------------------------------


def test_remove_course_assignments_keeps_a_completion(act, world):
    rows = by_key(
        act("users.remove-course-assignments", params={"courses": ["C1", "C2"]}, ids=["alice"])
    )
    assert rows[("alice", "C1")]["result"] == "deleted"
    assert rows[("alice", "C1")]["codes"] == "completion_kept"
    assert rows[("alice", "C2")]["codes"] == ""  # no completion to keep
    assert not of("alice", CourseAssignment).exists()
    assert of("alice", CourseRecord, course=world["c1"]).get().status == "C"
    assert of("alice", CurriculumAssignment).count() == 2  # curricula are not touched


def test_remove_course_assignments_not_assigned_is_skipped_not_enrolled(act, world):
    rows = by_key(
        act("users.remove-course-assignments", params={"courses": ["C1", "C2"]}, ids=["bob"])
    )
    assert rows[("bob", "C1")]["result"] == "deleted"
    assert (rows[("bob", "C2")]["result"], rows[("bob", "C2")]["codes"]) == (
        "skipped",
        "not_enrolled",
    )
    assert of("bob", CourseRecord).count() == 1  # bob's progress on C2 stays


# users.reset-certificates ----------------------------------------------------------------------


def test_reset_certificates_reissues_with_the_current_template(act, world):
    start = timezone.now()
    rows = by_key(act("users.reset-certificates", params={"courses": ["C1"]}, ids=["alice"]))
    assert rows[("alice", "C1")]["result"] == "updated"
    cert = of("alice", Certificate).get()
    assert (cert.template_id, cert.template_version) == (world["tpl"].pk, 2)
    assert cert.issued_at >= start


def test_reset_certificates_issues_one_for_a_completion_without(act, world):
    rows = by_key(act("users.reset-certificates", params={"courses": ["C1"]}, ids=["carol"]))
    assert rows[("carol", "C1")]["result"] == "created"
    cert = of("carol", Certificate).get()
    assert (cert.template_version, cert.source) == (2, "action")


def test_reset_certificates_at_the_current_version_is_unchanged_until_the_template_changes(
    act, world
):
    act("users.reset-certificates", params={"courses": ["C1"]}, ids=["alice"])
    again = act("users.reset-certificates", params={"courses": ["C1"]}, ids=["alice"])
    assert again.rows[0]["result"] == "unchanged"
    CertificateTemplate.objects.filter(pk=world["tpl"].pk).update(version=3)
    third = act("users.reset-certificates", params={"courses": ["C1"]}, ids=["alice"])
    assert third.rows[0]["result"] == "updated"
    assert of("alice", Certificate).get().template_version == 3


def test_reset_certificates_without_template_or_completion_is_skipped(act, world):
    rows = by_key(
        act("users.reset-certificates", params={"courses": ["C1", "C2", "C3"]}, ids=["bob"])
    )
    assert rows[("bob", "C1")]["codes"] == "not_completed"
    assert rows[("bob", "C2")]["codes"] == "certificate_not_issued"
    assert rows[("bob", "C3")]["codes"] == "not_completed"
    assert {r["result"] for r in rows.values()} == {"skipped"}
    assert not of("bob", Certificate).exists()


# users.reset-curricula -------------------------------------------------------------------------


def test_reset_curricula_resets_the_curriculum_record_only(act, world):
    rep = act("users.reset-curricula", params={"curricula": ["CUR"]}, ids=["alice"])
    assert rep.rows[0]["result"] == "deleted"
    assert not of("alice", CurriculumRecord).exists()
    assert of("alice", CourseRecord).count() == 1
    assert of("alice", ProgrammeRecord).get().status == "C"  # programmes are left


def test_reset_curricula_include_courses_resets_their_courses(act, world):
    act(
        "users.reset-curricula",
        params={"curricula": ["CUR"], "include_courses": True},
        ids=["alice", "bob"],
    )
    assert not of("alice", CurriculumRecord).exists()
    assert not of("alice", CourseRecord).exists()
    assert not of("alice", LessonRecord).exists()
    assert not of("bob", CourseRecord).exists()  # bob had only course progress: reset too
    assert of("carol", CourseRecord).count() == 1


def test_reset_curricula_without_progress_is_skipped_no_record(act, world):
    rows = by_key(act("users.reset-curricula", params={"curricula": ["CUR", "CUR2"]}, ids=["bob"]))
    assert {r["codes"] for r in rows.values()} == {"no_record"}


def test_reset_curricula_sharing_a_course_reset_it_once(act, world):
    rows = by_key(
        act(
            "users.reset-curricula",
            params={"curricula": ["CUR", "CUR2"], "include_courses": True},
            ids=["bob"],
        )
    )
    # C2 is in both: the first row resets it; CUR2 has nothing else (bob has no CUR2 record).
    assert rows[("bob", "CUR")]["result"] == "deleted"
    assert (rows[("bob", "CUR2")]["result"], rows[("bob", "CUR2")]["codes"]) == (
        "skipped",
        "no_record",
    )
    assert not of("bob", CourseRecord).exists()


# users.remove-curriculum-assignments -----------------------------------------------------------


def test_remove_curriculum_assignments_keeps_course_assignments_by_default(act, world):
    rows = by_key(
        act("users.remove-curriculum-assignments", params={"curricula": ["CUR"]}, ids=["alice"])
    )
    assert rows[("alice", "CUR")]["result"] == "deleted"
    assert rows[("alice", "CUR")]["codes"] == "completion_kept"
    assert list(of("alice", CurriculumAssignment).values_list("curriculum__code", flat=True)) == [
        "CUR2"
    ]
    assert of("alice", CourseAssignment).count() == 2
    assert of("alice", CurriculumRecord).get().status == "C"


def test_remove_curriculum_assignments_include_courses_keeps_a_course_of_another_curriculum(
    act, world
):
    act(
        "users.remove-curriculum-assignments",
        params={"curricula": ["CUR"], "include_courses": True},
        ids=["alice"],
    )
    # C2 is also in CUR2, which alice stays assigned to: its assignment stays.
    assert list(of("alice", CourseAssignment).values_list("course__code", flat=True)) == ["C2"]
    act(
        "users.remove-curriculum-assignments",
        params={"curricula": ["CUR", "CUR2"], "include_courses": True},
        ids=["alice"],
    )
    assert not of("alice", CourseAssignment).exists()
    assert not of("alice", CurriculumAssignment).exists()
    assert of("alice", CourseRecord).count() == 1  # records stay


def test_remove_curriculum_assignments_not_assigned_is_skipped_not_enrolled(act, world):
    rows = by_key(
        act(
            "users.remove-curriculum-assignments",
            params={"curricula": ["CUR", "CUR2"]},
            ids=["bob"],
        )
    )
    assert {(r["result"], r["codes"]) for r in rows.values()} == {("skipped", "not_enrolled")}
    # With include_courses, bob's C1 assignment (a course of CUR) goes.
    rows = by_key(
        act(
            "users.remove-curriculum-assignments",
            params={"curricula": ["CUR"], "include_courses": True},
            ids=["bob"],
        )
    )
    assert rows[("bob", "CUR")]["result"] == "deleted"
    assert not of("bob", CourseAssignment).exists()


# users.set-competency-scores -------------------------------------------------------------------


def test_set_competency_scores_creates_then_updates_then_unchanged(act, world):
    rep = act(
        "users.set-competency-scores", params={"competency": "COMP", "score": 70}, ids=["bob"]
    )
    assert rep.rows[0]["result"] == "created"
    assert of("bob", CompetencyScore).get().score == Decimal("70")
    rep = act(
        "users.set-competency-scores", params={"competency": "COMP", "score": "85.5"}, ids=["bob"]
    )
    assert rep.rows[0]["result"] == "updated"
    rep = act(
        "users.set-competency-scores", params={"competency": "comp", "score": 85.5}, ids=["bob"]
    )
    assert rep.rows[0]["result"] == "unchanged"
    score = of("bob", CompetencyScore).get()
    assert (score.score, score.not_evaluated) == (Decimal("85.5"), False)


def test_set_competency_scores_not_evaluated_clears_the_score(act, world):
    act("users.set-competency-scores", params={"competency": "COMP", "score": 70}, ids=["bob"])
    rep = act(
        "users.set-competency-scores",
        params={"competency": "COMP", "not_evaluated": True},
        ids=["bob"],
    )
    assert rep.rows[0]["result"] == "updated"
    score = of("bob", CompetencyScore).get()
    assert (score.score, score.not_evaluated) == (None, True)


@pytest.mark.parametrize(
    "params",
    [{"competency": "COMP"}, {"competency": "COMP", "score": 5, "not_evaluated": True}],
    ids=["neither", "both"],
)
def test_set_competency_scores_needs_exactly_one_of_score_and_not_evaluated(act, world, params):
    with pytest.raises(FileError) as e:
        act("users.set-competency-scores", params=params, ids=["bob"])
    assert e.value.code == "invalid_combination"
    assert (e.value.params["first"], e.value.params["second"]) == ("score", "not_evaluated")


@pytest.mark.parametrize("score", [-1, 100.5, "lots"])
def test_set_competency_scores_score_is_0_to_100(act, world, score):
    with pytest.raises(FileError) as e:
        act(
            "users.set-competency-scores",
            params={"competency": "COMP", "score": score},
            ids=["bob"],
        )
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == "score"
