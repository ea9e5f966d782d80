"""Uploads and background jobs: what the portal and the API call, one place for both."""

import logging
import os
import re
import shutil
import time

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registrar.bulk import engine
from registrar.bulk.codes import CODES
from registrar.bulk.io.readers import FileError, open_table
from registrar.journal.models import Operation

from . import retention, supervision
from .culture import language_for
from .models import Job, Upload

log = logging.getLogger("registrar.jobs")
PROGRESS_EVERY = 0.5  # seconds between two progress writes
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xls", ".xlsm", ".ods")


class Refused(Exception):
    """A request that cannot be taken: the message says why, for the person who made it."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _safe_name(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")) or "upload.csv"
    return re.sub(r"[^\w.\- ]", "_", base)[:200]


def save_upload(user, kind: str, chunks, name: str) -> Upload:
    """Store an uploaded file (an iterable of byte chunks) for `kind`, refusing one too large."""
    engine.get_kind(kind)
    safe = _safe_name(name)
    if not safe.lower().endswith(SUFFIXES):
        raise Refused(
            _("%(name)s: not a CSV or spreadsheet file (%(suffixes)s)")
            % {"name": safe, "suffixes": ", ".join(SUFFIXES)}
        )
    up = Upload(user_id=user.pk, kind=kind, original_name=safe)
    folder = os.path.join(settings.DATA_DIR, "uploads", str(up.id))
    os.makedirs(folder, exist_ok=True)
    up.path = os.path.join(folder, safe)
    limit, size = settings.REGISTRAR_MAX_UPLOAD_BYTES, 0
    with open(up.path, "wb") as f:
        for chunk in chunks:
            size += len(chunk)
            if limit and size > limit:
                f.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise Refused(
                    _("%(name)s: larger than the %(limit)s bytes an upload may have")
                    % {"name": safe, "limit": f"{limit:,}"},
                    413,
                )
            f.write(chunk)
    up.size = size
    up.save()
    return up


def upload_gone(upload: Upload) -> str:
    """What to say of an upload whose file was deleted (imported, or past the retention)."""
    when = timezone.localtime(upload.purged_at).strftime("%Y-%m-%d %H:%M")
    return _("The uploaded file was deleted on %(when)s: upload it again.") % {"when": when}


def preview(upload: Upload, options: dict | None = None, count: bool = True) -> dict:
    """How the upload's first data rows are read and how many it holds (engine.preview; not
    counted unless `count`), or the file's error."""
    if upload.purged_at:
        return {"error": {"code": "unreadable_file", "message": upload_gone(upload)}}
    try:
        options = {k: option_text(v) for k, v in (options or {}).items()}
        return engine.preview(upload.kind, upload.path, options, count=count)
    except FileError as e:
        return {"error": {"code": e.code, "message": CODES[e.code].format(**e.params)}}


def option_text(value) -> str:
    """An option value as the engine reads it: booleans as yes/no, numbers as their digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def start_import(
    user,
    upload: Upload,
    options: dict,
    verify_only: bool,
    all_or_nothing: bool = False,
    scope: str = "",
) -> Job:
    """Queue an import (or its verification) of an upload; the worker runs it.
    Options are checked here, so that a wrong one is refused at once rather than by the job."""
    if upload.purged_at:
        raise Refused(upload_gone(upload), 410)
    options = {k: option_text(v) for k, v in options.items()}
    kind = engine.get_kind(upload.kind)
    try:
        kind.check_options(engine.parse_options(kind, options))
    except FileError as e:
        raise Refused(f"{e.code}: {CODES[e.code].format(**e.params)}") from None
    job = Job.objects.create(
        user_id=user.pk,
        what=Job.IMPORT,
        kind=upload.kind,
        upload=upload,
        options=options,
        verify_only=verify_only,
        all_or_nothing=all_or_nothing,
        scope=scope or "",
    )
    return _enqueue(job)


def check_action(name: str, selection: dict | None, params: dict | None, scope: str = ""):
    """An action's parameters and selection read and checked (Refused naming the key), so that a
    wrong one is refused at once rather than by the job. Returns the Selection."""
    from registrar.bulk.selection import Selection, check

    action = engine.get_step(name)
    try:
        parsed = action.parse_params(params or {})
        sel = action.own_selection(parsed) or Selection.from_json(action.target, selection or {})
        check(sel)
    except FileError as e:
        raise Refused(f"{e.code}: {CODES[e.code].format(**e.params)}") from None
    return sel


def start_action(
    user, name: str, selection: dict | None, params: dict | None, verify_only: bool, scope: str = ""
) -> Job:
    """Queue a bulk action (or its verification) on a selection; the worker runs it."""
    sel = check_action(name, selection, params, scope)
    job = Job.objects.create(
        user_id=user.pk,
        what=Job.ACTION,
        kind=name,
        options={"params": params or {}, "selection": sel.to_json()},
        verify_only=verify_only,
        scope=scope or "",
    )
    return _enqueue(job)


def start_undo(user, operation: Operation, verify_only: bool) -> Job:
    """Queue the undo (or its verification) of an operation."""
    job = Job.objects.create(
        user_id=user.pk,
        what=Job.UNDO,
        kind=operation.name,
        target_operation_id=operation.pk,
        verify_only=verify_only,
        scope=operation.scope.extid if operation.scope_id else "",
    )
    return _enqueue(job)


def _enqueue(job: Job) -> Job:
    from .tasks import run_job

    result = run_job.enqueue(str(job.pk))
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.task_id = str(result.id)
    return job


def _progress_writer(job: Job):
    """The engine's progress callback: the job row, at most every PROGRESS_EVERY seconds. A job
    no longer running there was reaped (its worker presumed dead): the import stops, rolled
    back, rather than finish behind the reaper's back. Never on the last call (fraction 1.0),
    made once the import's transaction is committed."""
    last = [0.0]

    def write(done, total, fraction, elapsed):
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and fraction != 1.0:
            return
        last[0] = now
        written = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            rows_done=done, rows_total=total, fraction=fraction, elapsed=elapsed
        )
        if not written and fraction != 1.0:
            raise supervision.JobReaped(f"job {job.pk} was reaped while it ran")

    return write


def _record_operation(job: Job):
    """The engine's on_operation hook: the job knows its operation (and so its lock) at once,
    for the reaper should the worker die."""

    def record(op) -> None:
        job.operation_id = op.pk
        Job.objects.filter(pk=job.pk).update(operation_id=op.pk)

    return record


def run(job_id: str) -> None:
    """Run a queued job to its end (called by the task worker). A job runs once: the worker that
    moves it from queued to running owns it. Its owner's rights are checked again first (they
    may have changed since it was queued); a heartbeat shows the worker alive meanwhile."""
    from registrar.directory.models import User

    from .access import check_owner

    now = timezone.now()
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=supervision.worker_label(),
    )
    if not taken:
        return
    job = Job.objects.get(pk=job_id)
    user = User.objects.filter(pk=job.user_id).first()
    started = time.monotonic()
    fields: dict = {}
    try:
        with translation.override(language_for(user)), supervision.Heartbeat(job.pk):
            check_owner(job, user)
            fields = RUNNERS[job.what](job, user)
        status = Job.Status.DONE
    except supervision.JobReaped:
        fields, status = {}, Job.Status.FAILED
    except FileError as e:
        fields = {"error": f"{e.code}: {CODES[e.code].format(**e.params)}"}
        status = Job.Status.FAILED
    except Refused as e:
        fields = {"error": str(e)}
        status = Job.Status.FAILED
    except Exception as e:  # the job must end visibly whatever happened
        log.exception("job %s failed", job.pk)
        fields = {"error": f"internal error ({type(e).__name__}): see the worker's log"}
        status = Job.Status.FAILED
    ended = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=status, finished_at=timezone.now(), elapsed=time.monotonic() - started, **fields
    )
    if not ended:
        # The reaper failed it meanwhile: its verdict stands, but the log says what happened.
        op = Operation.objects.filter(pk=job.operation_id).first() if job.operation_id else None
        log.error(
            "job %s ended %s after the reaper had failed it (its worker presumed dead); "
            "it stays failed; its operation: %s",
            job.pk,
            status,
            f"#{op.pk} {op.status}" if op else "none",
        )
    if job.what == Job.IMPORT and not job.verify_only and job.upload_id:
        try:
            retention.drop_upload(job.upload_id)
        except (DatabaseError, OSError) as e:
            log.warning("job %s: its upload was not deleted (%s)", job.pk, e)


def _run_import(job: Job, user) -> dict:
    upload = job.upload
    if upload is not None and upload.purged_at:
        raise Refused(upload_gone(upload))
    if upload is None or not os.path.exists(upload.path):
        raise Refused(_("The uploaded file is no longer there: upload it again."))
    report = engine.run_import(
        engine.Request(
            kind=job.kind,
            path=upload.path,
            options=job.options,
            verify_only=job.verify_only,
            all_or_nothing=job.all_or_nothing,
            scope=job.scope or None,
            actor=user,
            progress=_progress_writer(job),
            on_operation=_record_operation(job),
        )
    )
    return _report_fields(report)


def _run_action(job: Job, user) -> dict:
    from registrar.bulk.selection import Selection

    action = engine.get_step(job.kind)
    report = engine.run(
        engine.Request(
            kind=job.kind,
            selection=Selection.from_json(action.target, job.options.get("selection") or {}),
            params=job.options.get("params") or {},
            verify_only=job.verify_only,
            scope=job.scope or None,
            actor=user,
            progress=_progress_writer(job),
            on_operation=_record_operation(job),
        )
    )
    return _report_fields(report)


def _report_fields(report) -> dict:
    counts = report.summary()
    return {
        "operation_id": report.operation.pk,
        "rows_done": counts["rows"],
        "fraction": 1.0,
        "result": {**counts, "status": report.operation.status, "unknown": report.file_warnings},
    }


def _run_undo(job: Job, user) -> dict:
    from registrar.journal.undo import UndoRefused, undo

    try:
        op, conflicts = undo(
            job.target_operation_id,
            actor=user,
            verify_only=job.verify_only,
            on_operation=_record_operation(job),
            progress=_progress_writer(job),
        )
    except UndoRefused as e:
        raise Refused(str(e)) from None
    return {
        "operation_id": op.pk,
        "rows_done": op.rows,
        "fraction": 1.0,
        "result": {
            **op.counts(),
            "status": op.status,
            "conflict_count": len(conflicts),
            "conflicts": conflicts[:500],
        },
    }


def _run_export(job: Job, user) -> dict:
    from .exports import run_job

    return run_job(job, user)


RUNNERS = {
    Job.IMPORT: _run_import,
    Job.ACTION: _run_action,
    Job.UNDO: _run_undo,
    Job.EXPORT: _run_export,
}


def result_rows(op: Operation, result: str | None = None, offset: int = 0, limit: int = 100):
    """Rows of an operation's results file as dicts (only `result` ones when given), and how
    many matched in all. Streams the file: memory stays flat whatever its size."""
    if not op.results_path or not os.path.exists(op.results_path):
        return [], 0
    table = open_table(op.results_path)
    try:
        headers = table.headers
        pos = headers.index("result") if "result" in headers else None
        out, matched = [], 0
        for _, cells in table.rows():
            if result and (pos is None or pos >= len(cells) or cells[pos] != result):
                continue
            if offset <= matched < offset + limit:
                out.append(dict(zip(headers, cells, strict=False)))
            matched += 1
        return out, matched
    finally:
        table.close()


def operation_file(op: Operation, name: str) -> str:
    """The path of an operation's results, rejects or log file; refused with 410 when the files
    were deleted after the retention, 404 when there is no such file."""
    path = getattr(op, f"{name}_path", "") if name in ("results", "rejects", "log") else ""
    if path and os.path.exists(path):
        return path
    purged = retention.files_purged(op.pk)
    if purged is not None:
        when = timezone.localtime(purged.purged_at).strftime("%Y-%m-%d")
        raise Refused(
            _(
                "The files of this operation were deleted on %(when)s, once their retention was over."
            )
            % {"when": when},
            410,
        )
    raise Refused(_("This operation has no such file."), 404)
