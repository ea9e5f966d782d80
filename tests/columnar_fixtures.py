"""What the columnar lane's tests share: one file through the lane and, undone, the row path."""

from registrar.journal.undo import undo


def run_both(run_import, monkeypatch, kind, header, rows, state, bulk_rows=3, **kw):
    """`rows` of `kind` (an ImportKind class) through the lane, undone, then through the row
    path: (the lane's report, its results rows, `state()` after it, the row path's report,
    `state()` after it). The lane must have written at least `bulk_rows` rows in bulk."""
    planned = []
    bulk = kind.apply_columns

    def spy(self, cols, ctx):
        out = bulk(self, cols, ctx)
        planned.append(len(cols))  # written: a failed write sends the rows to the row path
        return out

    monkeypatch.setattr(kind, "apply_columns", spy)
    lane = run_import(kind.name, header, rows, **kw)
    assert sum(planned) >= bulk_rows  # the lane did plan rows in bulk
    after_lane, lane_rows = state(), lane.rows
    undo(lane.operation.pk)
    monkeypatch.setattr(kind, "columnar", False)
    row = run_import(kind.name, header, rows, **kw)
    return lane, lane_rows, after_lane, row, state()


def same(both) -> tuple[list, object]:
    """run_both's two runs gave the same results rows, counts and writes: (the rows, the
    state after the lane)."""
    lane, lane_rows, after_lane, row, after_row = both
    assert lane_rows == row.rows
    if after_lane != after_row and isinstance(after_lane, tuple):  # name the part that differs
        for i, (a, b) in enumerate(zip(after_lane, after_row, strict=True)):
            assert (i, a) == (i, b), (i, sorted(set(a) ^ set(b), key=str))
    assert after_lane == after_row
    assert lane.counts == row.counts
    return lane_rows, after_lane
