"""Transfer progress (SPEC §8, seed 002): user to user, content to content. One test per rule,
each with its verify-only plan, its re-run and an undo that restores every table exactly."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from registrar.bulk import engine
from registrar.core.errors import FileError
from registrar.directory.models import Organisation, User
from registrar.journal.models import Operation
from registrar.journal.undo import undo
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CurriculumRecord,
    LessonAttempt,
    LessonRecord,
    ProgrammeRecord,
    RecordHistory,
)

from . import factories as F
from .conftest import read_results
from .portal_fixtures import BOTH, run_jobs
from .test_api import Api
from .test_journal import snapshot
from .test_portal import signed_in

WHEN = timezone.now() - timedelta(days=30)
LATER = WHEN + timedelta(days=3)


def transfer(what: str, source: str, dest: str, **kw):
    params = {"from": source, "to": dest}
    if "on_conflict" in kw:
        params["on_conflict"] = kw.pop("on_conflict")
    return engine.run(engine.Request(kind=f"transfer-{what}", params=params, **kw))


def results(rep) -> list[dict]:
    return read_results(rep.results_path)


def check_undo(rep, before) -> None:
    op, conflicts = undo(rep.operation.pk)
    assert conflicts == [] and op.status == Operation.Status.DONE
    connection.check_constraints()
    assert snapshot() == before


def _sub():
    return Organisation.objects.get_or_create(extid="SUB", defaults={"label": "Sub"})[0]


# User to user --------------------------------------------------------------------------------


@pytest.fixture
def users(db):
    """Old account `jo.old` with progress on C1 (lessons, attempts) and C2; new account `jo`."""
    sub = _sub()
    old, new = F.user("jo.old", sub), F.user("jo", sub)
    c1, c2 = F.course("C1"), F.course("C2")
    lesson = F.lesson("C1-L1", c1)
    CourseRecord.objects.create(user=old, course=c1, status="C", status_date=WHEN, score=70)
    CourseRecord.objects.create(user=old, course=c2, status="I", status_date=WHEN)
    rec = LessonRecord.objects.create(user=old, lesson=lesson, status="P", status_date=WHEN)
    LessonAttempt.objects.create(record=rec, number=1, status="P", status_date=WHEN)
    CourseAssignment.objects.create(user=old, course=c1)
    return {"old": old, "new": new, "c1": c1, "c2": c2}


def test_transfer_user_moves_progress_and_keeps_both_accounts(users):
    before = snapshot()
    rep = transfer("user", "jo.old", "jo")
    assert rep.operation.kind == "transfer" and rep.counts["rejected"] == 0
    assert set(
        CourseRecord.objects.filter(user__login="jo").values_list("course__code", "status")
    ) == {
        ("C1", "C"),
        ("C2", "I"),
    }
    assert LessonRecord.objects.get().user.login == "jo"
    assert LessonAttempt.objects.get().record.user.login == "jo"
    assert User.objects.filter(login="jo.old").exists()  # Z is kept
    assert CourseAssignment.objects.get().user.login == "jo.old"  # only progress moves
    check_undo(rep, before)


def test_transfer_user_refuses_when_both_have_progress(users):
    CourseRecord.objects.create(user=users["new"], course=users["c1"], status="I")
    before = snapshot()
    rep = transfer("user", "jo.old", "jo")
    assert rep.counts["rejected"] == rep.counts["rows"] == 3
    assert {r["codes"] for r in results(rep)} == {"both_have_progress"}
    assert "jo.old" in results(rep)[0]["message"]
    assert snapshot() == before


def test_transfer_user_on_conflict_merge_keeps_the_better_record(users):
    CourseRecord.objects.create(
        user=users["new"], course=users["c1"], status="I", status_date=LATER
    )
    CourseRecord.objects.create(
        user=users["new"], course=users["c2"], status="C", status_date=LATER
    )
    before = snapshot()
    rep = transfer("user", "jo.old", "jo", on_conflict="merge")
    got = {(r["object"], r["item"]): r for r in results(rep)}
    assert got[("course_record", "C1")]["kept"] == "Z"  # completed over in progress
    assert got[("course_record", "C2")]["kept"] == "A"
    assert dict(
        CourseRecord.objects.filter(user__login="jo").values_list("course__code", "status")
    ) == {
        "C1": "C",
        "C2": "C",
    }
    assert not CourseRecord.objects.filter(user__login="jo.old").exists()
    history = list(RecordHistory.objects.values_list("user__login", "course__code", "reason"))
    assert sorted(history) == [("jo", "C1", "transfer"), ("jo", "C2", "transfer")]
    assert User.objects.filter(login="jo.old").exists()
    check_undo(rep, before)


def test_transfer_user_verify_only_shows_the_plan_and_writes_nothing(users):
    before = snapshot()
    rep = transfer("user", "jo.old", "jo", verify_only=True)
    assert rep.operation.status == Operation.Status.VERIFIED
    assert snapshot() == before
    plan = [(r["object"], r["item"], r["result"]) for r in results(rep)]
    real = transfer("user", "jo.old", "jo")
    assert plan == [(r["object"], r["item"], r["result"]) for r in results(real)]


def test_transfer_user_run_again_changes_nothing(users):
    transfer("user", "jo.old", "jo")
    after = snapshot()
    rep = transfer("user", "jo.old", "jo")
    assert [(r["result"], r["codes"]) for r in results(rep)] == [("skipped", "no_progress")]
    assert snapshot() == after


def test_transfer_user_to_the_same_user_is_refused(users):
    with pytest.raises(FileError) as e:
        transfer("user", "jo", "jo")
    assert e.value.code == "merge_same_user"


# Content to content --------------------------------------------------------------------------


@pytest.fixture
def contents(db):
    """OLD completed by u1 (earlier) and u2; u3 in progress. NEW is published (open access);
    HIDDEN is unpublished, assigned to u1 only. Journeys J-OLD and J-NEW (NEW, N2)."""
    sub = _sub()
    u = {n: F.user(n, sub) for n in ("u1", "u2", "u3")}
    old, new, n2 = F.course("OLD"), F.course("NEW"), F.course("N2")
    hidden = F.course("HIDDEN", published=False)
    jold = F.curriculum("J-OLD", [old])
    F.curriculum("J-NEW", [new, n2])
    F.programme("P-NEW", [F.curriculum("J-X", [n2])])
    CourseRecord.objects.create(user=u["u1"], course=old, status="C", status_date=WHEN)
    CourseRecord.objects.create(user=u["u2"], course=old, status="C", status_date=LATER)
    CourseRecord.objects.create(user=u["u3"], course=old, status="I", status_date=LATER)
    CurriculumRecord.objects.create(user=u["u1"], curriculum=jold, status="C", status_date=WHEN)
    CourseAssignment.objects.create(user=u["u1"], course=hidden)
    return {"old": old, "new": new, "hidden": hidden, **u}


def test_transfer_content_completes_the_new_content_with_the_old_date(contents):
    before = snapshot()
    rep = transfer("content", "OLD", "NEW")
    assert rep.counts["created"] == 2 and rep.counts["rows"] == 2  # u3 never completed OLD
    dates = dict(
        CourseRecord.objects.filter(course__code="NEW").values_list("user__login", "status_date")
    )
    assert dates == {"u1": WHEN, "u2": LATER}
    rec = CourseRecord.objects.get(user__login="u1", course__code="NEW")
    assert rec.status == "C" and rec.source == "transfer" and rec.completion_percent == 100
    check_undo(rep, before)


def test_transfer_content_skips_users_without_access(contents):
    rep = transfer("content", "OLD", "HIDDEN")
    got = {r["user_login"]: r for r in results(rep)}
    assert got["u1"]["result"] == "created"
    assert got["u2"]["result"] == "skipped" and got["u2"]["codes"] == "no_access"
    assert not CourseRecord.objects.filter(user__login="u2", course__code="HIDDEN").exists()


def test_transfer_content_by_uuid_same_kind_only(contents):
    old = contents["old"]
    journey = CurriculumRecord.objects.get().curriculum
    with pytest.raises(FileError) as e:
        transfer("content", str(old.uuid), journey.code)
    assert e.value.code == "content_kind_mismatch"
    with pytest.raises(FileError) as e:
        transfer("content", "NOPE", "NEW")
    assert e.value.code == "content_not_found"
    with pytest.raises(FileError) as e:
        transfer("content", "OLD", str(old.uuid))
    assert e.value.code == "same_content"
    rep = transfer("content", str(old.uuid), str(contents["new"].uuid))
    assert rep.counts["created"] == 2


def test_transfer_content_journey_cascades_to_its_activities_and_rolls_up(contents):
    before = snapshot()
    rep = transfer("content", "J-OLD", "J-NEW")
    assert [r["user_login"] for r in results(rep)] == ["u1"]
    done = set(
        CourseRecord.objects.filter(user__login="u1", status="C").values_list(
            "course__code", flat=True
        )
    )
    assert {"NEW", "N2"} <= done
    assert CurriculumRecord.objects.get(user__login="u1", curriculum__code="J-NEW").status == "C"
    # N2 completed finishes J-X, which finishes P-NEW (roll-up)
    assert CurriculumRecord.objects.get(user__login="u1", curriculum__code="J-X").status == "C"
    assert ProgrammeRecord.objects.get(user__login="u1").status == "C"
    check_undo(rep, before)


def test_transfer_content_run_again_skips_already_completed(contents):
    transfer("content", "OLD", "NEW")
    after = snapshot()
    rep = transfer("content", "OLD", "NEW")
    assert {(r["result"], r["codes"]) for r in results(rep)} == {("skipped", "already_completed")}
    assert snapshot() == after


def test_transfer_content_verify_only_writes_nothing(contents):
    before = snapshot()
    rep = transfer("content", "OLD", "NEW", verify_only=True)
    assert rep.operation.status == Operation.Status.VERIFIED and rep.counts["created"] == 2
    assert snapshot() == before


def test_transfer_content_outside_the_scope_is_rejected(contents):
    other = F.org("OTHER")
    User.objects.filter(login="u2").update(organisation=other)
    rep = transfer("content", "OLD", "NEW", scope="SUB")
    got = {r["user_login"]: r for r in results(rep)}
    assert got["u2"]["codes"] == "out_of_scope" and got["u1"]["result"] == "created"


def test_transfer_command_prints_json_counts_per_object(contents, users, capsys):
    call_command("transfer", "content", "--from", "OLD", "--to", "NEW", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "transfer-content" and summary["created"] == 2
    assert summary["objects"]["course_record"] == {"created": 2}
    call_command("transfer", "user", "--from", "jo.old", "--to", "jo", "--verify-only")
    text = capsys.readouterr().out
    assert "course_record" in text and "Verified (nothing written)" in text


# The API and the portal ----------------------------------------------------------------------


@pytest.mark.django_db(databases=BOTH)
def test_transfer_content_through_the_api_verify_then_run(world, tokens):
    F.course("SAFE-201")
    CourseRecord.objects.create(user=world.eve, course=world.course, status="C", status_date=WHEN)
    api = Api(tokens.admin)
    r = api.post("/api/merge/transfer/content/verify", {"from": "SAFE-101", "to": "SAFE-201"})
    assert r.status_code == 202, r.content
    run_jobs()
    assert not CourseRecord.objects.filter(course__code="SAFE-201").exists()
    r = api.post("/api/merge/transfer/content/run", {"from": "SAFE-101", "to": "SAFE-201"})
    run_jobs()
    job = api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["result"]["created"] == 1
    rec = CourseRecord.objects.get(course__code="SAFE-201")
    assert rec.user.login == "eve" and rec.status_date == WHEN
    r = api.post("/api/merge/transfer/content/run", {"from": "SAFE-101", "to": "NOPE"})
    assert r.status_code == 400 and "content_not_found" in r.json()["detail"]


@pytest.mark.django_db(databases=BOTH)
def test_transfer_user_page_verifies_then_runs_after_confirmation(world):
    old = F.user("eve.old", world.eu)
    CourseRecord.objects.create(user=old, course=world.course, status="C", status_date=WHEN)
    c = signed_in("admin")
    assert c.get("/merge/transfer/").status_code == 200
    r = c.post("/merge/transfer/", {"what": "user", "from": "eve.old", "to": "eve"})
    assert r.status_code == 302
    run_jobs()
    html = c.get(r["Location"]).content.decode()
    assert "course record" in html and 'data-testid="confirm-form"' in html
    r = c.post(r["Location"], {"confirm": "on"})
    run_jobs()
    assert CourseRecord.objects.get().user.login == "eve"
    assert User.objects.filter(login="eve.old").exists()


def test_transfer_content_is_set_based_its_queries_do_not_grow_with_the_completers(db):
    from django.test.utils import CaptureQueriesContext

    sub = _sub()
    counts = []
    for n in (3, 30):
        old, new = F.course(f"OLD{n}"), F.course(f"NEW{n}")
        for i in range(n):
            u = F.user(f"c{n}-{i}", sub)
            CourseRecord.objects.create(user=u, course=old, status="C", status_date=WHEN)
        with CaptureQueriesContext(connection) as q:
            rep = transfer("content", old.code, new.code)
        assert rep.counts["created"] == n
        counts.append(len(q.captured_queries))
    assert counts[0] == counts[1]
