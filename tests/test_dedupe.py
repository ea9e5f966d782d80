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
