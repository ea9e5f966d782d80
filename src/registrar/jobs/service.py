"""Uploads and background jobs: what the portal and the API call, one place for both."""

import logging
import os
import re
import shutil
import time

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registrar.bulk import engine
from registrar.bulk.codes import CODES
from registrar.bulk.io.readers import FileError, open_table
from registrar.journal.models import Operation

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


def preview(upload: Upload, options: dict | None = None) -> dict:
    """How the upload's first data row is read (engine.preview), or the file's error."""
    try:
        return engine.preview(upload.kind, upload.path, options or {})
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
    """The engine's progress callback: the job row, at most every PROGRESS_EVERY seconds."""
    last = [0.0]

    def write(done, total, fraction, elapsed):
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and fraction != 1.0:
            return
        last[0] = now
        Job.objects.filter(pk=job.pk).update(
            rows_done=done, rows_total=total, fraction=fraction, elapsed=elapsed
        )

    return write


def run(job_id: str) -> None:
    """Run a queued job to its end (called by the task worker). A job runs once: the worker that
    moves it from queued to running owns it."""
    from registrar.directory.models import User

    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    if not taken:
        return
    job = Job.objects.get(pk=job_id)
    user = User.objects.filter(pk=job.user_id).first()
    lang = (user.culture if user else "")[:2].lower()
    lang = lang if lang in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    started = time.monotonic()
    fields: dict = {}
    try:
        with translation.override(lang):
            fields = _run_import(job, user) if job.what == Job.IMPORT else _run_undo(job, user)
        status = Job.Status.DONE
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
    Job.objects.filter(pk=job.pk).update(
        status=status, finished_at=timezone.now(), elapsed=time.monotonic() - started, **fields
    )


def _run_import(job: Job, user) -> dict:
    upload = job.upload
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
        )
    )
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
        op, conflicts = undo(job.target_operation_id, actor=user, verify_only=job.verify_only)
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
