"""The columnar lane for progress (SPEC §4.3): the same results, codes, messages and writes as
the row path, whatever the file holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registrar.bulk import lookups
from registrar.bulk.imports.progress import Progress
from registrar.directory.models import Organisation
from registrar.learning.models import (
    CourseRecord,
    CourseStatus,
    CurriculumRecord,
    ProgrammeRecord,
)

from . import columnar_fixtures
from . import factories as f

H = ["user_email", "content_uuid", "completion_date"]


@pytest.fixture
def messy(db):
    """Users and content for every case the progress plan knows, and a file naming them."""
    other = Organisation.objects.create(extid="FAR", label="Far away")
    f.user("alice", email="Alice@Example.com")
    f.user("bob")
    f.user("carol", disabled=True)
    f.user("dan", training_access=False)
    f.user("erin", email="shared@example.com")
    f.user("frank", email="shared@example.com")
    f.user("gina", organisation=other)
    hugo, ines = f.user("hugo"), f.user("ines")
    a, b, c = f.course("A"), f.course("B"), f.course("C")
    draft = f.course("DRAFT", published=False)
    j = f.curriculum("J", courses=[a, b])
    f.programme("P", curricula=[j])
    CourseRecord.objects.create(
        user=hugo, course=a, status=CourseStatus.IN_PROGRESS, completion_percent=40
    )
    done = timezone.now() - timedelta(days=40)
    CourseRecord.objects.create(
        user=ines, course=a, status=CourseStatus.COMPLETED, status_date=done
    )
    ua, ub, uc = str(a.uuid), str(b.uuid), str(c.uuid)
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    return [
        ["alice@example.com", ua, "2024-06-15"],
        ["ALICE@EXAMPLE.COM", ub, "2024-06-16T14:30:00+10:00"],  # finishes J, then P
        ["bob@example.com", ua, "2024/06/16"],
        ["bob@example.com", "{" + ua.upper() + "}", "2024-06-17"],  # the same, written so
        ["BOB@example.com", ua, "2024-06-17"],  # duplicate key
        ["bob@example.com", uc, ""],  # the import's moment
        ["carol@example.com", ua, "2024-06-15"],  # disabled
        ["dan@example.com", ua, "2024-06-15"],  # no training access
        ["shared@example.com", ua, "2024-06-15"],  # ambiguous
        ["gina@example.com", ua, "2024-06-15"],  # out of a scope
        ["hugo@example.com", ua, "2024-06-15"],  # in progress: updated
        ["ines@example.com", ua, "2024-06-15"],  # completed already: unchanged
        ["ines@example.com", str(draft.uuid), "2024-06-15"],  # no access: a warning
        ["ines@example.com", str(j.uuid), "2024-06-15"],  # a journey in an activity file
        ["ines@example.com", "5b0f5f0e-6a8f-4d39-9a3e-3b1f2d8c0a01", "2024-06-15"],
        ["ines@example.com", "not-a-uuid", "2024-06-15"],
        ["nobody@example.com", ub, "2024-06-15"],
        ["not-an-email", ub, "2024-06-15"],
        ["hugo@example.com", ub, tomorrow],  # in the future
        ["hugo@example.com", ub, "15/06/2024"],
        ["=cmd|' /C calc'!A0", ub, "2024-06-15"],  # a formula
        ["hugo@example.com", uc, "2024-06-15", "extra"],  # a cell too many
        ["hugo@example.com"],  # short
        ["ines@example.com", ub, "2024-06-15"],
    ]


def state():
    """Every record, the import's moment shown as such (two imports run at two moments)."""
    recent = timezone.now() - timedelta(hours=1)
    out = []
    for model, field in (
        (CourseRecord, "course__code"),
        (CurriculumRecord, "curriculum__code"),
        (ProgrammeRecord, "programme__code"),
    ):
        for login, code, status, when in model.objects.values_list(
            "user__login", field, "status", "status_date"
        ):
            out.append((login, code, status, "now" if when and when > recent else when))
    return sorted(out, key=str)


def run_both(run_import, rows, monkeypatch, bulk_rows=3, **kw):
    """The file through the lane, undone, then through the row path."""
    return columnar_fixtures.run_both(
        run_import, monkeypatch, Progress, H, rows, state, bulk_rows, **kw
    )


@pytest.mark.parametrize("share", [0, 1e9], ids=["users-read-once", "users-joined-a-batch"])
def test_the_progress_lane_gives_the_row_paths_results_and_writes(
    run_import, messy, monkeypatch, share
):
    monkeypatch.setattr(lookups, "WHOLE_SHARE", share)
    lane_rows, after_lane = columnar_fixtures.same(run_both(run_import, messy, monkeypatch))
    assert ("alice", "J", "C") in {x[:3] for x in after_lane}  # rolled up from the lane's rows
    assert ("alice", "P", "C") in {x[:3] for x in after_lane}


def test_the_progress_lane_keeps_the_scope(run_import, messy, monkeypatch):
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, scope="ORG")
    )
    gina = [r for r in lane_rows if r["user_email"] == "gina@example.com"][0]
    assert gina["codes"] == "out_of_scope"


def test_the_progress_lane_across_batches(run_import, messy, monkeypatch, settings):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 3
    settings.REGISTRAR_BATCH_SIZE = 3
    lane_rows, after_lane = columnar_fixtures.same(run_both(run_import, messy, monkeypatch))


def test_journeys_and_programmes_take_the_row_path(run_import, messy, monkeypatch):
    """A journey or a programme cascades to what it holds: the lane plans none of them."""
    called = []
    monkeypatch.setattr(Progress, "apply_columns", lambda *a: called.append(a))
    j = f.curriculum("J2", courses=[])
    rep = run_import(
        "progress", H, [["bob@example.com", str(j.uuid), ""]], options={"kind": "journey"}
    )
    assert not called
    assert rep.counts["created"] == 1
    assert CurriculumRecord.objects.filter(user__login="bob", curriculum=j).exists()
