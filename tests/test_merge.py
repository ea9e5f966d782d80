"""Merge two users (SPEC §7, seed 003 "Fusion"): one test per rule, each with its verify-only
plan, its re-run and an undo that restores every table exactly."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from registrar.bulk import engine
from registrar.catalogue.models import (
    CertificateTemplate,
    ClassroomSession,
    Competency,
    CreditType,
    Exam,
)
from registrar.core.errors import FileError
from registrar.directory.models import (
    ListFolder,
    ListMember,
    Organisation,
    RoleGrant,
    User,
    UserAudience,
    UserList,
)
from registrar.journal.models import Operation
from registrar.journal.undo import undo
from registrar.learning.models import (
    Certificate,
    CompetencyScore,
    CourseAssignment,
    CourseRecord,
    CreditAward,
    CurriculumRecord,
    ExamResultSession,
    ExternalTraining,
    LessonAttempt,
    LessonRecord,
    RecordHistory,
    Seat,
)

from . import factories as F
from .conftest import read_results
from .portal_fixtures import BOTH, run_jobs
from .test_api import Api
from .test_journal import snapshot
from .test_portal import signed_in

WHEN = timezone.now() - timedelta(days=10)
LATER = WHEN + timedelta(days=2)


@pytest.fixture
def pair(db):
    """Anna (A, kept) and her duplicate anna.old (Z, removed), both in SUB, with something of
    everything; bob is managed by Z and tutored through a list Z is in."""
    root = F.org("ROOT")
    sub = F.org("SUB", parent=root)
    F.org("OTHER", parent=root)
    a = F.user("anna", sub, extid="E-ANNA")
    z = F.user("anna.old", sub, email="ANNA@example.com")
    bob = F.user("bob", sub, manager=z, alternate_manager=z)
    a.manager = z  # A was managed by her own duplicate: the link is cleared, not self-managed
    a.save()
    tpl = CertificateTemplate.objects.create(name="Completion", version=2)
    c1, c2, c3, c4 = (F.course(f"C{n}", certificate_template=tpl) for n in range(1, 5))
    l1, l2 = F.lesson("C1-L1", c1), F.lesson("C1-L2", c1)
    F.curriculum("CUR", [c1, c2])
    ctype = CreditType.objects.create(name="CPD")
    # C1: A in progress, Z completed: Z's wins. C2: both completed, A's score higher: A's wins.
    CourseRecord.objects.create(user=a, course=c1, status="I", status_date=LATER, score=50)
    CourseRecord.objects.create(user=z, course=c1, status="C", status_date=WHEN, score=40)
    CourseRecord.objects.create(user=a, course=c2, status="C", status_date=WHEN, score=90)
    CourseRecord.objects.create(user=z, course=c2, status="C", status_date=LATER, score=70)
    # C3: both completed, same score, Z's later. C4: Z only.
    CourseRecord.objects.create(user=a, course=c3, status="C", status_date=WHEN, score=80)
    CourseRecord.objects.create(user=z, course=c3, status="C", status_date=LATER, score=80)
    CourseRecord.objects.create(user=z, course=c4, status="I", status_date=WHEN)
    # Lessons: L1 A failed, Z passed (Z's wins, with its attempts); L2 Z only.
    ra = LessonRecord.objects.create(user=a, lesson=l1, status="F", status_date=LATER, score=30)
    rz = LessonRecord.objects.create(user=z, lesson=l1, status="P", status_date=WHEN, score=60)
    LessonAttempt.objects.create(record=ra, number=1, status="F", status_date=LATER, score=30)
    LessonAttempt.objects.create(record=rz, number=1, status="P", status_date=WHEN, score=60)
    LessonRecord.objects.create(user=z, lesson=l2, status="C", status_date=WHEN)
    CreditAward.objects.create(
        user=a, course=c2, credit_type=ctype, amount=Decimal("1"), awarded_on=WHEN.date()
    )
    CreditAward.objects.create(
        user=z, course=c2, credit_type=ctype, amount=Decimal("2"), awarded_on=WHEN.date()
    )
    CreditAward.objects.create(
        user=z, course=c1, credit_type=ctype, amount=Decimal("1"), awarded_on=WHEN.date()
    )
    Certificate.objects.create(user=z, course=c1, template=tpl, template_version=2)
    CourseAssignment.objects.create(user=a, course=c1, option="mandatory")
    CourseAssignment.objects.create(user=z, course=c1, option="free")
    CourseAssignment.objects.create(user=z, course=c4)
    exam = Exam.objects.create(code="EX", title="Exam")
    ExamResultSession.objects.create(exam=exam, user=z, score=7)
    folder = ListFolder.objects.get(name="Default")
    team = UserList.objects.create(name="Team", folder=folder)
    tutors = UserList.objects.create(name="Tutors of C1 for Team", folder=folder)
    ListMember.objects.create(user_list=team, user=a)
    ListMember.objects.create(user_list=team, user=z)
    ListMember.objects.create(user_list=tutors, user=z)
    ListMember.objects.create(user_list=team, user=bob)
    comp = Competency.objects.create(code="COMP", name="Safety")
    CompetencyScore.objects.create(user=a, competency=comp, not_evaluated=True)
    CompetencyScore.objects.create(user=z, competency=comp, score=Decimal("70"))
    F.grant(z, "Organisation administrator", sub)
    session = ClassroomSession.objects.create(
        course=c4, extid="S1", start=LATER, max_participants=5, trainer=z
    )
    Seat.objects.create(session=session, user=z, status="attended")
    ExternalTraining.objects.create(
        user=z, course_name="First aid", start_date=WHEN.date(), end_date=WHEN.date()
    )
    Organisation.objects.filter(pk=sub.pk).update(supervisor=z)
    return {"a": a, "z": z, "bob": bob, "c1": c1, "c2": c2, "c3": c3, "c4": c4, "l1": l1}


def merge(remove="anna.old", keep="anna", **kw):
    return engine.run(
        engine.Request(kind="merge-users", params={"remove": remove, "keep": keep}, **kw)
    )


def rows(rep) -> dict:
    """The results by (object, item)."""
    return {(r["object"], r["item"]): r for r in read_results(rep.results_path)}


def record(login, course):
    return CourseRecord.objects.get(user__login=login, course__code=course)


def test_merge_moves_everything_of_z_to_a(pair):
    before = snapshot()
    rep = merge()
    z = pair["z"].pk
    assert rep.operation.kind == "merge" and rep.counts["rejected"] == 0
    assert not User.objects.filter(pk=z).exists()
    a = pair["a"].pk
    for model in (CourseAssignment, CourseRecord, LessonRecord, CreditAward, Certificate):
        assert model.objects.filter(user_id=a).exists(), model
    assert ExamResultSession.objects.get().user_id == a
    assert ExternalTraining.objects.get().user_id == a
    assert Seat.objects.get().user_id == a
    assert RoleGrant.objects.get(user_id=a).role.name == "Organisation administrator"
    assert set(ListMember.objects.filter(user_id=a).values_list("user_list__name", flat=True)) == {
        "Team",
        "Tutors of C1 for Team",
    }
    bob = User.objects.get(login="bob")
    assert bob.manager_id == a and bob.alternate_manager_id == a
    assert User.objects.get(pk=a).manager_id is None  # never her own manager
    assert ClassroomSession.objects.get().trainer_id == a
    assert Organisation.objects.get(extid="SUB").supervisor_id == a
    assert rows(rep)[("user", "anna.old")]["result"] == "deleted"
    assert snapshot() != before


def test_merge_keeps_the_better_record_by_the_best_of_rules(pair):
    rep = merge()
    got = rows(rep)
    # completed over in progress: Z's C1 moves to A
    assert got[("course_record", "C1")]["kept"] == "Z"
    assert "completed over in progress" in got[("course_record", "C1")]["why"]
    assert record("anna", "C1").status == "C" and record("anna", "C1").score == 40
    # same status, higher score: A's C2 stays
    assert got[("course_record", "C2")]["kept"] == "A"
    assert record("anna", "C2").score == 90
    # same status and score: the later date, Z's
    assert got[("course_record", "C3")]["kept"] == "Z"
    assert record("anna", "C3").status_date == LATER
    # passed over failed, for a lesson; the winner keeps its attempts
    assert got[("lesson_record", "C1-L1")]["kept"] == "Z"
    rec = LessonRecord.objects.get(user__login="anna", lesson__code="C1-L1")
    assert rec.status == "P" and list(rec.attempt_rows.values_list("score", flat=True)) == [60]
    # the larger credit, the evaluated score
    assert CreditAward.objects.get(user__login="anna", course__code="C2").amount == 2
    assert CompetencyScore.objects.get(user__login="anna").score == 70
    # both assigned: A's assignment stays
    assert CourseAssignment.objects.get(user__login="anna", course__code="C1").option == "mandatory"
    assert got[("course_assignment", "C1")]["kept"] == "A"


def test_merge_keeps_the_losing_record_in_a_history(pair):
    merge()
    history = {
        (h.course.code, h.lesson.code if h.lesson else None, h.status, h.reason)
        for h in RecordHistory.objects.filter(user__login="anna")
    }
    assert history == {
        ("C1", None, "I", "merge"),  # A's own, lost to Z's completion
        ("C2", None, "C", "merge"),  # Z's, lost to A's higher score
        ("C3", None, "C", "merge"),
        ("C1", "C1-L1", "F", "merge"),
    }


def test_merge_verify_only_shows_the_plan_and_writes_nothing(pair):
    before = snapshot()
    rep = merge(verify_only=True)
    assert rep.operation.status == Operation.Status.VERIFIED
    assert snapshot() == before
    got = rows(rep)
    assert got[("course_record", "C1")]["result"] == "updated"
    assert got[("course_record", "C2")]["result"] == "deleted"  # Z's copy goes
    assert got[("course_record", "C4")]["kept"] == "moved"
    assert got[("course_record", "C1")]["a_value"].startswith("in progress 50")
    assert got[("course_record", "C1")]["z_value"].startswith("completed 40")
    # the verified plan and the run give the same per-row results
    real = rows(merge())
    assert {k: v["result"] for k, v in real.items()} == {k: v["result"] for k, v in got.items()}


def test_merge_undo_restores_both_users_exactly(pair):
    before = snapshot()
    rep = merge()
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    connection.check_constraints()
    assert snapshot() == before
    assert op.status == Operation.Status.DONE


def test_merge_run_again_is_refused_as_the_user_is_gone(pair):
    merge()
    after = snapshot()
    with pytest.raises(FileError) as e:
        merge()
    assert e.value.code == "user_not_found"
    assert snapshot() == after


def test_merge_same_user_is_refused(pair):
    with pytest.raises(FileError) as e:
        merge("anna", "anna")
    assert e.value.code == "merge_same_user"


def test_merge_unknown_user_is_refused(pair):
    with pytest.raises(FileError) as e:
        merge("nobody", "anna")
    assert e.value.code == "user_not_found" and e.value.params["value"] == "nobody"


def test_merge_of_a_user_holding_roles_the_actor_cannot_grant_is_refused(pair):
    sub = Organisation.objects.get(extid="SUB")
    actor = F.user("hr", sub)
    from registrar.directory.models import Role

    Role.objects.create(name="HR officer", permissions=["directory.*"])
    F.grant(actor, "HR officer", sub)
    before = snapshot()
    rep = merge(actor=actor)
    assert rep.counts["rejected"] == rep.counts["rows"] > 0
    codes = {r["codes"] for r in read_results(rep.results_path)}
    assert codes == {"privileged_user"}
    assert snapshot() == before


def test_merge_outside_the_scope_is_rejected(pair):
    other = Organisation.objects.get(extid="OTHER")
    User.objects.filter(login="anna").update(organisation=other)
    before = snapshot()
    rep = merge(scope="SUB")
    assert rep.counts["rejected"] == rep.counts["rows"]
    assert {r["codes"] for r in read_results(rep.results_path)} == {"out_of_scope"}
    assert snapshot() == before


def test_merge_rolls_completions_up_for_a(pair):
    # A completed C2, Z completed C1: together they complete CUR for A.
    assert not CurriculumRecord.objects.filter(user__login="anna").exists()
    merge()
    assert CurriculumRecord.objects.get(user__login="anna", curriculum__code="CUR").status == "C"


def test_merge_moves_audiences_and_drops_duplicates(pair):
    from registrar.directory.models import Audience

    aud = Audience.objects.create(name="Sales")
    UserAudience.objects.create(user=pair["a"], audience=aud)
    UserAudience.objects.create(user=pair["z"], audience=aud)
    before = snapshot()
    rep = merge()
    assert UserAudience.objects.filter(user__login="anna").count() == 1
    assert rows(rep)[("audience", "Sales")]["result"] == "deleted"
    undo(rep.operation.pk)
    assert snapshot() == before


def test_merge_users_command_prints_the_table_and_json_counts(pair, capsys, tmp_path):
    out = tmp_path / "plan.csv"
    call_command(
        "merge_users",
        "--remove",
        "anna.old",
        "--keep",
        "anna",
        "--verify-only",
        "--results",
        str(out),
    )
    text = capsys.readouterr().out
    assert "course_record" in text and "completed over in progress" in text
    assert "Verified (nothing written)" in text
    assert out.exists() and "a_value" in out.read_text(encoding="utf-8-sig")
    call_command("merge_users", "--remove", "anna.old", "--keep", "anna", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "merge-users" and summary["deleted"] >= 1
    assert summary["objects"]["course_record"] == {"updated": 3, "deleted": 1}
    assert summary["objects"]["user"] == {"deleted": 1}


# The API and the portal ----------------------------------------------------------------------


@pytest.fixture
def dupes(world):
    """In the portal's world: eve (A) and her duplicate eve.2 (Z) in ACME-EU, Z completed
    SAFE-101."""
    z = F.user("eve.2", world.eu)
    CourseRecord.objects.create(user=z, course=world.course, status="C", status_date=WHEN)
    return z


@pytest.mark.django_db(databases=BOTH)
def test_merge_through_the_api_summaries_verify_run_undo(dupes, tokens):
    api = Api(tokens.admin)
    r = api.get("/api/merge/users/summary", remove="eve.2", keep="eve")
    assert r.status_code == 200
    body = r.json()
    assert body["remove"]["counts"]["records"] == 1 and body["keep"]["counts"]["records"] == 0
    assert body["keep"]["organisation_extid"] == "ACME-EU"
    before = snapshot()
    r = api.post("/api/merge/users/verify", {"remove": "eve.2", "keep": "eve"})
    assert r.status_code == 202, r.content
    run_jobs()
    job = api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["status"] == "done" and job["result"]["status"] == "verified"
    assert snapshot() == before
    r = api.post("/api/merge/users/run", {"remove": "eve.2", "keep": "eve"})
    run_jobs()
    job = api.get(f"/api/jobs/{r.json()['id']}").json()
    objects = api.get(f"/api/merge/operations/{job['operation']}/objects").json()
    assert objects == {"course_record": {"updated": 1}, "user": {"deleted": 1}}
    assert CourseRecord.objects.get().user.login == "eve"
    r = api.post(f"/api/operations/{job['operation']}/undo", {"verify_only": False})
    assert r.status_code == 202
    run_jobs()
    assert snapshot() == before


@pytest.mark.django_db(databases=BOTH)
def test_merge_api_of_a_scoped_admin_sees_only_their_branch(dupes, tokens, world):
    F.user("sam.2", world.us)
    api = Api(tokens.eu)
    assert api.get("/api/merge/users/summary", remove="sam.2", keep="sam").status_code == 404
    assert api.get("/api/merge/users/summary", remove="eve.2", keep="eve").status_code == 200


@pytest.mark.django_db(databases=BOTH)
def test_merge_page_shows_both_summaries_the_plan_and_asks_to_confirm(dupes):
    c = signed_in("admin")
    r = c.get("/merge/", {"remove": "eve.2", "keep": "eve"})
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="summary-z"' in html and "ACME-EU" in html
    r = c.post("/merge/", {"remove": "eve.2", "keep": "eve"})
    assert r.status_code == 302
    run_jobs()
    page = r["Location"]
    html = c.get(page).content.decode()
    assert "course record" in html and 'data-testid="confirm-form"' in html
    assert User.objects.filter(login="eve.2").exists()
    r = c.post(page, {})  # not confirmed: nothing runs
    assert r.status_code == 400 and User.objects.filter(login="eve.2").exists()
    r = c.post(page, {"confirm": "on"})
    assert r.status_code == 302
    run_jobs()
    html = c.get(r["Location"]).content.decode()
    assert 'data-testid="history-link"' in html
    assert not User.objects.filter(login="eve.2").exists()


@pytest.mark.django_db(databases=BOTH)
def test_merge_page_refuses_the_same_user_twice(dupes):
    r = signed_in("admin").get("/merge/", {"remove": "eve", "keep": "eve"})
    assert r.status_code == 400 and 'data-testid="error"' in r.content.decode()


def _queries_for_merge(n: int) -> int:
    from django.test.utils import CaptureQueriesContext

    sub = Organisation.objects.get_or_create(extid="Q", defaults={"label": "Q"})[0]
    a, z = F.user(f"qa{n}", sub), F.user(f"qz{n}", sub)
    for i in range(n):
        c = F.course(f"Q{n}-{i}")
        CourseRecord.objects.create(user=a, course=c, status="I")
        CourseRecord.objects.create(user=z, course=c, status="C")
        F.lesson(f"Q{n}-{i}-L", c)
    with CaptureQueriesContext(connection) as q:
        merge(z.login, a.login)
    return len(q.captured_queries)


def test_merge_is_set_based_its_queries_do_not_grow_with_the_records(db):
    assert _queries_for_merge(3) == _queries_for_merge(30)
