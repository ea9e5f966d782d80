"""What a step of the pipeline declares (an import kind: columns and options; an action: see
bulk.action), and the Row it works on."""

from collections.abc import Callable
from dataclasses import dataclass, field

from . import parsers
from .codes import CODES, ERROR, SKIP

CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, REJECTED = (
    "created",
    "updated",
    "deleted",
    "unchanged",
    "skipped",
    "rejected",
)
RESULTS = (CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, REJECTED)


@dataclass
class Column:
    """One column: header name, aliases, parser, whether its value (and header) is required."""

    name: str
    parse: Callable = field(default_factory=lambda: parsers.text(255))
    required: bool = False
    aliases: tuple[str, ...] = ()
    header_required: bool | Callable[[dict], bool] | None = None
    secret: bool = False
    help: str = ""
    example: str = ""

    def header_is_required(self, options: dict) -> bool:
        hr = self.header_required
        if hr is None:
            return self.required
        return hr(options) if callable(hr) else hr


@dataclass
class Option:
    """A `--set name=value` option: boolean when the default is, else one of `choices` or free text."""

    name: str
    default: object = False
    help: str = ""
    choices: tuple[str, ...] | None = None

    def parse(self, raw: str):
        if isinstance(self.default, bool):
            low = raw.strip().lower()
            if low in parsers.YES:
                return True
            if low in parsers.NO:
                return False
            raise ValueError(f"expects yes or no, not {raw!r}")
        if self.choices and not raw.strip() and "" not in self.choices:
            return self.default  # an empty value (a form field left blank): the default
        if self.choices and raw not in self.choices:
            raise ValueError(f"expects one of {', '.join(self.choices)}, not {raw!r}")
        return raw


class Row:
    """An input row on its way through the pipeline."""

    __slots__ = ("number", "cells", "values", "result", "issues", "data")

    def __init__(self, number: int, cells: list[str]):
        self.number = number
        self.cells = cells
        self.values: dict = {}
        self.result: str | None = None
        self.issues: list[tuple[str, dict]] = []
        self.data: dict = {}

    def add(self, code: str, **params) -> None:
        self.issues.append((code, params))
        sev = CODES[code].severity
        if sev == ERROR:
            self.result = REJECTED
        elif sev == SKIP and self.result != REJECTED:
            self.result = SKIPPED

    reject = warn = skip = add

    @property
    def ok(self) -> bool:
        return self.result not in (REJECTED, SKIPPED)

    def codes(self) -> str:
        seen = dict.fromkeys(c for c, _ in self.issues)
        return " ".join(seen)

    def message(self) -> str:
        return "; ".join(CODES[c].format(**p) for c, p in self.issues)

    def warnings(self) -> int:
        return sum(1 for c, _ in self.issues if CODES[c].severity == "warning")


class Step:
    """What the pipeline runs over a batch of rows: an import kind (rows from a file) or an action
    (rows from a selection). Subclasses declare; the engine does everything else."""

    operation = ""  # the journal's operation kind, and the source feeding it: import or action
    name: str = ""
    title: str = ""
    description: str = ""
    domain: str = (
        "learning"  # the permission that lets a role run it: directory, catalogue, learning
    )
    whole_file = False  # plan all rows at once: rows may refer to rows later in the input

    def resolve(self, rows: list[Row], ctx) -> dict:
        """Load what the rows refer to: one query per referenced table for the whole batch."""
        return {}

    def plan(self, rows: list[Row], refs: dict, ctx) -> None:
        """Decide each row's result and codes; stage writes in row.data."""
        raise NotImplementedError

    def apply(self, rows: list[Row], refs: dict, ctx) -> None:
        """Write the planned rows through the domain verbs (set-based, journalled)."""
        raise NotImplementedError

    def notify(self, rows: list[Row], ctx) -> None:
        """After apply, in the batch's transaction: the mails of the applied rows (actions)."""

    def finish(self, ctx) -> None:
        """After the last batch: settle references to rows later in the input (ctx.amend)."""


class ImportKind(Step):
    """Base of every import kind: its columns, options and example file."""

    operation = "import"
    columns: list[Column] = []
    options: list[Option] = []
    key: tuple[str, ...] = ()  # a row's identity in the file (duplicate_row)
    template: list[dict] = []  # the example file's rows

    def check_options(self, options: dict) -> None:
        """Refuse options that cannot work, before any row is read: raise
        FileError("invalid_option", option=..., reason=...) (exit status 2)."""
