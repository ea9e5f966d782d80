"""The bulk pipeline, written once: source → resolve → plan → apply → report, for every import
kind (rows from a file) and every action (rows from a selection).

Steps only declare (columns and options, or parameters) and implement resolve/plan/apply over a
batch. The whole job runs in one transaction: verify-only and all-or-nothing roll it back, so a
verified plan and the real run give the same per-row results.
"""

import itertools
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import polars as pl
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from registrar.directory import permissions, tree
from registrar.directory.models import Organisation
from registrar.journal import service, writes
from registrar.journal.models import Operation
from registrar.learning import list_access

from . import collector
from .codes import CODES, WARNING
from .io.readers import FileError, open_table
from .io.writers import (
    TableWriter,
    copy_format,
    copy_table,
    escape_column,
    escape_row,
    log_line,
)
from .kind import (
    CREATED,
    DELETED,
    REJECTED,
    RESULTS,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Row,
    Step,
)
from .registry import get_kind, get_step  # noqa: F401 (get_kind: re-exported)
from .sources import (  # noqa: F401 (the engine's file-side names, re-exported)
    ENGINE_OPTIONS,
    FILE_RESULT_COLUMNS,
    SECRET_WORDS,
    FileSource,
    Mapping,
    SelectionSource,
    normalise,
    open_input,
    parse_options,
    preview,
)

log = logging.getLogger("registrar.bulk")
RESULT_COLUMNS = FILE_RESULT_COLUMNS


@dataclass
class Request:
    """Everything one import or action needs; the CLI, the portal and the API build one.
    An import names its file (`path`) and `options`; an action its `selection` and `params`."""

    kind: str  # an import kind, or an action: "users.assign-courses"
    path: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    selection: object = None  # a bulk.selection.Selection
    params: dict | None = None
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
    """What a step sees of the running job (`options`: an import's options, an action's
    parameters)."""

    def __init__(
        self,
        kind: Step,
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
        # What a lookup reads once for the whole job (the columnar lane's users by email).
        self.cache: dict = {}
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


def subtree_ids(root: Organisation) -> set[int]:
    """Ids of an organisation and all its descendants (one query for the whole tree)."""
    return tree.subtree(root.pk)


def severity(code: str) -> str:
    """A code's severity as the log says it, in the run's language."""
    return {"error": _("error"), "warning": _("warning"), "skip": _("skip")}[CODES[code].severity]


ISSUES_FILE = "issues.jsonl"
ISSUES_KEPT = 5000  # rows whose codes and parameters are kept for the pages


class Reporter:
    """Writes the results, rejects and log files as rows are settled, and keeps the counts."""

    def __init__(self, directory: str, source):
        os.makedirs(directory, exist_ok=True)
        fmt = source.fmt
        self.results_path = os.path.join(directory, f"results.{fmt}")
        self.rejects_path = os.path.join(directory, f"rejects.{fmt}")
        self.log_path = os.path.join(directory, "log.txt")
        self.fmt, self.delimiter = fmt, source.delimiter
        self.secret = source.secret_positions
        self.width = len(source.headers)
        self.label = source.label
        self.result_columns = source.result_columns
        # Results escape formulas; the rejects keep the input as typed, to be fixed and re-imported.
        self.results = TableWriter(
            self.results_path, fmt, source.delimiter, "utf-8-sig", escape=True
        )
        encoding = source.encoding
        rejects_encoding = encoding if encoding.startswith(("utf", "cp", "latin")) else "utf-8-sig"
        self.rejects_encoding = rejects_encoding
        self.rejects = TableWriter(self.rejects_path, fmt, source.delimiter, rejects_encoding)
        self.log = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115
        # The codes and parameters of the first rows with issues, so that pages can say their
        # messages in the reader's language (the files keep the language of the run).
        self.issues_path = os.path.join(directory, ISSUES_FILE)
        self.issues = open(self.issues_path, "w", encoding="utf-8")  # noqa: SIM115
        self.issues_kept = 0
        self.by_code: dict[str, int] = {}  # rows that got each code
        self.results.write([*source.headers, *self.result_columns])
        if source.has_header:
            self.rejects.write(source.headers)
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
        self.log.write(log_line(f"{_('file')}: {text}") + "\n")

    def rows(self, rows: list[Row], planned=None) -> None:
        """Report a batch: its Row objects, and the rows the columnar lane planned (Columns
        with one result each in `data["result"]`, no codes), in row order."""
        counts = self.counts
        width, secret = self.width, self.secret
        out = []
        counts["rows"] += len(rows)
        for r in rows:
            counts[r.result] += 1
            cells = r.cells
            if secret or len(cells) != width:
                cells = self.masked(cells)
            if r.issues:
                codes, message = r.codes(), r.message()
                counts["warnings"] += r.warnings()
                by_code = self.by_code
                for c in dict.fromkeys(c for c, _ in r.issues):
                    by_code[c] = by_code.get(c, 0) + 1
                if self.issues_kept < ISSUES_KEPT:
                    self.issues_kept += 1
                    line = {"row": r.number, "cells": cells[:width], "issues": r.issues}
                    self.issues.write(json.dumps(line, default=str) + "\n")
                for c, p in r.issues:
                    self.log.write(
                        log_line(f"{self.label(r)}: {severity(c)} {c}: {CODES[c].format(**p)}")
                        + "\n"
                    )
                if r.result == REJECTED:
                    self.rejects.write(cells)
            else:
                codes = message = ""
            # Cells past the header (ignored by the import) would shift the result columns.
            if len(self.result_columns) == 4:
                out.append([*cells[: self.width], r.number, r.result, codes, message])
            else:
                out.append([*cells[: self.width], r.result, codes, message])
        if planned is not None and len(planned):
            self.results.write_frame(self._merge(out, planned))
        else:
            self.results.write_many(out)

    def _merge(self, out: list[list], planned) -> pl.DataFrame:
        """The lane's rows (cells as wide as the header, secrets blanked) among the others, in
        row order, every formula escaped."""
        counts = self.counts
        counts["rows"] += len(planned)
        results = planned.data["result"]
        for result in set(results):
            counts[result] += results.count(result)
        frame = planned.cells
        if self.secret:  # a password hash the lane planned: never written back
            frame = frame.with_columns(
                pl.lit("").alias(name) for i, name in enumerate(frame.columns) if i in self.secret
            )
        if any(planned.formulas):
            frame = frame.with_columns(escape_column(name) for name in frame.columns)
        frame = frame.with_columns(
            pl.Series("row", planned.numbers, dtype=pl.Int64),
            pl.Series("result", results, dtype=pl.String),
            codes=pl.lit(""),
            message=pl.lit(""),
        )
        if not out:
            return frame
        others = pl.DataFrame([escape_row(line) for line in out], schema=frame.schema, orient="row")
        return pl.concat([frame, others]).sort("row")

    def close(self) -> None:
        self.results.close()
        self.rejects.close()
        self.log.close()
        self.issues.close()

    def amend(self, amendments: dict[int, list[tuple[str, dict]]], settled: dict[int, str]) -> None:
        """Add warnings settled after the last batch (rare: forward references) to the results
        file and the log, and turn `unchanged` rows that changed then into `updated`. Neither
        touches a rejected row, so the rejects file stays as it is."""
        root, ext = os.path.splitext(self.results_path)
        old = f"{root}.orig{ext}"
        shutil.move(self.results_path, old)
        src = open_table(old, header=True, delimiter=self.delimiter, encoding="utf-8-sig")
        res = TableWriter(self.results_path, self.fmt, self.delimiter, "utf-8-sig", escape=True)
        n = len(self.result_columns)
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
                        log_line(
                            f"{gettext('row %(n)s') % {'n': number}}: {severity(c)} {c}: {text}"
                        )
                        + "\n"
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


def run(req: Request) -> Report:
    """Run one import or action end to end and return its report. Raises FileError when the
    file, the parameters or the selection cannot be used (or the database stays busy)."""
    try:
        with collector.relaxed():
            return _run(req)
    except DatabaseError as e:
        busy = service.busy_error(e)
        if busy is None:
            raise
        raise busy from None


run_import = run_action = run


def _scope(req: Request) -> Organisation | None:
    if not req.scope:
        return None
    org = Organisation.objects.filter(extid=req.scope).first()
    if org is None:
        raise FileError(
            "invalid_option",
            option="scope",
            reason=f"no organisation has the external id {req.scope!r}",
        )
    return org


def open_source(step: Step, req: Request, scope_ids: set[int] | None):
    """The step's source, its input checked: a file opened and mapped, or parameters read and a
    selection resolved. Raises FileError (exit status 2) before any operation exists."""
    if step.operation == "import":
        if req.path is None:
            raise FileError("invalid_option", option="FILE", reason=f"{step.name} imports a file")
        return FileSource(step, req.path, req.options)
    if hasattr(step, "open_source"):  # a step with a small source of its own (merge, transfer)
        return step.open_source(req, scope_ids)
    return SelectionSource(step, req.selection, req.params, scope_ids)


def _check_copies(req: Request) -> None:
    """--results and --rejects name .csv or .xlsx (or no extension): refused before anything
    runs otherwise (exit status 2)."""
    for option, path in (("results", req.results_path), ("rejects", req.rejects_path)):
        try:
            copy_format(path or "")
        except ValueError as e:
            raise FileError("invalid_option", option=option, reason=str(e)) from None


def _run(req: Request) -> Report:
    step = get_step(req.kind)
    _check_copies(req)
    scope_org = _scope(req)
    scope_ids = subtree_ids(scope_org) if scope_org else None
    source = open_source(step, req, scope_ids)
    try:
        journal = source.journal()
        if step.operation == "import":
            journal["options"]["all_or_nothing"] = req.all_or_nothing
        op = service.start_operation(
            step.operation,
            step.name,
            req.actor,
            verify_only=req.verify_only,
            scope=scope_org,
            **journal,
        )
    except BaseException:
        source.close()
        raise
    if req.on_operation:
        req.on_operation(op)
    scope_key = req.scope or "*"
    try:
        service.take_lock(step.name, scope_key, op)
    except BaseException as e:
        source.close()
        error = f"{e.code}: {CODES[e.code].format(**e.params)}" if isinstance(e, FileError) else e
        service.fail_operation(op, error)
        raise
    try:
        return _run_locked(req, step, source, op, scope_ids)
    except BaseException as e:
        if op.status == Operation.Status.RUNNING:
            error = (
                f"{e.code}: {CODES[e.code].format(**e.params)}" if isinstance(e, FileError) else e
            )
            service.fail_operation(op, error)
        raise
    finally:
        source.close()
        service.release_lock(step.name, scope_key, op, quiet=True)


class _Abort(Exception):
    """Roll the job's transaction back (verify-only, all-or-nothing, too many rows)."""


def _run_locked(req: Request, step: Step, source, op: Operation, scope_ids) -> Report:
    directory = os.path.join(settings.DATA_DIR, "operations", str(op.pk))
    rep = Reporter(directory, source)
    for h in source.unknown:
        rep.file_warning(CODES["unknown_column"].format(column=h))
    ctx = Context(step, source.options, op, scope_ids, req.verify_only, req.actor)
    ctx.present = source.present
    limit = settings.REGISTRAR_MAX_ROWS
    batch_size = 1 << 62 if step.whole_file else max(1, settings.REGISTRAR_BATCH_SIZE)
    started = time.monotonic()
    too_many = False
    # The columnar lane (bulk.columnar) takes raw rows; the row path takes Row objects.
    columnar = getattr(source, "columnar", False)
    process = _process_columns if columnar else _process
    if columnar:
        cells = settings.REGISTRAR_COLUMNAR_BATCH_CELLS // max(1, len(source.headers))
        batch_size = max(
            1,
            min(settings.REGISTRAR_COLUMNAR_BATCH_SIZE, max(settings.REGISTRAR_BATCH_SIZE, cells)),
        )
    try:
        with service.durable(), transaction.atomic():
            for batch in source.blocks(batch_size) if columnar else _batches(source, batch_size):
                if limit and rep.counts["rows"] + len(batch) > limit:
                    too_many = True
                    raise _Abort
                process(step, ctx, batch, source, rep)
                if len(batch) >= batch_size:  # the last batch's is the final progress
                    _progress(req, rep, source, started)
            step.finish(ctx)
            # Dynamic lists are evaluated as the operation ends: their new members enter them,
            # and the access properties that assign members assign them (SPEC §5).
            list_access.evaluate_dynamic(op)
            if rep.counts["rows"] == 0:
                raise source.empty()
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
    _progress(req, rep, source, started, final=True)
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
    # Copies follow the extension asked for (an .xlsx input's results can be had as CSV).
    if req.results_path:
        copy_table(rep.results_path, rep.fmt, req.results_path, rep.delimiter, "utf-8-sig", True)
    if req.rejects_path:
        copy_table(rep.rejects_path, rep.fmt, req.rejects_path, rep.delimiter, rep.rejects_encoding)
    if req.log_path:
        shutil.copyfile(rep.log_path, req.log_path)
    counts = {
        k: rep.counts[k]
        for k in ("rows", CREATED, UPDATED, DELETED, UNCHANGED, SKIPPED, REJECTED, "warnings")
    }
    options = {**(op.options or {}), "codes": rep.by_code} if rep.by_code else op.options
    service.finish_operation(op, status, **counts, **paths, options=options)
    return Report(op, counts, source.unknown, **paths)


def _batches(source, size: int) -> Iterator[list[Row]]:
    """The source's rows in lists of `size`."""
    rows = source.rows()
    while batch := list(itertools.islice(rows, size)):
        yield batch


def _progress(req: Request, rep: Reporter, source, started: float, final: bool = False) -> None:
    if req.progress:
        done = rep.counts["rows"]
        req.progress(
            done,
            source.total,
            1.0 if final else source.fraction(done),
            time.monotonic() - started,
        )


def _process(step: Step, ctx: Context, rows: list[Row], source, rep: Reporter) -> None:
    """Prepare (parse, or load the selected items), resolve, plan and apply one batch, then
    report it."""
    source.prepare(rows, ctx)
    _settle(step, ctx, rows, source)
    rep.rows(rows)


def _process_columns(step: Step, ctx: Context, raw: list, source, rep: Reporter) -> None:
    """One batch in the columnar lane: the rows whose cells parse and that the kind plans in
    bulk are planned and applied as columns; every other row (a code, or a case the bulk plan
    leaves out) takes the row path, so its codes and messages are the row path's."""
    lane, rows = source.split(raw, ctx)
    planned = None
    if len(lane):
        planned, rest = step.plan_columns(lane, ctx)
        if len(rest):
            rows = sorted(rows + rest.rows(), key=lambda r: r.number)
    # The row path's rows in the row path's batches: a lane batch is larger, and a batch of
    # Row objects costs far more memory than its columns.
    size = max(1, settings.REGISTRAR_BATCH_SIZE)
    for i in range(0, len(rows), size):
        _settle(step, ctx, rows[i : i + size], source)
    if planned is not None and len(planned):
        e = _attempt(step, ctx, planned, run=_apply_columns)
        if e is not None:  # a concurrent change or a failure: these rows take the row path
            log.info("%s: the columnar lane met %s; its rows take the row path", step.name, e)
            more = planned.rows()
            _settle(step, ctx, more, source)
            rows = sorted(rows + more, key=lambda r: r.number)
            planned = None
    rep.rows(rows, planned)


def _apply_columns(step: Step, ctx: Context, planned) -> None:
    step.apply_columns(planned, ctx)


def _settle(step: Step, ctx: Context, rows: list[Row], source) -> None:
    """Resolve, plan and apply a batch's rows still to plan: again on a concurrent change, and
    with the failing rows isolated on an unexpected error."""
    live = [r for r in rows if r.result is None]
    if live:
        pre = {id(r): list(r.issues) for r in live if r.issues}
        e = _attempt(step, ctx, live)
        for _ in range(CONCURRENT_RETRIES):
            if e is None or not writes.is_concurrent(e):
                break
            # Another operation changed rows this batch read: plan it again on what is there now
            # (a selection's items are read again too: they carry the values planned on).
            log.info("%s: a batch met a concurrent change (%s); planning it again", step.name, e)
            _reset(live, pre)
            refresh = getattr(source, "refresh", None)
            if refresh is not None:
                live = refresh(live, ctx)
                pre = {id(r): list(r.issues) for r in live if r.issues}
            e = _attempt(step, ctx, live)
        if e is not None:
            _recover(step, ctx, live, pre, e)


CONCURRENT_RETRIES = 3
ISOLATE_LIMIT = 50  # rows of one batch isolated one by one before the rest is rejected whole


def _attempt(kind: Step, ctx: Context, rows, keep: bool = True, run=None):
    """Plan and apply rows in a savepoint; the exception if they failed (rolled back), else None.
    With keep=False the writes are rolled back anyway (a trial run). `run`: what to do with
    them (default: plan and apply Row objects)."""
    sid = transaction.savepoint()
    ctx.pending = {}
    try:
        (run or _plan_apply)(kind, ctx, rows)
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


def _recover(kind: Step, ctx: Context, live: list[Row], pre: dict, error: Exception) -> None:
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
        "processing_error %s in %s: a batch of %s rows failed; %s rows isolated and "
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


def _plan_apply(kind: Step, ctx: Context, live: list[Row]) -> None:
    if not live:
        return
    refs = kind.resolve(live, ctx)
    kind.plan(live, refs, ctx)
    for r in live:
        if r.result is None:
            raise RuntimeError(f"{kind.name}: row {r.number} was not planned")
    applied = [r for r in live if r.result in (CREATED, UPDATED, DELETED)]
    kind.apply(applied, refs, ctx)
    kind.notify(applied, ctx)


SKIPPED_RESULTS = (SKIPPED, UNCHANGED)
