"""The bulk import pipeline, written once: read → map → parse → resolve → plan → apply → report.

Import kinds only declare columns and options and implement resolve/plan/apply over a batch.
The whole import runs in one transaction: verify-only and all-or-nothing roll it back, so a
verified plan and the real run give the same per-row results.
"""

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.translation import gettext_lazy

from registrar.directory import permissions, tree
from registrar.directory.models import Organisation
from registrar.journal import service, writes
from registrar.journal.models import Operation

from . import imports
from .codes import CODES, WARNING
from .dedupe import SeenKeys
from .io.readers import FileError, Table, check_encoding, open_table
from .io.writers import TableWriter, log_line
from .kind import (
    CREATED,
    DELETED,
    REJECTED,
    RESULTS,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    ImportKind,
    Option,
    Row,
)
from .parsers import CellError

log = logging.getLogger("registrar.bulk")

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
]
RESULT_COLUMNS = ["row", "result", "codes", "message"]
# Words of an unknown column's header that make it a secret all the same (left out of every file).
SECRET_WORDS = ("pass", "pasw", "pwd", "motdepasse", "mdp", "secret", "token")


def normalise(header: str) -> str:
    """Headers match case-, space-, underscore- and hyphen-insensitively."""
    return "".join(ch for ch in header.lower() if ch not in " _-\t\ufeff")


@dataclass
class Request:
    """Everything one import needs; the CLI, the portal and the API all build one of these."""

    kind: str
    path: str
    options: dict[str, str] = field(default_factory=dict)
    verify_only: bool = False
    all_or_nothing: bool = False
    scope: str | None = None  # organisation extid
    actor: object = None
    results_path: str | None = None
    rejects_path: str | None = None
    log_path: str | None = None
    progress: Callable | None = None  # progress(done_rows, total_or_None, fraction_or_None)
    on_operation: Callable | None = None  # on_operation(op), once the operation row exists


@dataclass
class Report:
    operation: Operation
    counts: dict
    file_warnings: list[str]
    results_path: str
    rejects_path: str
    log_path: str

    def summary(self) -> dict:
        op = self.operation
        return {"operation": op.pk, "kind": op.name, "verify_only": op.verify_only, **self.counts}


class Context:
    """What a kind sees of the running import."""

    def __init__(
        self,
        kind: ImportKind,
        options: dict,
        op: Operation,
        scope_ids: set[int] | None,
        verify_only: bool,
        actor=None,
    ):
        self.kind = kind
        self.options = options
        self.op = op
        self.scope_ids = scope_ids
        self.verify_only = verify_only
        self.actor = actor  # None: the command line
        self._granter = None
        self.state: dict = {}
        # What a batch stages for finish(), kept only if its attempt is: a trial run or a failed
        # attempt (rolled back) must not leave ids that the database never kept.
        self.pending: dict = {}
        self.present: set[str] = set()  # the kind's columns that the file has
        self.amendments: dict[int, list[tuple[str, dict]]] = {}
        self.settled: dict[int, str] = {}  # unchanged rows that a forward reference changed

    def settle(self, row_number: int) -> None:
        """An `unchanged` row turned out to change after the last batch (a forward reference)."""
        self.settled[row_number] = UPDATED

    def in_scope(self, org_id: int | None) -> bool:
        return self.scope_ids is None or org_id in self.scope_ids

    @property
    def granter(self) -> permissions.Granter:
        """Which roles the actor may grant, and where (role_not_grantable)."""
        if self._granter is None:
            self._granter = permissions.Granter(self.actor)
        return self._granter

    def amend(self, row_number: int, code: str, **params) -> None:
        """Add a warning to a row already reported (references settled after the last batch).
        Only warnings: the row is applied already, its result cannot change any more."""
        if CODES[code].severity != WARNING:
            raise ValueError(f"{code} is not a warning: only warnings can amend a settled row")
        self.amendments.setdefault(row_number, []).append((code, params))


def get_kind(name: str) -> ImportKind:
    try:
        return imports.KINDS[name]
    except KeyError:
        raise FileError(
            "invalid_option",
            option="KIND",
            reason=f"unknown import kind {name!r}; kinds: {', '.join(imports.KINDS)}",
        ) from None


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


def subtree_ids(root: Organisation) -> set[int]:
    """Ids of an organisation and all its descendants (one query for the whole tree)."""
    return tree.subtree(root.pk)


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
    req: Request, kind: ImportKind, options: dict, allow_missing: bool = False
) -> tuple[Table, Mapping]:
    """Open the file and map its header; a missing required column is a file error unless
    `allow_missing` (the preview names it instead)."""
    table = open_table(
        req.path,
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


def preview(kind_name: str, path: str, raw_options: dict[str, str] | None = None) -> dict:
    """How the first data row is read, column by column, before anything runs (SPEC §2.2)."""
    kind = get_kind(kind_name)
    options = parse_options(kind, raw_options or {})
    kind.check_options(options)
    table, mapping = open_input(Request(kind_name, path), kind, options, allow_missing=True)
    try:
        first = next(iter(table.rows()), None)
    finally:
        table.close()
    if first is None:
        raise FileError("empty_file")
    number, cells = first
    columns = []
    for c in kind.columns:
        pos = mapping.positions.get(c.name)
        raw = cells[pos] if pos is not None and pos < len(cells) else ""
        entry = {
            "column": c.name,
            "header": mapping.headers[pos] if pos is not None else None,
            "value": "••••••" if c.secret and raw else raw,
            "required": c.required,
        }
        if pos is None:
            entry["status"] = "missing_column" if c.name in mapping.missing else "absent"
        elif not raw:
            entry["status"] = "missing_value" if c.required else "empty"
        else:
            try:
                v = c.parse(raw)
                entry["status"], entry["parsed"] = "ok", "••••••" if c.secret else str(v)
            except CellError as e:
                entry["status"] = e.code
        columns.append(entry)
    return {
        "kind": kind.name,
        "row": number,
        "columns": columns,
        "unknown_columns": mapping.unknown,
        "missing_columns": mapping.missing,
        "format": table.format,
        "delimiter": table.delimiter,
        "encoding": table.encoding,
    }


class Reporter:
    """Writes the results, rejects and log files as rows are settled, and keeps the counts."""

    def __init__(self, directory: str, table: Table, mapping: Mapping):
        os.makedirs(directory, exist_ok=True)
        spreadsheet = table.format != "csv"
        ext = "xlsx" if spreadsheet else "csv"
        self.results_path = os.path.join(directory, f"results.{ext}")
        self.rejects_path = os.path.join(directory, f"rejects.{ext}")
        self.log_path = os.path.join(directory, "log.txt")
        fmt = "xlsx" if spreadsheet else "csv"
        self.fmt, self.delimiter = fmt, table.delimiter
        self.secret = mapping.secret_positions
        self.width = len(mapping.headers)
        # Results escape formulas; the rejects keep the input as typed, to be fixed and re-imported.
        self.results = TableWriter(
            self.results_path, fmt, table.delimiter, "utf-8-sig", escape=True
        )
        rejects_encoding = (
            table.encoding if table.encoding.startswith(("utf", "cp", "latin")) else "utf-8-sig"
        )
        self.rejects = TableWriter(self.rejects_path, fmt, table.delimiter, rejects_encoding)
        self.log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        self.results.write([*mapping.headers, *RESULT_COLUMNS])
        if table.has_header:
            self.rejects.write(mapping.headers)
        self.counts = dict.fromkeys(("rows", *RESULTS, "warnings"), 0)

    def masked(self, cells: list[str]) -> list[str]:
        """The row's cells as wide as the header (short rows padded), secrets blanked."""
        width = self.width
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        elif len(cells) > width and not any(cells[width:]):
            cells = cells[:width]  # trailing separators
        if not self.secret:
            return cells
        # Secrets never reach a file: the rejects file leaves them empty to be typed again.
        return ["" if i in self.secret else c for i, c in enumerate(cells)]

    def file_warning(self, text: str) -> None:
        self.log.write(log_line(f"file: {text}") + "\n")

    def rows(self, rows: list[Row]) -> None:
        counts = self.counts
        out = []
        for r in rows:
            counts["rows"] += 1
            counts[r.result] += 1
            cells = self.masked(r.cells)
            if r.issues:
                codes, message = r.codes(), r.message()
                counts["warnings"] += r.warnings()
                for c, p in r.issues:
                    self.log.write(
                        log_line(f"row {r.number}: {CODES[c].severity} {c}: {CODES[c].format(**p)}")
                        + "\n"
                    )
                if r.result == REJECTED:
                    self.rejects.write(cells)
            else:
                codes = message = ""
            # Cells past the header (ignored by the import) would shift the result columns.
            out.append([*cells[: self.width], r.number, r.result, codes, message])
        self.results.write_many(out)

    def close(self) -> None:
        self.results.close()
        self.rejects.close()
        self.log.close()

    def amend(self, amendments: dict[int, list[tuple[str, dict]]], settled: dict[int, str]) -> None:
        """Add warnings settled after the last batch (rare: forward references) to the results
        file and the log, and turn `unchanged` rows that changed then into `updated`. Neither
        touches a rejected row, so the rejects file stays as it is."""
        root, ext = os.path.splitext(self.results_path)
        old = f"{root}.orig{ext}"
        shutil.move(self.results_path, old)
        src = open_table(old, header=True, delimiter=self.delimiter, encoding="utf-8-sig")
        res = TableWriter(self.results_path, self.fmt, self.delimiter, "utf-8-sig", escape=True)
        n = len(RESULT_COLUMNS)
        added: dict[int, list[str]] = {}
        try:
            headers = src.headers or []
            res.write(headers)
            for _, cells in src.rows():
                cells = cells + [""] * (len(headers) - len(cells))
                number = int(cells[-n])
                if number in settled and cells[-3] == UNCHANGED:
                    self.counts[UNCHANGED] -= 1
                    self.counts[settled[number]] += 1
                    cells[-3] = settled[number]
                extra = amendments.get(number)
                if extra:
                    codes, message = cells[-2].split(), cells[-1]
                    codes += [c for c, _ in extra if c not in codes]
                    texts = [CODES[c].format(**p) for c, p in extra]
                    cells[-2] = " ".join(codes)
                    cells[-1] = "; ".join(filter(None, [message, *texts]))
                    self.counts["warnings"] += len(extra)
                    added[number] = [
                        log_line(f"row {number}: {CODES[c].severity} {c}: {text}") + "\n"
                        for (c, _), text in zip(extra, texts, strict=True)
                    ]
                res.write(cells)
        finally:
            src.close()
            res.close()
        os.remove(old)
        with open(self.log_path, encoding="utf-8") as f:
            lines = f.readlines()
        out = []
        for line in lines:  # the log is in row order: each row's new lines go after its own
            number = _log_row(line)
            while added and number is not None and min(added) < number:
                out.extend(added.pop(min(added)))
            out.append(line)
        for number in sorted(added):
            out.extend(added[number])
        with open(self.log_path, "w", encoding="utf-8") as f:
            f.writelines(out)


def _log_row(line: str) -> int | None:
    head = line.split(":", 1)[0]
    return int(head[4:]) if head.startswith("row ") and head[4:].isdigit() else None


def run_import(req: Request) -> Report:
    """Run one import end to end and return its report. Raises FileError when the file is unusable
    (or the database stays busy: database_busy)."""
    try:
        return _run_import(req)
    except DatabaseError as e:
        busy = service.busy_error(e)
        if busy is None:
            raise
        raise busy from None


def _run_import(req: Request) -> Report:
    kind = get_kind(req.kind)
    options = parse_options(kind, req.options)
    kind.check_options(options)
    scope_org = None
    if req.scope:
        scope_org = Organisation.objects.filter(extid=req.scope).first()
        if scope_org is None:
            raise FileError(
                "invalid_option",
                option="scope",
                reason=f"no organisation has the external id {req.scope!r}",
            )
    table, mapping = open_input(req, kind, options)
    try:
        op = service.start_operation(
            "import",
            kind.name,
            req.actor,
            verify_only=req.verify_only,
            scope=scope_org,
            options={**{k: v for k, v in options.items()}, "all_or_nothing": req.all_or_nothing},
            file_name=os.path.basename(req.path),
            file_checksum=service.file_checksum(req.path),
        )
    except BaseException:
        table.close()
        raise
    if req.on_operation:
        req.on_operation(op)
    scope_key = req.scope or "*"
    try:
        service.take_lock(kind.name, scope_key, op)
    except BaseException as e:
        table.close()
        error = f"{e.code}: {CODES[e.code].format(**e.params)}" if isinstance(e, FileError) else e
        service.fail_operation(op, error)
        raise
    try:
        return _run_locked(req, kind, options, table, mapping, op, scope_org)
    except BaseException as e:
        if op.status == Operation.Status.RUNNING:
            error = (
                f"{e.code}: {CODES[e.code].format(**e.params)}" if isinstance(e, FileError) else e
            )
            service.fail_operation(op, error)
        raise
    finally:
        table.close()
        service.release_lock(kind.name, scope_key, op, quiet=True)


class _Abort(Exception):
    """Roll the import's transaction back (verify-only, all-or-nothing, too many rows)."""


def _run_locked(req, kind, options, table, mapping, op, scope_org) -> Report:
    directory = os.path.join(settings.DATA_DIR, "operations", str(op.pk))
    rep = Reporter(directory, table, mapping)
    for h in mapping.unknown:
        rep.file_warning(CODES["unknown_column"].format(column=h))
    scope_ids = subtree_ids(scope_org) if scope_org else None
    ctx = Context(kind, options, op, scope_ids, req.verify_only, req.actor)
    ctx.present = set(mapping.positions)
    spec = [
        (c.name, mapping.positions.get(c.name), c.parse, c.required, c.secret) for c in kind.columns
    ]
    key_cols = [mapping.positions.get(k) for k in kind.key]
    seen = SeenKeys()
    limit = settings.REGISTRAR_MAX_ROWS
    batch_size = 1 << 62 if kind.whole_file else max(1, settings.REGISTRAR_BATCH_SIZE)
    started = time.monotonic()
    too_many = False
    try:
        with transaction.atomic():
            batch: list[Row] = []
            for number, cells in table.rows():
                batch.append(Row(number, cells))
                if limit and rep.counts["rows"] + len(batch) > limit:
                    too_many = True
                    raise _Abort
                if len(batch) >= batch_size:
                    _process(kind, ctx, batch, spec, key_cols, seen, rep)
                    batch = []
                    _progress(req, rep, table, started)
            if batch:
                _process(kind, ctx, batch, spec, key_cols, seen, rep)
            kind.finish(ctx)
            if rep.counts["rows"] == 0:
                raise FileError("empty_file")
            if req.verify_only or (req.all_or_nothing and rep.counts[REJECTED]):
                raise _Abort
    except _Abort:
        pass
    finally:
        rep.close()
    if too_many:
        service.finish_operation(op, Operation.Status.FAILED, error=f"more than {limit} rows")
        raise FileError("too_many_rows", limit=limit)
    if ctx.amendments or ctx.settled:
        rep.amend(ctx.amendments, ctx.settled)
    _progress(req, rep, table, started, final=True)
    aborted = req.all_or_nothing and rep.counts[REJECTED] and not req.verify_only
    status = (
        Operation.Status.VERIFIED
        if req.verify_only
        else Operation.Status.ABORTED
        if aborted
        else Operation.Status.DONE
    )
    paths = {
        "results_path": rep.results_path,
        "rejects_path": rep.rejects_path,
        "log_path": rep.log_path,
    }
    for attr, wanted in (
        ("results_path", req.results_path),
        ("rejects_path", req.rejects_path),
        ("log_path", req.log_path),
    ):
        if wanted:
            shutil.copyfile(paths[attr], wanted)
    counts = {
        k: rep.counts[k]
        for k in ("rows", CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, REJECTED, "warnings")
    }
    service.finish_operation(op, status, **counts, **paths)
    return Report(op, counts, mapping.unknown, **paths)


def _progress(
    req: Request, rep: Reporter, table: Table, started: float, final: bool = False
) -> None:
    if req.progress:
        req.progress(
            rep.counts["rows"],
            table.total,
            1.0 if final else table.fraction(),
            time.monotonic() - started,
        )


def _process(
    kind: ImportKind, ctx: Context, rows: list[Row], spec, key_cols, seen: dict, rep: Reporter
) -> None:
    """Parse, de-duplicate, resolve, plan and apply one batch, then report it."""
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
    if key_cols:
        keyed = [r for r in rows if r.result is None]
        hashes = [
            hash(
                tuple(
                    r.cells[p].lower() if p is not None and p < len(r.cells) else ""
                    for p in key_cols
                )
            )
            for r in keyed
        ]
        for r, h, first in zip(keyed, hashes, seen.first_rows(hashes), strict=True):
            first = first if first is not None else seen.young.get(h)  # earlier in this batch
            if first is None:
                seen.add(h, r.number)
            else:
                r.add("duplicate_row", key="/".join(kind.key), first=first)
        seen.settle()
    live = [r for r in rows if r.result is None]
    if live:
        pre = {id(r): list(r.issues) for r in live if r.issues}
        e = _attempt(kind, ctx, live)
        for _ in range(CONCURRENT_RETRIES):
            if e is None or not writes.is_concurrent(e):
                break
            # Another operation changed rows this batch read: plan it again on what is there now.
            log.info(
                "%s import: a batch met a concurrent change (%s); planning it again", kind.name, e
            )
            _reset(live, pre)
            e = _attempt(kind, ctx, live)
        if e is not None:
            _recover(kind, ctx, live, pre, e)
    rep.rows(rows)


CONCURRENT_RETRIES = 3
ISOLATE_LIMIT = 50  # rows of one batch isolated one by one before the rest is rejected whole


def _attempt(kind: ImportKind, ctx: Context, rows: list[Row], keep: bool = True):
    """Plan and apply rows in a savepoint; the exception if they failed (rolled back), else None.
    With keep=False the writes are rolled back anyway (a trial run)."""
    sid = transaction.savepoint()
    ctx.pending = {}
    try:
        _plan_apply(kind, ctx, rows)
    except Exception as e:
        transaction.savepoint_rollback(sid)
        return e
    if keep:
        transaction.savepoint_commit(sid)
        for key, staged in ctx.pending.items():
            ctx.state.setdefault(key, type(staged)()).update(staged)
    else:
        transaction.savepoint_rollback(sid)
    ctx.pending = {}
    return None


def _reset(rows: list[Row], pre: dict) -> None:
    """Rows back to what parsing left (their plan is made again)."""
    for r in rows:
        r.result, r.data, r.issues = None, {}, list(pre.get(id(r), ()))


def _recover(kind: ImportKind, ctx: Context, live: list[Row], pre: dict, error: Exception) -> None:
    """A batch failed unexpectedly (rare path): find the rows that fail on their own by halving
    the batch in trial runs, reject them with processing_error, and apply the others together,
    so that rows referring to each other (a parent later in the file) are still planned as one.

    Bounded: at most ISOLATE_LIMIT rows are isolated; the parts still failing then are rejected
    whole, so a file of bad rows costs a few hundred trials and one log entry per batch, never a
    trial and a traceback per row. Good rows that fail only together are applied by halves."""
    ref = uuid.uuid4().hex[:8]
    failed: list[Row] = []
    unisolated: list[Row] = []
    first_row_error: list[Exception] = []

    def find(rows, known_error=None):
        e = known_error
        if e is None:
            _reset(rows, pre)
            e = _attempt(kind, ctx, rows, keep=False)
        if e is None:
            return
        if len(rows) == 1:
            failed.append(rows[0])
            first_row_error[:] = first_row_error or [e]
            return
        if len(failed) >= ISOLATE_LIMIT:
            unisolated.extend(rows)
            return
        mid = len(rows) // 2
        find(rows[:mid])
        find(rows[mid:])

    find(live, error if len(live) > 1 else None)
    bad = {id(r) for r in failed + unisolated}

    def apply_halves(rows):
        _reset(rows, pre)
        if _attempt(kind, ctx, rows) is None:
            return
        if len(rows) == 1:
            failed.append(rows[0])
            bad.add(id(rows[0]))
            return
        mid = len(rows) // 2
        apply_halves(rows[:mid])
        apply_halves(rows[mid:])

    good = [r for r in live if id(r) not in bad]
    if good:
        apply_halves(good)  # together first; halves only if they fail together
    for r in live:
        if id(r) in bad:
            _reset([r], pre)
            r.issues = [i for i in r.issues if CODES[i[0]].severity == WARNING]
            r.add("processing_error", ref=ref)
    trace = first_row_error[0] if first_row_error else error
    log.error(
        "processing_error %s in %s import: a batch of %s rows failed; %s rows isolated and "
        "rejected (rows %s), %s more rejected without isolation (past %s), %s applied",
        ref,
        kind.name,
        len(live),
        len(failed),
        _row_list(failed),
        len(unisolated),
        ISOLATE_LIMIT,
        len(live) - len(bad),
        exc_info=(type(trace), trace, trace.__traceback__),
    )


def _row_list(rows: list[Row], shown: int = 20) -> str:
    numbers = sorted(r.number for r in rows)
    text = ", ".join(map(str, numbers[:shown]))
    return text + (f" and {len(numbers) - shown} more" if len(numbers) > shown else "") or "none"


def _plan_apply(kind: ImportKind, ctx: Context, live: list[Row]) -> None:
    if not live:
        return
    refs = kind.resolve(live, ctx)
    kind.plan(live, refs, ctx)
    for r in live:
        if r.result is None:
            raise RuntimeError(f"{kind.name}: row {r.number} was not planned")
    kind.apply([r for r in live if r.result in (CREATED, UPDATED, DELETED)], refs, ctx)


SKIPPED_RESULTS = (SKIPPED, UNCHANGED)
