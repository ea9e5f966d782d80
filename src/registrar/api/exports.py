"""The export API (SPEC §6): start an export job, download its file, preview, and saved
configurations. Follow the job with /api/jobs/{id}; the permission is a role over the learning
domain, and a scoped administrator exports only their subtree."""

import os
from datetime import datetime
from uuid import UUID

from django.http import FileResponse
from ninja import Router, Schema
from ninja.errors import HttpError

from registrar.bulk.export_columns import by_group
from registrar.jobs import access, exports, service
from registrar.jobs.models import Job

from .views import JobOut, _job, guarded

router = Router(tags=["exports"])


class ExportIn(Schema):
    config: dict
    scope: str = ""


class PreviewOut(Schema):
    columns: list[str]
    rows: list[list[str]]
    count: int


class SavedIn(Schema):
    name: str
    config: dict
    shared: bool = False


class SavedOut(Schema):
    id: int
    name: str
    owner: str
    mine: bool
    shared: bool
    config: dict
    updated_at: datetime


def _saved(row, user) -> dict:
    return {
        "id": row.pk,
        "name": row.name,
        "owner": row.owner_label,
        "mine": row.user_id == user.pk,
        "shared": row.shared,
        "config": row.config,
        "updated_at": row.updated_at,
    }


@router.get("/columns", response=dict[str, list[str]])
def columns(request):
    """The column names of each group (users, curricula, courses, credits, lessons)."""
    return by_group()


@router.post("", response={202: JobOut})
@guarded
def start_export(request, body: ExportIn):
    """Queue an export of the configuration; follow `/jobs/{id}`, then download the file."""
    return 202, _job(exports.start(request.auth, body.config, body.scope))


@router.post("/preview", response=PreviewOut)
@guarded
def preview_export(request, body: ExportIn):
    """The first 20 rows and the number of rows the export would write."""
    return exports.preview(request.auth, body.config, body.scope)


@router.get("/saved", response=list[SavedOut])
def list_saved(request):
    """Your saved configurations and the shared ones."""
    if not exports.may_export(request.auth):
        raise HttpError(403, "Your roles do not let you export learner records.")
    return [_saved(r, request.auth) for r in exports.saved_for(request.auth)[:500]]


@router.post("/saved", response={201: SavedOut})
@guarded
def create_saved(request, body: SavedIn):
    """Save a configuration under a name (yours replaced if it exists), shared or not."""
    exports.scope_for(request.auth)
    cfg = exports.check(body.config)
    try:
        row = exports.save(request.auth, body.name, cfg, shared=body.shared)
    except exports.FileError as e:
        raise exports._refused(e) from None
    return 201, _saved(row, request.auth)


@router.delete("/saved/{saved_id}", response={204: None})
@guarded
def delete_saved(request, saved_id: int):
    """Delete one of your saved configurations."""
    exports.delete_saved(request.auth, saved_id)
    return 204, None


@router.get("/{job_or_operation}/download", response={200: None})
@guarded
def download(request, job_or_operation: str):
    """The export's file: by its job's id (once done) or its operation's number."""
    op_id = None
    try:
        job = access.job_for(request.auth, UUID(job_or_operation))
    except ValueError:
        if not job_or_operation.isdigit():
            raise HttpError(404, "No such export.") from None
        op_id = int(job_or_operation)
    else:
        if job.what != Job.EXPORT:
            raise HttpError(404, "This job is not an export.")
        if job.status != Job.Status.DONE or not job.operation_id:
            raise HttpError(409, "The export has not finished yet.")
        op_id = job.operation_id
    op = access.operations_for(request.auth).filter(pk=op_id, kind="export").first()
    if op is None:
        raise HttpError(404, "No such export.")
    path = service.operation_file(op, "results")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=os.path.basename(path))
