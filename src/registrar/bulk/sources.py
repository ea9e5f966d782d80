"""Where the pipeline's rows come from: a file (read, map, parse, preview) or a selection (the
selected items' ids in batches, times the action's objects). The engine (bulk.engine) runs the
same operation, lock, batches, verify-only, progress and report over either."""

import os
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.core import lookups
from registrar.journal import service

from . import checks, parsers, references
from .action import ITEM_COLUMN, OBJECT_COLUMN, Action
from .dedupe import SeenKeys
from .io.blocks import Block
from .io.readers import FileError, Table, check_encoding, open_table
from .kind import ImportKind, Option, Row
from .parsers import CellError

ENGINE_OPTIONS = [
    Option(
        "delimiter",
        "",
        gettext_lazy("CSV separator: ; or , (detected when empty)"),
        choices=("", ";", ",", "\t", "tab"),
    ),
    Option(
        "encoding",
        "",
        gettext_lazy("CSV encoding, e.g. utf-8, utf-16, cp1252 (detected when empty)"),
    ),
    Option(
        "header",
        True,
        gettext_lazy("The first line is a header row (no: columns in the documented order)"),
    ),
    Option(
        "date_order",
        "ymd",
        gettext_lazy(
            "How dates such as 05/06/2024 are read in every date column: ymd (year first), dmy (day first: 15/06/2024, 15.06.2024, 15-06-2024) or mdy (month first: 06/15/2024); ISO 8601 and YYYY/MM/DD are read whatever the order"
        ),
        choices=parsers.DATE_ORDERS,
    ),
]

FILE_RESULT_COLUMNS = ["row", "result", "codes", "message"]
SELECTION_RESULT_COLUMNS = ["result", "codes", "message"]
# Words of an unknown column's header that make it a secret all the same (left out of every file).
SECRET_WORDS = ("pass", "pasw", "pwd", "motdepasse", "mdp", "secret", "token")


def normalise(header: str) -> str:
    """Headers match case-, space-, underscore- and hyphen-insensitively."""
    return "".join(ch for ch in header.lower() if ch not in " _-\t\ufeff")


def parse_options(kind: ImportKind, raw: dict[str, str]) -> dict:
    """Engine and kind options from `--set` strings, with defaults; unknown names are refused."""
    specs = {o.name: o for o in ENGINE_OPTIONS + kind.options}
    out = {o.name: o.default for o in specs.values()}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None:
            raise FileError(
                "invalid_option",
                option=name,
                reason=f"not an option of {kind.name}; options: {', '.join(specs)}",
            )
        try:
            out[name] = spec.parse(value)
        except ValueError as e:
            raise FileError("invalid_option", option=name, reason=str(e)) from None
    if out["delimiter"] == "tab":
        out["delimiter"] = "\t"
    if out["encoding"]:
        check_encoding(out["encoding"])
    return out


class Mapping:
    """Which file column feeds which kind column; unknown and missing columns."""

    def __init__(self, kind: ImportKind, headers: list[str] | None, options: dict):
        self.unknown: list[str] = []
        self.positions: dict[str, int] = {}
        unknown_secrets: set[int] = set()
        if headers is None:  # no header row: the documented column order
            self.headers = [c.name for c in kind.columns]
            self.positions = {c.name: i for i, c in enumerate(kind.columns)}
        else:
            self.headers = headers
            lookup = {}
            for c in kind.columns:
                for alias in (c.name, *c.aliases):
                    lookup[normalise(alias)] = c.name
            for i, h in enumerate(headers):
                if not h:
                    continue
                name = lookup.get(normalise(h))
                if name is None:
                    self.unknown.append(h)
                    if any(w in normalise(h) for w in SECRET_WORDS):
                        unknown_secrets.add(i)
                elif name in self.positions:
                    raise FileError("duplicate_column", column=h)
                else:
                    self.positions[name] = i
        self.missing = [
            c.name
            for c in kind.columns
            if c.name not in self.positions and c.header_is_required(options)
        ]
        # A misspelt password column (`user_pasword`) is unknown, and still a secret.
        self.secret_positions = unknown_secrets | {
            self.positions[c.name] for c in kind.columns if c.secret and c.name in self.positions
        }


def open_input(
    path: str, kind: ImportKind, options: dict, allow_missing: bool = False
) -> tuple[Table, Mapping]:
    """Open the file and map its header; a missing required column is a file error unless
    `allow_missing` (the preview names it instead)."""
    table = open_table(
        path,
        header=options["header"],
        delimiter=options["delimiter"] or None,
        encoding=options["encoding"] or None,
    )
    if options["header"] and not table.headers:
        table.close()
        raise FileError("empty_file")
    mapping = Mapping(kind, table.headers if options["header"] else None, options)
    if mapping.missing and not allow_missing:
        table.close()
        raise FileError("missing_column", column=", ".join(mapping.missing))
    return table, mapping


def preview(kind_name: str, path: str, raw_options: dict[str, str] | None = None, **kw) -> dict:
    """How the first rows are read, column by column, before anything runs (SPEC §2.2)."""
    from .preview import preview as read

    return read(kind_name, path, raw_options, **kw)


class FileSource:
    """Rows of an import file: opened and mapped at once (a missing column is a file error), each
    batch's cells parsed and its duplicate keys found."""

    result_columns = FILE_RESULT_COLUMNS

    def __init__(self, kind: ImportKind, path: str, raw_options: dict[str, str]):
        self.kind = kind
        self.path = path
        self.options = parse_options(kind, raw_options or {})
        kind.check_options(self.options)
        self.table, self.mapping = open_input(path, kind, self.options)
        t = self.table
        self.fmt = "csv" if t.format == "csv" else "xlsx"
        self.delimiter, self.encoding, self.has_header = t.delimiter, t.encoding, t.has_header
        self.headers = self.mapping.headers
        self.secret_positions = self.mapping.secret_positions
        self.unknown = self.mapping.unknown
        self.present = set(self.mapping.positions)
        self.batch_size = None  # the engine's, unless the kind plans the whole file at once
        self.spec = [
            (c.name, self.mapping.positions.get(c.name), c.parse, c.required, c.secret)
            for c in kind.columns
        ]
        self.key_cols = [self.mapping.positions.get(k) for k in kind.key]
        self.seen = SeenKeys()

    def journal(self) -> dict:
        """What the operation records of its input."""
        return {
            "options": dict(self.options),
            "file_name": os.path.basename(self.path),
            "file_checksum": service.file_checksum(self.path),
        }

    @property
    def total(self) -> int | None:
        return self.table.total

    def fraction(self, done: int) -> float | None:
        return self.table.fraction()

    def rows(self) -> Iterator[Row]:
        for number, cells in self.table.rows():
            yield Row(number, cells)

    def label(self, r: Row) -> str:
        return _("row %(n)s") % {"n": r.number}

    def empty(self) -> FileError:
        return FileError("empty_file")

    def refresh(self, rows: list[Row], ctx) -> list[Row]:
        """Nothing to read again: the kind's resolve reads the database afresh each attempt."""
        return rows

    def prepare(self, rows: list[Row], ctx) -> None:
        """Parse each cell to a typed value or a code; reject keys seen earlier in the file."""
        with parsers.date_order(self.options["date_order"]):
            self._parse(rows)
        if self.key_cols:
            self._duplicates(rows)

    def _parse(self, rows: list[Row]) -> None:
        spec = self.spec
        for r in rows:
            cells, vals, n = r.cells, r.values, len(r.cells)
            for name, pos, parse, required, secret in spec:
                s = cells[pos] if pos is not None and pos < n else ""
                if not s:
                    vals[name] = None
                    if required:
                        r.add("missing_value", column=name)
                    continue
                try:
                    vals[name] = parse(s)
                except CellError as e:
                    r.add(e.code, column=name, value="••••••" if secret else s, **e.params)
                    vals[name] = None

    def _duplicates(self, rows: list[Row]) -> None:
        keyed = [r for r in rows if r.result is None]
        firsts = self.first_rows([(r.number, r.cells) for r in keyed])
        for r, first in zip(keyed, firsts, strict=True):
            if first is not None:
                r.add("duplicate_row", key="/".join(self.kind.key), first=first)

    def first_rows(self, keyed: list[tuple[int, list[str]]]) -> list[int | None]:
        """For each (row number, cells), in row order: the earlier row with the same key (case
        ignored), or None when the key is new (it is remembered)."""
        key_cols, seen = self.key_cols, self.seen
        hashes = [
            hash(
                tuple(
                    cells[p].lower() if p is not None and p < len(cells) else "" for p in key_cols
                )
            )
            for _, cells in keyed
        ]
        out = []
        for (number, _cells), h, first in zip(keyed, hashes, seen.first_rows(hashes), strict=True):
            first = first if first is not None else seen.young.get(h)  # earlier in this batch
            if first is None:
                seen.add(h, number)
            out.append(first)
        seen.settle()
        return out

    @property
    def columnar(self) -> bool:
        """Whether this file can take the columnar lane (bulk.columnar): a CSV file, for a kind
        that plans in bulk (a row with a secret cell takes the row path)."""
        return (
            settings.REGISTRAR_COLUMNAR
            and getattr(self.kind, "columnar", False)
            and self.fmt == "csv"
        )

    def blocks(self, size: int) -> Iterator[Block]:
        """The file's rows as columns, in blocks of `size` rows (the columnar lane)."""
        return self.table.blocks(len(self.headers), size)

    def parse_rows(self, raw: list[tuple[int, list[str]]]) -> list[Row]:
        """Rows of the row path, parsed (their keys are checked by the caller)."""
        rows = [Row(n, cells) for n, cells in raw]
        with parsers.date_order(self.options["date_order"]):
            self._parse(rows)
        return rows

    def split(self, block: Block, ctx):
        """The batch as columns for the columnar lane, and the rows for the row path."""
        from .columnar import split

        with parsers.date_order(self.options["date_order"]):
            return split(self, block, ctx)

    def close(self) -> None:
        self.table.close()


# The fields of a selected item the engine loads for every action (the step loads the rest).
ITEM_TYPE = {"users": "user", "courses": "course", "curricula": "curriculum"}
MISSING = {
    "users": "user_not_found",
    "courses": "course_not_found",
    "curricula": "curriculum_not_found",
}


class SelectionSource:
    """Rows of an action: each selected item (times each of the action's objects), in batches of
    ids. The parameters are read and checked, and the selection resolved in one query, before
    anything runs; an explicit identifier that names nothing is a rejected row. The engine checks
    each item's scope (out_of_scope) and, for actions on learners, that the user can learn."""

    result_columns = SELECTION_RESULT_COLUMNS
    fmt, delimiter, encoding, has_header = "csv", ",", "utf-8-sig", True
    secret_positions: set[int] = set()
    unknown: list[str] = []
    present: set[str] = set()
    batch_size = None

    def __init__(
        self,
        action: Action,
        selection,
        raw_params: dict | None,
        scope_ids: set[int] | None,
    ):
        from .selection import Selection, check, resolve

        self.action = action
        self.raw_params = raw_params or {}
        self.options = action.parse_params(self.raw_params)
        own = action.own_selection(self.options)  # statistics.set: the user its `user` names
        self.selection = own or selection or Selection(target=action.target)
        if own is None and self.selection.target != action.target:
            raise FileError(
                "invalid_parameter",
                key="selection",
                reason=f"selects {self.selection.target}, but {action.name} acts on {action.target}",
            )
        check(self.selection)
        found = resolve(self.selection, scope_ids)
        self.ids, self.missing = found.ids, found.missing
        self.objects = action.objects(self.options)
        if not self.ids and not self.missing:
            raise FileError("empty_selection", target=action.target)
        self.headers = [ITEM_COLUMN[self.selection.target]]
        if action.per:
            self.headers.append(OBJECT_COLUMN[action.per_type])
        self.total = (len(self.ids) + len(self.missing)) * len(self.objects)

    def journal(self) -> dict:
        from registrar.journal.writes import snapshot

        return {
            "options": {
                "params": snapshot(self.raw_params),
                "selection": self.selection.to_json(),
                "selected": len(self.ids),
            },
            "file_name": "",
            "file_checksum": "",
        }

    def fraction(self, done: int) -> float | None:
        return done / self.total if self.total else None

    def rows(self) -> Iterator[Row]:
        number = 0
        for name in self.missing:
            for obj in self.objects:
                number += 1
                r = Row(number, [name] + ([self.action.object_label(obj)] if obj else []))
                r.values = {"missing": name, "object": obj}
                yield r
        for pk in self.ids:
            for obj in self.objects:
                number += 1
                r = Row(number, [])
                r.values = {"id": pk, "object": obj}
                yield r

    def label(self, r: Row) -> str:
        return ", ".join(c for c in r.cells if c) or _("item %(n)s") % {"n": r.number}

    def empty(self) -> FileError:
        return FileError("empty_selection", target=self.action.target)

    def prepare(self, rows: list[Row], ctx) -> None:
        """Load the batch's items (one query), name each row, check scope and learners."""
        action = self.action
        target = self.selection.target
        type_ = ITEM_TYPE[target]
        rule = references.RULES[type_]
        ids = {r.values["id"] for r in rows if "id" in r.values}
        fields = dict.fromkeys((*rule.fields, *action.item_fields))
        items = lookups.by_key(rule.model, "id", ids, *fields) if ids else {}
        key = rule.key
        for r in rows:
            v, obj = r.values, r.values["object"]
            extra = [action.object_label(obj)] if obj else []
            if "missing" in v:
                r.reject(MISSING[target], column=key, value=v["missing"])
                continue
            item = items.get(v["id"])
            if item is None:  # deleted since the selection was resolved
                r.cells = [str(v["id"]), *extra]
                r.reject(MISSING[target], column=key, value=str(v["id"]))
                continue
            r.cells = [item[key], *extra]
            v["item"] = item
            v[type_] = item
            if type_ == "user":
                checks.usable(r, item, item["login"], ctx, learning=action.learners)

    def refresh(self, rows: list[Row], ctx) -> list[Row]:
        """The batch's items read again (another operation changed them meanwhile): the rows
        still to plan (an item deleted since is rejected)."""
        for r in rows:
            r.result, r.data, r.issues = None, {}, []
        self.prepare(rows, ctx)
        return [r for r in rows if r.result is None]

    def close(self) -> None:
        pass
