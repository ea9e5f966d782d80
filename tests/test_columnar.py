"""The columnar lane (bulk.columnar): the same results, codes, messages and writes as the row
path, whatever the file holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registrar.bulk import lookups
from registrar.bulk.imports.completions import Completions
from registrar.directory import tree
from registrar.directory.models import Organisation
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus

from . import columnar_fixtures
from . import factories as f

H = ["course_id", "user_email", "completion_date", "course_title"]


@pytest.fixture
def messy(db):
    """Users and courses for every case the completions plan knows, and a file naming them."""
    other = Organisation.objects.create(extid="FAR", label="Far away")
    f.user("alice", email="Alice@Example.com")
    f.user("bob")
    f.user("carol", disabled=True)
    f.user("dan", training_access=False)
    f.user("erin", email="shared@example.com")
    f.user("frank", email="shared@example.com")
    f.user("gina", organisation=other)
    f.user("hugo")
    f.user("ines")
    safe = f.course("SAFE-101", "Workplace safety")
    f.course("SAFE-102", "Fire")
    f.course("DRAFT-1", "Draft", published=False)
    hugo = f.user("hugo2", email="hugo2@example.com")
    CourseRecord.objects.create(
        user=hugo, course=safe, status=CourseStatus.IN_PROGRESS, completion_percent=40
    )
    ines = f.user("ines2", email="ines2@example.com")
    CourseRecord.objects.create(user=ines, course=safe, status=CourseStatus.NOT_STARTED)
    CourseAssignment.objects.create(user=f.user("jo"), course=safe)
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    return [
        ["SAFE-101", "alice@example.com", "2024-06-15", "Workplace safety"],
        ["SAFE-102", "ALICE@EXAMPLE.COM", "2024-06-15T14:30:00+10:00", ""],
        ["safe-101", "bob@example.com", "2024-06-15", ""],  # a code in another case
        ["SAFE-101", "bob@example.com", "2024/06/16", ""],
        ["SAFE-101", "BOB@example.com", "2024-06-17", ""],  # duplicate key
        ["SAFE-101", "carol@example.com", "2024-06-15", ""],  # disabled
        ["SAFE-101", "dan@example.com", "2024-06-15", ""],  # no training access
        ["SAFE-101", "shared@example.com", "2024-06-15", ""],  # ambiguous
        ["SAFE-101", "gina@example.com", "2024-06-15", ""],  # out of a scope
        ["SAFE-101", "hugo2@example.com", "2024-06-15", ""],  # progress already
        ["SAFE-101", "ines2@example.com", "2024-06-15", ""],  # a record not started
        ["SAFE-101", "jo@example.com", "2024-06-15", ""],  # assigned already
        ["DRAFT-1", "hugo@example.com", "2024-06-15", ""],
        ["NOPE", "hugo@example.com", "2024-06-15", ""],
        ["SAFE-102", "hugo@example.com", "2024-06-15", "Wrong title"],
        ["SAFE-102", "nobody@example.com", "2024-06-15", ""],
        ["SAFE-102", "not-an-email", "2024-06-15", ""],
        ["SAFE-102", "hugo@example.com", "15/06/2024", ""],
        ["SAFE-102", "ines@example.com", tomorrow, ""],  # in the future
        ["SAFE-102", "ines@example.com", "", ""],
        ["", "ines@example.com", "2024-06-15", ""],
        ["SAFE-102", "=cmd|' /C calc'!A0", "2024-06-15", ""],  # a formula
        ["SAFE-102", "jo@example.com", "2024-06-15", "Fire", "extra"],  # a cell too many
        ["SAFE-102", "jo@example.com"],  # short
        ["X" * 101, "jo@example.com", "2024-06-15", ""],  # too long
        ["SAFE-102", "bob@example.com", "2024-06-15", ""],
    ]


def state():
    records = sorted(
        CourseRecord.objects.values_list("user__login", "course__code", "status", "status_date")
    )
    assigned = sorted(CourseAssignment.objects.values_list("user__login", "course__code"))
    return records, assigned


def run_both(run_import, rows, monkeypatch, bulk_rows=3, **kw):
    """The file through the lane, undone, then through the row path."""
    return columnar_fixtures.run_both(
        run_import, monkeypatch, Completions, H, rows, state, bulk_rows, **kw
    )


@pytest.mark.parametrize("share", [0, 1e9], ids=["users-read-once", "users-joined-a-batch"])
def test_the_columnar_lane_gives_the_row_paths_results_and_writes(
    run_import, messy, monkeypatch, share
):
    monkeypatch.setattr(lookups, "WHOLE_SHARE", share)
    lane_rows, after_lane = columnar_fixtures.same(run_both(run_import, messy, monkeypatch))


def test_the_columnar_lane_keeps_the_scope(run_import, messy, monkeypatch):
    root = Organisation.objects.get(extid="ORG")
    assert tree.subtree(root.pk)
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy, monkeypatch, scope="ORG")
    )
    gina = [r for r in lane_rows if r["user_email"] == "gina@example.com"][0]
    assert gina["codes"] == "out_of_scope"


def test_the_columnar_lane_verify_only_writes_nothing(run_import, messy):
    rep = run_import("completions", H, messy, verify_only=True)
    assert rep.counts["created"] >= 4
    assert not CourseRecord.objects.filter(op=rep.operation.pk).exists()


def test_the_columnar_lane_is_undone_like_the_row_path(run_import, messy):
    from registrar.journal.undo import undo

    before = state()
    rep = run_import("completions", H, messy)
    assert state() != before
    undo(rep.operation.pk)
    assert state() == before


def test_a_formula_in_a_planned_row_is_escaped_in_the_results(run_import, db, tmp_path):
    f.user("eq", email="=eq@example.com")
    f.course("SAFE-101", "Workplace safety")
    rep = run_import("completions", H, [["SAFE-101", "=eq@example.com", "2024-06-15", ""]])
    assert rep.rows[0]["result"] == "created"
    with open(rep.results_path, encoding="utf-8-sig") as fh:
        assert "'=eq@example.com" in fh.read()


def test_rows_of_a_failing_columnar_apply_take_the_row_path(run_import, messy, monkeypatch):
    from django.db import IntegrityError

    def fails(self, cols, ctx):
        CourseAssignment.objects.filter(pk__in=[]).update(op=ctx.op.pk)
        raise IntegrityError("a concurrent insert of the same record")

    expected = run_import("completions", H, messy, verify_only=True).rows
    monkeypatch.setattr(Completions, "apply_columns", fails)
    rep = run_import("completions", H, messy)
    assert rep.rows == expected
    assert (
        CourseRecord.objects.filter(op=rep.operation.pk).count()
        == rep.counts["created"] + (rep.counts["updated"])
    )


def test_the_columnar_lane_finds_repeated_keys_across_batches(
    run_import, messy, monkeypatch, settings
):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 3
    settings.REGISTRAR_BATCH_SIZE = 3
    rows = messy + [
        ["SAFE-101", "alice@EXAMPLE.com", "2024-06-18", ""],
        ["SAFE-102", "bob@example.com", "2024-06-15", ""],
    ]
    lane_rows, after_lane = columnar_fixtures.same(run_both(run_import, rows, monkeypatch))
    assert [r["codes"] for r in lane_rows[-2:]] == ["duplicate_row", "duplicate_row"]


def test_the_columnar_lane_reads_the_users_once_for_a_large_share(
    run_import, messy, monkeypatch, settings
):
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 5
    reads = []
    whole = lookups._all_learners
    monkeypatch.setattr(lookups, "_all_learners", lambda: reads.append(1) or whole())
    lane, lane_rows, after_lane, row, after_row = run_both(run_import, messy, monkeypatch)
    assert reads == [1]  # six batches, one read of the users
    assert lane_rows == row.rows
    assert after_lane == after_row


def test_the_columnar_lane_can_be_turned_off(run_import, messy, monkeypatch, settings):
    settings.REGISTRAR_COLUMNAR = False
    called = []
    monkeypatch.setattr(Completions, "apply_columns", lambda *a: called.append(a))
    rep = run_import("completions", H, messy)
    assert not called and rep.counts["created"] >= 3


def test_a_batch_of_distinct_moments_gives_the_row_paths_results_with_its_duplicates(
    run_import, messy, monkeypatch
):
    for i in range(150):
        f.user(f"u{i}")
    start = timezone.now() - timedelta(days=30)
    moments = [(start + timedelta(minutes=i)).isoformat(timespec="seconds") for i in range(150)]
    rows = [["SAFE-101", f"u{i}@example.com", m, ""] for i, m in enumerate(moments)]
    rows += [["SAFE-101", "u7@example.com", moments[0], ""]]
    lane_rows, after_lane = columnar_fixtures.same(
        run_both(run_import, messy + rows, monkeypatch, bulk_rows=150)
    )
    assert lane_rows[-1]["codes"] == "duplicate_row"


MOMENT_CELLS = [
    "2024-06-15",
    "2024/06/15",
    "2024-06/15",
    "2024-06-15T14:30:00",
    "2024-06-15T14:30:00Z",
    "2024-06-15T14:30:00+10:00",
    "2024-06-15T14:30:00-05:30",
    "2024-06-15T14:30",
    "2024-06-15 14:30:00",
    "2024-06-15T14:30:00.250",
    "2024-06-15T24:00:00",
    "2024-06-15T23:59:60",
    "2024-06-15T14:30:00+24:00",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-03-31T02:30:00",  # in the spring gap (Paris)
    "2024-10-27T02:30:00",  # twice in the autumn (Paris)
    "2024-03-10T02:30:00",  # in the spring gap (New York)
    "1900-01-01",
    "1899-12-31",
    "1900-01-01T00:30:00+02:00",
    "9999-12-30",
    "9999-12-31",
    "9999-12-31T23:00:00-05:00",  # in year 10000 in UTC
    "0001-01-01T00:00:00+14:00",
    "٢٠٢٤-٠٦-١٥",  # other digits
    "15/06/2024",
    "2999-01-01",
    "x",
]


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Pacific/Kiritimati"])
def test_the_vector_form_of_a_moment_reads_every_cell_as_the_cell_parser(zone):
    """The columnar lane reads dates and times by columns: every cell it accepts has the value
    the cell parser gives, and every cell the parser refuses is refused (the row path then
    tells why)."""
    import polars as pl

    from registrar.bulk import columnar, parsers

    with timezone.override(zone):
        parse = parsers.datetime_(past=True)
        values, ok = columnar._vector(parse, pl.Series(MOMENT_CELLS, dtype=pl.String))
        fast = parse.vector_values(pl.Series(MOMENT_CELLS, dtype=pl.String))[1].to_list()
        for cell, value, accepted, quick in zip(MOMENT_CELLS, values, ok, fast, strict=True):
            try:
                want = parse.fn(cell)
            except parsers.CellError:
                assert not accepted and not quick, cell
                continue
            # The same instant (an ambiguous local time is never == one in another zone).
            assert accepted and value.timestamp() == want.timestamp(), (cell, value, want)
        # The plain forms are read by columns, not cell by cell.
        assert fast[:2] == [True, True] and fast[3:7] == [True] * 4


@pytest.mark.parametrize("zone", ["Europe/Paris", "Pacific/Kiritimati"])
@pytest.mark.parametrize("past", [True, False])
def test_the_vector_form_of_a_date_reads_every_cell_as_the_cell_parser(zone, past):
    """Days are read by columns too: every cell the vector form accepts has the cell parser's
    value, every cell the parser refuses is refused, and the plain forms are read by columns."""
    import polars as pl

    from registrar.bulk import parsers

    today = timezone.localdate()
    cells = [*MOMENT_CELLS, str(today), str(today + timedelta(days=1)), "2024/02/29", "2023-02-29"]
    with timezone.override(zone), parsers.date_order("dmy"):
        parse = parsers.date_(past=past)
        values, ok = parse.vector_values(pl.Series(cells, dtype=pl.String))
        for cell, value, accepted in zip(cells, values, ok, strict=True):
            try:
                want = parse.fn(cell)
            except parsers.CellError:
                assert not accepted, cell
                continue
            assert not accepted or value == want, (cell, value, want)
        read = dict(zip(cells, ok.to_list(), strict=True))
        assert read["2024-06-15"] and read["2024/02/29"] and not read["2023-02-29"]
        assert read["1900-01-01"] and not read["1899-12-31"]
