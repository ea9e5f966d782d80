"""Rows of a file as columns (Blocks), for the pipeline's columnar lane: the rows as wide as the
header in one frame of text columns, the few others as lists, and blocks cut to a batch size."""

from collections.abc import Iterable, Iterator

import numpy as np
import polars as pl


def names(width: int) -> list[str]:
    """The frame's column names: c0, c1, ... (headers may repeat or be empty)."""
    return [f"c{i}" for i in range(width)]


class Block:
    """Data rows of a file: `numbers` (record numbers, increasing) and `frame` (one String
    column per header cell, trimmed) for the rows of the header's width; `odd` (number, cells)
    for the others (a short or long row), which take the row path."""

    def __init__(self, numbers: np.ndarray, frame: pl.DataFrame, odd: list[tuple[int, list]]):
        self.numbers, self.frame, self.odd = numbers, frame, odd

    def __len__(self) -> int:
        return len(self.numbers) + len(self.odd)

    @classmethod
    def empty(cls, width: int) -> "Block":
        return cls(np.empty(0, dtype=np.int64), _frame([[] for _ in range(width)], width), [])

    @classmethod
    def of_rows(cls, rows: list[tuple[int, list[str]]], width: int) -> "Block":
        """A block of (number, cells) rows as a reader yields them."""
        even = [(n, cells) for n, cells in rows if len(cells) == width]
        odd = (
            [(n, cells) for n, cells in rows if len(cells) != width]
            if len(even) < len(rows)
            else []
        )
        columns = [list(col) for col in zip(*(c for _, c in even), strict=True)] if even else None
        return cls(
            np.fromiter((n for n, _ in even), dtype=np.int64, count=len(even)),
            _frame(columns or [[] for _ in range(width)], width),
            odd,
        )

    def split(self, k: int) -> tuple["Block", "Block"]:
        """(the first k rows, the others)."""
        if k >= len(self):
            return self, Block.empty(self.frame.width)
        if not self.odd:
            return (
                Block(self.numbers[:k], self.frame.slice(0, k), []),
                Block(self.numbers[k:], self.frame.slice(k), []),
            )
        every = np.sort(np.concatenate([self.numbers, [n for n, _ in self.odd]]))
        last = every[k - 1]  # the k-th row's number: rows up to it go first
        cut = int(np.searchsorted(self.numbers, last, side="right"))
        odd = [r for r in self.odd if r[0] <= last]
        return (
            Block(self.numbers[:cut], self.frame.slice(0, cut), odd),
            Block(self.numbers[cut:], self.frame.slice(cut), self.odd[len(odd) :]),
        )


def _frame(columns: list[list[str]], width: int) -> pl.DataFrame:
    return pl.DataFrame(
        {n: pl.Series(col, dtype=pl.String) for n, col in zip(names(width), columns, strict=True)}
    )


def concat(blocks: list[Block]) -> Block:
    if len(blocks) == 1:
        return blocks[0]
    return Block(
        np.concatenate([b.numbers for b in blocks]),
        pl.concat([b.frame for b in blocks], rechunk=True),
        [r for b in blocks for r in b.odd],
    )


def cut(pieces: Iterable[Block], size: int) -> Iterator[Block]:
    """The pieces' rows again, in blocks of `size` rows (the last may hold fewer)."""
    held: list[Block] = []
    count = 0
    for piece in pieces:
        while len(piece):
            first, piece = piece.split(size - count)
            held.append(first)
            count += len(first)
            if count == size:
                yield concat(held)
                held, count = [], 0
    if count:
        yield concat(held)
