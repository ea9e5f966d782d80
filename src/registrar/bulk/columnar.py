"""The columnar lane of the pipeline: a batch of file rows kept as columns, its cells checked by
vector operations. Only rows that carry a code (or that the kind cannot plan in bulk) become Row
objects and take the row path, so every code and message stays the row path's own. A row with
a secret cell (a password) takes the row path too, unless the kind plans that column in bulk
(`columnar_secrets`, a password hash); the results file blanks secrets either way.

A kind joins the lane by setting `columnar = True` and implementing `plan_columns` (which rows
it plans in bulk) and `apply_columns` (their writes, through the domain verbs)."""

import numpy as np
import polars as pl

from . import parsers
from .io.blocks import Block
from .io.writers import FORMULA
from .kind import Row


class Columns:
    """Rows of one batch as columns: input row numbers, cells (a frame of text columns, as
    read), parsed values by column name, and `data` a kind's plan keeps for its apply (columns
    too)."""

    def __init__(
        self,
        numbers: list[int],
        cells: pl.DataFrame,
        values: dict[str, list],
        formulas: list[bool] | None = None,
    ):
        self.numbers, self.cells, self.values = numbers, cells, values
        # Rows with a cell a spreadsheet would evaluate (escaped in the results file).
        self.formulas = formulas if formulas is not None else [False] * len(numbers)
        self.data: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, index: list[int]) -> "Columns":
        """The rows at these positions."""
        return Columns(
            [self.numbers[i] for i in index],
            _gather(self.cells, index),
            {k: [v[i] for i in index] for k, v in self.values.items()},
            [self.formulas[i] for i in index],
        )

    def rows(self) -> list[Row]:
        """The rows as Row objects, parsed (for the row path)."""
        names = list(self.values)
        out = []
        for i, (n, cells) in enumerate(zip(self.numbers, self.cells.rows(), strict=True)):
            r = Row(n, list(cells))
            r.values = {k: self.values[k][i] for k in names}
            out.append(r)
        return out


def _gather(frame: pl.DataFrame, index) -> pl.DataFrame:
    return frame.select(pl.all().gather(pl.Series(index, dtype=pl.UInt32)))


def pick(lane: Columns, frame: pl.DataFrame, pairs: set) -> tuple[Columns, list, Columns]:
    """The lane's rows whose (uid, cid) in `frame` (with the lane's row index `i`) is one of
    `pairs`, in row order: (those rows, their pairs, every other row)."""
    uids, cids = frame["uid"].to_list(), frame["cid"].to_list()
    chosen = [
        (i, pair)
        for i, pair in zip(frame["i"].to_list(), zip(uids, cids, strict=True), strict=True)
        if pair in pairs
    ]
    taken = {i for i, _ in chosen}
    rest = lane.take([i for i in range(len(lane)) if i not in taken])
    return lane.take([i for i, _ in chosen]), [pair for _, pair in chosen], rest


def _vector(parse, cells: pl.Series) -> tuple[list | None, pl.Series]:
    """(parsed values or None when the cells are kept as they are, the cells accepted) for one
    column. A parser's vector form reads what it can (`vector`: cells kept as they are;
    `vector_values`: cells read into values); the cells it leaves, and every cell of a parser
    without one, are read by the parser itself, once per distinct cell."""
    check = getattr(parse, "vector", None)
    if check is not None:
        return None, check(cells)
    read = getattr(parse, "vector_values", None)
    if read is None:
        values, ok = [None] * len(cells), pl.Series([False] * len(cells), dtype=pl.Boolean)
    else:
        values, ok = read(cells)
    rest = ok.not_().arg_true()
    if not len(rest):
        return values, ok
    left = cells.gather(rest)
    parsed = {}
    for s in left.unique().to_list():
        try:
            parsed[s] = (True, parse(s))
        except parsers.CellError:
            parsed[s] = (False, None)
    accepted = ok.to_list()
    for i, s in zip(rest.to_list(), left.to_list(), strict=True):
        accepted[i], values[i] = parsed[s]
    return values, pl.Series(accepted, dtype=pl.Boolean)


def split(source, block: Block, ctx) -> tuple[Columns, list[Row]]:
    """The block's rows whose every cell parses and whose key is new, as Columns; the others as
    Row objects parsed and coded by the row path (bulk.sources.FileSource), in row order."""
    frame = block.frame
    n = len(frame)
    good = pl.Series([True] * n, dtype=pl.Boolean)
    values: dict[str, list] = {}
    series = frame.get_columns()
    for name, pos, parse, required, _secret in source.spec:
        if pos is None:
            values[name] = [None] * n
            if required:
                good = pl.Series([False] * n, dtype=pl.Boolean)
            continue
        cells = series[pos]
        empty = cells == ""
        if not required and empty.all():  # a column the file leaves empty (wide files)
            values[name] = [None] * n
            continue
        parsed, ok = _vector(parse, cells)
        good = good & ((ok & ~empty) if required else (empty | ok))
        if parsed is None:  # the cells as they are, an empty one None
            values[name] = pl.select(pl.when(~empty).then(cells)).to_series().to_list()
        elif empty.any():
            values[name] = [None if e else v for e, v in zip(empty.to_list(), parsed, strict=True)]
        else:
            values[name] = parsed
    # A secret cell takes the row path unless the kind plans it in bulk (`columnar_secrets`);
    # either way no file shows it (the results file blanks it).
    planned_secrets = {
        source.mapping.positions.get(name) for name in getattr(source.kind, "columnar_secrets", ())
    }
    for pos in source.secret_positions - planned_secrets:
        if pos < len(series):
            good = good & (series[pos] == "")
    formula = pl.Series([False] * n, dtype=pl.Boolean)
    for col in series:
        formula = formula | col.str.contains(FORMULA)
    numbers = block.numbers
    if good.all():  # every row in the lane (the usual file): nothing to pick
        keep = None
        lane = Columns(numbers.tolist(), frame, values, formula.to_list())
    else:
        keep = good.arg_true()
        index = keep.to_list()
        lane = Columns(
            numbers[index].tolist(),
            _gather(frame, keep),
            {k: [v[i] for i in index] for k, v in values.items()},
            formula.gather(keep).to_list(),
        )
    bad = good.not_().arg_true()
    raw = [
        (int(numbers[i]), list(cells))
        for i, cells in zip(bad.to_list(), _gather(frame, bad).rows(), strict=True)
    ]
    slow = source.parse_rows(sorted(raw + block.odd))
    # Keys in row order over both kinds of rows: the first row with a key keeps it (row path).
    if source.key_cols:
        keys = [
            (series[p] if keep is None else series[p].gather(keep)).str.to_lowercase()
            if p is not None
            else pl.Series([""] * len(lane), dtype=pl.String)
            for p in source.key_cols
        ]
        lane, more = _duplicates(source, lane, slow, keys)
        slow = sorted(slow + more, key=lambda r: r.number)
    return lane, slow


def _duplicates(source, lane: Columns, slow: list[Row], keys: list[pl.Series]):
    """Find the repeated keys of the batch (both kinds of rows, in row order: the first row with
    a key keeps it, as on the row path); the lane's rows that repeat one leave it as coded rows.
    `keys`: the lane's key columns, lower-cased."""
    coded = [r for r in slow if r.result is None]
    positions = source.key_cols
    frame = pl.DataFrame(
        {
            "n": pl.Series([*lane.numbers, *(r.number for r in coded)], dtype=pl.Int64),
            **{
                f"k{j}": pl.concat(
                    [
                        keys[j],
                        pl.Series([_cell(r.cells, p).lower() for r in coded], dtype=pl.String),
                    ]
                )
                for j, p in enumerate(positions)
            },
        }
    ).sort("n")
    numbers = frame["n"].to_numpy()
    hashes = frame.drop("n").hash_rows(seed=0).to_numpy().view(np.int64)
    first = source.seen.first_rows_array(hashes, numbers)
    repeated = {int(n): int(f) for n, f in zip(numbers, first, strict=True) if f != -1}
    if not repeated:
        return lane, []
    label = "/".join(source.kind.key)
    for r in coded:
        if r.number in repeated:
            r.add("duplicate_row", key=label, first=repeated[r.number])
    stay = [i for i, n in enumerate(lane.numbers) if n not in repeated]
    gone = [i for i, n in enumerate(lane.numbers) if n in repeated]
    more = lane.take(gone).rows()
    for r in more:
        r.add("duplicate_row", key=label, first=repeated[r.number])
    return lane.take(stay), more


def _cell(cells: list[str], p: int | None) -> str:
    return cells[p] if p is not None and p < len(cells) else ""
