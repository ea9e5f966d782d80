"""The seen-keys set behind duplicate_row: exact across folds, within and across batches."""

from registrar.bulk import dedupe
from registrar.bulk.dedupe import SeenKeys


def test_duplicate_keys_are_found_across_folds_with_their_first_row(monkeypatch):
    monkeypatch.setattr(dedupe, "YOUNG_MAX", 3)
    seen = SeenKeys()
    for batch_start in range(0, 12, 4):
        hashes = [hash(("k", i)) for i in range(batch_start, batch_start + 4)]
        assert seen.first_rows(hashes) == [None] * 4
        for i, h in enumerate(hashes):
            seen.add(h, batch_start + i + 2)
        seen.settle()
    assert len(seen.keys) >= 8  # folded into the compact arrays
    assert seen.first_rows([hash(("k", 0)), hash(("k", 11)), hash(("k", 99))]) == [2, 13, None]


def test_the_vector_form_finds_each_first_row_over_many_batches_of_every_size():
    """The lane's form (first_rows_array) over 60 batches, its parts merged as they grow: each
    key's first row, as a dict of every key seen would say, and few parts kept."""
    import numpy as np

    rng = np.random.default_rng(15)
    seen, first = SeenKeys(), {}
    row = 0
    for _ in range(60):
        n = int(rng.integers(1, 3000))
        hashes = rng.integers(0, 40_000, n).astype(np.int64)
        rows = np.arange(row + 1, row + 1 + n, dtype=np.int64)
        row += n
        want = []
        for h, r in zip(hashes.tolist(), rows.tolist(), strict=True):
            want.append(first.get(h, -1))
            first.setdefault(h, r)
        assert seen.first_rows_array(hashes, rows).tolist() == want
    assert len(seen.parts) <= 12


def test_the_vector_forms_parts_stop_merging_at_their_limit(monkeypatch):
    import numpy as np

    monkeypatch.setattr(dedupe, "MERGE_MAX", 1000)
    seen = SeenKeys()
    for b in range(20):
        hashes = np.arange(b * 500, (b + 1) * 500, dtype=np.int64)
        assert (seen.first_rows_array(hashes, hashes + 1) == -1).all()
    assert all(len(k) <= 1000 for k, _ in seen.parts) and len(seen.parts) <= 11
    again = np.arange(0, 10_000, 7, dtype=np.int64)
    assert seen.first_rows_array(again, again + 20_000).tolist() == (again + 1).tolist()
