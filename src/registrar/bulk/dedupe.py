"""The keys seen so far in a file (duplicate_row), in memory flat in the file's size.

Recent keys sit in a dict; every so often they are folded into two sorted numpy arrays (key
hash, first row), 16 bytes a key instead of about 100 for a dict entry.
"""

import numpy as np

YOUNG_MAX = 100_000
# The vector form merges its parts up to this many keys: more parts past it, but no copy of
# every key seen (memory stays flat in the file's size).
MERGE_MAX = 250_000


class SeenKeys:
    def __init__(self) -> None:
        self.young: dict[int, int] = {}
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []  # the vector form's sorted parts

    def first_rows(self, hashes: list[int]) -> list[int | None]:
        """For each hash: the row that had it first (earlier batches), or None."""
        found: list[int | None] = [self.young.get(h) for h in hashes]
        if len(self.keys) and hashes:
            probe = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
            at = np.searchsorted(self.keys, probe)
            at[at == len(self.keys)] = 0
            hit = self.keys[at] == probe
            for i in np.flatnonzero(hit):
                if found[i] is None:
                    found[i] = int(self.rows[at[i]])
        return found

    def add(self, h: int, row: int) -> None:
        self.young.setdefault(h, row)

    def settle(self) -> None:
        """Between batches: fold the recent keys into the compact arrays once there are many."""
        if len(self.young) >= YOUNG_MAX:
            self._fold()

    def _fold(self) -> None:
        keys = np.fromiter(self.young.keys(), dtype=np.int64, count=len(self.young))
        rows = np.fromiter(self.young.values(), dtype=np.int64, count=len(self.young))
        keys, rows = np.concatenate([self.keys, keys]), np.concatenate([self.rows, rows])
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], rows[order]
        self.young = {}

    def first_rows_array(self, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Vector form (the columnar lane), for one batch in row order: for each hash the row
        that had it first (an earlier batch, else earlier in this batch), -1 when it is new;
        the new ones are remembered. Use one form or the other for a file, never both.

        Each batch's new keys are kept as a sorted part of their own, probed by binary search;
        a part is merged with the one before it once it is at least half its size (up to
        MERGE_MAX keys), so there are few parts and each key is copied a few times in all."""
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        out = rows[first[inverse.ravel()]]
        out = np.where(out == rows, -1, out)
        seen = np.zeros(len(hashes), dtype=bool)
        for keys, kept in self.parts:
            at = np.searchsorted(keys, hashes)
            at[at == len(keys)] = 0
            hit = (keys[at] == hashes) & ~seen
            out = np.where(hit, kept[at], out)
            seen |= hit
        new = (out == -1) & ~seen
        if new.any():
            order = np.argsort(hashes[new], kind="stable")
            self.parts.append((hashes[new][order], rows[new][order]))
        parts = self.parts
        while (
            len(parts) > 1
            and 2 * len(parts[-1][0]) >= len(parts[-2][0])
            and len(parts[-1][0]) + len(parts[-2][0]) <= MERGE_MAX
        ):
            (k1, r1), (k2, r2) = parts.pop(-2), parts.pop()
            keys, kept = np.concatenate([k1, k2]), np.concatenate([r1, r2])
            order = np.argsort(keys, kind="stable")  # two sorted runs: merged in linear time
            parts.append((keys[order], kept[order]))
        return out
