"""Retention: an upload's file is deleted once it is imported, and every upload after
REGISTRAR_UPLOAD_RETENTION_HOURS; an operation's results, rejects and log files after
REGISTRAR_OPERATION_FILE_RETENTION_DAYS. Rows are kept, marked, so pages say the file is gone."""

import logging
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from registrar.journal.models import Operation

from .models import Job, PurgedFiles, Upload
from .quick import quick

log = logging.getLogger("registrar.jobs")
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)
CHUNK = 500
PATHS = ("results_path", "rejects_path", "log_path")


def _size(path: Path) -> tuple[int, int]:
    """Files and bytes under `path` (a file or a folder); (0, 0) when it is not there."""
    if path.is_file():
        return 1, path.stat().st_size
    files = size = 0
    for p in path.rglob("*") if path.is_dir() else ():
        if p.is_file():
            files, size = files + 1, size + p.stat().st_size
    return files, size


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink(missing_ok=True)


def _upload_places(up: Upload) -> list[Path]:
    """Where an upload's file lives: its folder under DATA_DIR/uploads, and its recorded path's
    folder when that is the upload's own (DATA_DIR may have moved since)."""
    places = [Path(settings.DATA_DIR) / "uploads" / str(up.pk)]
    # Only the upload's own folder is ever deleted: a recorded path elsewhere is left alone.
    if up.path and Path(up.path).parent.name == str(up.pk):
        places.append(Path(up.path).parent)
    return list(dict.fromkeys(places))


def _delete_upload(up: Upload, verify_only: bool = False) -> int | None:
    """Delete one upload's file and mark its row (path emptied, purged_at); the bytes deleted,
    None when another call marked it first. The row is marked first: no job starts on a file
    being deleted (start_import refuses a purged upload)."""
    places = _upload_places(up)
    size = sum(_size(p)[1] for p in places)
    if verify_only:
        return size
    marked = Upload.objects.filter(pk=up.pk, purged_at__isnull=True).update(
        path="", purged_at=timezone.now()
    )
    if not marked:
        return None
    for p in places:
        _remove(p)
    return size


def drop_upload(upload_id) -> int:
    """An import ended: delete its upload's file, unless another job is queued or running on
    it (the last one to end, or the retention, deletes it). The bytes deleted."""
    up = Upload.objects.filter(pk=upload_id, purged_at__isnull=True).first()
    if up is None or Job.objects.filter(upload_id=upload_id, status__in=ACTIVE).exists():
        return 0
    return _delete_upload(up) or 0


def purge_uploads(verify_only: bool = False) -> dict:
    """Delete the uploads older than REGISTRAR_UPLOAD_RETENTION_HOURS whatever became of them
    (but not while a job is queued or running on one), and folders under DATA_DIR/uploads that
    no upload row keeps (left by a crash) once as old."""
    cutoff = timezone.now() - timedelta(hours=settings.REGISTRAR_UPLOAD_RETENTION_HOURS)
    busy = Job.objects.filter(status__in=ACTIVE, upload_id__isnull=False).values("upload_id")
    old = Upload.objects.filter(purged_at__isnull=True, created_at__lt=cutoff).exclude(pk__in=busy)
    count = size = 0
    for up in old.iterator():
        deleted = _delete_upload(up, verify_only)
        if deleted is not None:
            count, size = count + 1, size + deleted
    folder = Path(settings.DATA_DIR) / "uploads"
    stray = [
        p
        for p in (folder.iterdir() if folder.is_dir() else ())
        if p.is_dir() and p.stat().st_mtime < cutoff.timestamp()
    ]
    for part in _chunks(stray):
        kept = {
            str(pk)
            for pk in Upload.objects.filter(
                pk__in=[_uuid(p.name) for p in part if _uuid(p.name)], purged_at__isnull=True
            ).values_list("pk", flat=True)
        }
        for p in part:
            if str(_uuid(p.name)) not in kept:
                count, size = count + 1, size + _size(p)[1]
                if not verify_only:
                    _remove(p)
    return {"uploads": count, "upload_bytes": size}


def _uuid(name: str):
    try:
        return uuid.UUID(name)
    except ValueError:
        return None


def _chunks(items: list, size: int = CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _operation_places(op_id: int, paths: list[str]) -> list[Path]:
    """An operation's folder under DATA_DIR/operations and its recorded files, when they are in
    a folder of the operation's own (never a file elsewhere)."""
    places = [Path(settings.DATA_DIR) / "operations" / str(op_id)]
    for p in filter(None, paths):
        path = Path(p)
        if path.parent.name == str(op_id):
            places.append(path.parent)
    return list(dict.fromkeys(places))


def purge_operation_files(verify_only: bool = False) -> dict:
    """Delete the results, rejects and log files of the operations finished more than
    REGISTRAR_OPERATION_FILE_RETENTION_DAYS ago (0: keep them for ever): the folders under
    DATA_DIR/operations, then the operations' *_path fields emptied and a PurgedFiles row, so
    that pages and the API say the files were purged."""
    out = {"operations": 0, "operation_files": 0, "operation_bytes": 0}
    days = settings.REGISTRAR_OPERATION_FILE_RETENTION_DAYS
    if days <= 0:
        return out
    cutoff = timezone.now() - timedelta(days=days)
    folder = Path(settings.DATA_DIR) / "operations"
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    on_disk = sorted(int(n) for n in names if n.isdigit())
    ended = Operation.objects.filter(finished_at__lt=cutoff)
    with_paths = ended.filter(
        ~Q(results_path="") | ~Q(rejects_path="") | ~Q(log_path="")
    ).values_list("pk", flat=True)
    candidates = set(with_paths.iterator())
    for part in _chunks(on_disk):
        candidates |= set(ended.filter(pk__in=part).values_list("pk", flat=True))
    for part in _chunks(sorted(candidates)):
        rows = {pk: paths for pk, *paths in ended.filter(pk__in=part).values_list("pk", *PATHS)}
        records = []
        for pk, paths in rows.items():
            places = _operation_places(pk, paths)
            files = size = 0
            for p in places:
                n, b = _size(p)
                files, size = files + n, size + b
            out["operations"] += 1
            out["operation_files"] += files
            out["operation_bytes"] += size
            if verify_only:
                continue
            for p in places:
                _remove(p)
            records.append(PurgedFiles(operation_id=pk, files=files, bytes=size))
        if verify_only:
            continue
        PurgedFiles.objects.bulk_create(records, ignore_conflicts=True)
        _clear_paths([pk for pk, paths in rows.items() if any(paths)])
    return out


def _clear_paths(op_ids: list[int]) -> None:
    """Empty the *_path fields of purged operations; left for the next purge when SQLite's main
    file is busy (pages check that a file exists before they link it)."""
    if not op_ids:
        return
    try:
        with quick():
            Operation.objects.filter(pk__in=op_ids).update(**{f: "" for f in PATHS})
    except DatabaseError as e:
        log.warning("purge: the paths of %s operation(s) are cleared later (%s)", len(op_ids), e)


def purge(verify_only: bool = False) -> dict:
    """Both purges; what was (or, verify_only, would be) deleted."""
    return {
        **purge_uploads(verify_only),
        **purge_operation_files(verify_only),
        "verify_only": verify_only,
    }


def files_purged(op_id: int) -> PurgedFiles | None:
    """The record of an operation's purged files, if they were."""
    return PurgedFiles.objects.filter(operation_id=op_id).first()
