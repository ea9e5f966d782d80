"""statistics.set (SPEC §5, seed 003 "L'Assistant Statistiques"): one user, one course, one
lesson; status, reset attempts (status N only), score, status date, time; the course, curriculum
and programme statuses recomputed by the progress rules. One test per rule."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from registrar.core.errors import FileError
from registrar.journal.undo import undo
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeRecord,
)

from . import factories as F
from .portal_fixtures import BOTH, run_jobs

TABLES = (CourseRecord, LessonRecord, LessonAttempt, CurriculumRecord, ProgrammeRecord)
SET = "statistics.set"


def state() -> dict:
    """Every record row the action may touch, by table (without `op`, which undo sets)."""
    return {
        m._meta.label: sorted(
            ({k: v for k, v in row.items() if k != "op"} for row in m.objects.values()),
            key=lambda r: r["id"],
        )
        for m in TABLES
    }


@pytest.fixture
def world(db):
    """Alice (SUB) is assigned C1 (lessons L1 completed with two attempts, L2 none; course in
    progress), which is the only course of CUR, itself the only curriculum of PRG. Bob (SUB) is
    not assigned; Carol (OTHER) is, and Dora (SUB) is disabled."""
    root = F.org("ROOT")
    sub, other = F.org("SUB", parent=root), F.org("OTHER", parent=root)
    users = {
        "alice": F.user("alice", sub),
        "bob": F.user("bob", sub),
        "carol": F.user("carol", other),
        "dora": F.user("dora", sub, disabled=True),
    }
    c1, c2 = F.course("C1"), F.course("C2")
    l1, l2 = F.lesson("L1", c1), F.lesson("L2", c1)
    F.lesson("C2-L1", c2)
    cur = F.curriculum("CUR", [c1])
    F.programme("PRG", [cur])
    when = timezone.now() - timedelta(days=3)
    for login in ("alice", "carol", "dora"):
        CourseAssignment.objects.create(user=users[login], course=c1)
    rec = LessonRecord.objects.create(
        user=users["alice"], lesson=l1, status="C", status_date=when, attempts=2, time_spent=90
    )
    for n in (1, 2):
        LessonAttempt.objects.create(record=rec, number=n, status="FC"[n - 1], status_date=when)
    CourseRecord.objects.create(
        user=users["alice"], course=c1, status="I", status_date=when, completion_percent=50
    )
    return {**users, "c1": c1, "l1": l1, "l2": l2, "when": when}


def params(**kw) -> dict:
    return {"user": "alice", "course": "C1", "lesson": "L2", **kw}


def lesson(login: str, code: str) -> LessonRecord:
    return LessonRecord.objects.get(user__login=login, lesson__code=code)


def course(login: str, code: str = "C1") -> CourseRecord:
    return CourseRecord.objects.get(user__login=login, course__code=code)


def only(rep) -> dict:
    assert len(rep.rows) == 1, rep.rows
    return rep.rows[0]


def test_set_creates_the_lesson_record_and_the_course_curriculum_programme_roll_up(act, world):
    rep = act(SET, params=params(status="P", score=85, status_date="2024-05-02", time=600))
    row = only(rep)
    assert (row["user_login"], row["lesson_code"], row["result"]) == ("alice", "L2", "created")
    rec = lesson("alice", "L2")
    assert (rec.status, rec.score, rec.time_spent, rec.completion_percent, rec.source) == (
        "P",
        Decimal("85"),
        600,
        100,
        "action",
    )
    assert timezone.localtime(rec.status_date).date().isoformat() == "2024-05-02"
    c = course("alice")
    assert (c.status, c.completion_percent) == ("C", 100)
    assert CurriculumRecord.objects.get(user=world["alice"]).status == "C"
    assert ProgrammeRecord.objects.get(user=world["alice"]).status == "C"


def test_verify_only_gives_the_runs_rows_and_writes_nothing(act, world):
    before = state()
    verified = act(SET, params=params(status="C"), verify_only=True)
    assert state() == before
    done = act(SET, params=params(status="C"))
    assert verified.rows == done.rows and verified.counts == done.counts
    assert done.counts["created"] == 1


def test_a_second_run_changes_nothing(act, world):
    act(SET, params=params(status="I", time=30))
    after = state()
    again = act(SET, params=params(status="I", time=30))
    assert only(again)["result"] == "unchanged"
    assert state() == after


def test_undo_restores_every_row(act, world):
    before = state()
    rep = act(SET, params=params(status="C"))
    assert CurriculumRecord.objects.exists()
    _, conflicts = undo(rep.operation.pk)
    assert conflicts == []
    assert state() == before


@pytest.mark.parametrize("given", [{"status": "I"}, {}])
def test_reset_attempts_only_with_status_n(act, world, given):
    with pytest.raises(FileError) as e:
        act(SET, params=params(lesson="L1", reset_attempts=True, **given))
    assert e.value.code == "invalid_combination"
    assert (e.value.params["first"], e.value.params["second"]) == ("reset_attempts", "status")
    assert LessonAttempt.objects.count() == 2


def test_reset_attempts_deletes_the_attempts_and_undo_brings_them_back(act, world):
    before = state()
    rep = act(SET, params=params(lesson="L1", status="N", reset_attempts=True))
    assert only(rep)["result"] == "updated"
    rec = lesson("alice", "L1")
    assert (rec.status, rec.attempts, rec.completion_percent) == ("N", 0, 0)
    assert not LessonAttempt.objects.exists()
    undo(rep.operation.pk)
    assert state() == before


def test_a_lesson_lowered_lowers_its_course_but_not_the_curriculum(act, world):
    act(SET, params=params(status="C"))  # C1 completed, CUR and PRG with it
    assert course("alice").status == "C"
    act(SET, params=params(lesson="L1", status="F"))
    c = course("alice")
    assert (c.status, c.completion_percent) == ("I", 50)
    assert CurriculumRecord.objects.get(user=world["alice"]).status == "C"


def test_a_lesson_raised_never_takes_back_a_course_completed_otherwise(act, world):
    CourseRecord.objects.filter(user=world["alice"]).update(status="C", completion_percent=100)
    act(SET, params=params(status="I"))
    assert course("alice").status == "C"


def test_a_status_changed_without_a_date_is_dated_now(act, world):
    start = timezone.now()
    act(SET, params=params(lesson="L1", status="F"))
    assert lesson("alice", "L1").status_date >= start


def test_a_key_left_out_is_not_changed_and_null_clears_the_score(act, world):
    act(SET, params=params(status="P", score=70, time=100))
    act(SET, params=params(score=None))
    rec = lesson("alice", "L2")
    assert (rec.status, rec.score, rec.time_spent) == ("P", None, 100)


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"score": 101}, "score"),
        ({"time": -1}, "time"),
        ({"status": "X"}, "status"),
        ({"status_date": (timezone.now() + timedelta(days=2)).isoformat()}, "status_date"),
        ({}, "status"),  # nothing to set
        ({"course": "NOPE", "status": "C"}, "course"),
        ({"bogus": 1, "status": "C"}, "bogus"),
    ],
)
def test_an_invalid_parameter_is_refused_naming_the_key(act, world, bad, key):
    before = state()
    with pytest.raises(FileError) as e:
        act(SET, params=params(**bad))
    assert e.value.code == "invalid_parameter" and e.value.params["key"] == key
    assert state() == before


def test_a_lesson_of_another_course_is_lesson_not_found(act, world):
    with pytest.raises(FileError) as e:
        act(SET, params=params(lesson="C2-L1", status="C"))
    assert e.value.code == "lesson_not_found"
    assert e.value.params == {"value": "C2-L1", "course": "C1"}


@pytest.mark.parametrize(
    ("login", "code", "scope"),
    [
        ("bob", "not_assigned", None),
        ("nobody", "user_not_found", None),
        ("dora", "user_disabled", None),
        ("carol", "out_of_scope", "SUB"),
    ],
)
def test_a_user_who_cannot_have_the_record_is_rejected(act, world, login, code, scope):
    before = state()
    rep = act(SET, params=params(user=login, status="C"), scope=scope)
    row = only(rep)
    assert (row["user_login"], row["result"], row["codes"]) == (login, "rejected", code)
    assert state() == before


def test_the_selection_given_is_ignored_one_user_is_acted_on(act, world):
    rep = act(SET, params=params(status="I"), ids=["bob", "carol"])
    assert [r["user_login"] for r in rep.rows] == ["alice"]


def test_reset_attempts_without_a_record_is_skipped(act, world):
    rep = act(SET, params=params(status="N", reset_attempts=True))
    assert (only(rep)["result"], only(rep)["codes"]) == ("skipped", "no_record")
    assert not LessonRecord.objects.filter(lesson=world["l2"]).exists()


def test_the_command_line_runs_it(world, tmp_path):
    out = io.StringIO()
    given = json.dumps(params(status="C", time=60))
    call_command("act", "statistics", "set", "--params", given, "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert (summary["kind"], summary["created"]) == (SET, 1)
    assert lesson("alice", "L2").time_spent == 60


@pytest.mark.django_db(databases=BOTH)
def test_the_portal_assistant_verifies_then_runs(world, client):
    from registrar.jobs.models import Job

    admin = F.user("boss", world["alice"].organisation.parent, is_staff=True)
    F.grant(admin, "Site administrator")
    client.force_login(admin)
    assert client.get("/assistants/statistics/")["Location"] == "/assistants/statistics/set/"
    url = "/assistants/statistics/set/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="lesson"' in body and 'name="reset_attempts"' in body
    form = {"user": "alice", "course": "C1", "lesson": "L2", "status": "C", "time": "60"}
    resp = client.post(url, {**form, "go": "verify"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    run_jobs()
    job = Job.objects.get(kind=SET)
    assert job.verify_only
    assert not LessonRecord.objects.filter(lesson=world["l2"]).exists()
    client.post(url, {**form, "go": "run"})
    run_jobs()
    assert lesson("alice", "L2").status == "C"


@pytest.mark.django_db(databases=BOTH)
def test_the_api_runs_it_as_a_job(world):
    from registrar.api.models import ApiToken

    from .test_api import Api

    admin = F.user("boss", world["alice"].organisation.parent)
    F.grant(admin, "Site administrator")
    api = Api(ApiToken.issue(admin, "test")[1])
    r = api.post("/api/actions/statistics/set/run", {"params": params(status="C")})
    assert r.status_code == 202, r.content
    run_jobs()
    job = api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["status"] == "done" and job["result"]["created"] == 1, job
    assert lesson("alice", "L2").status == "C"
