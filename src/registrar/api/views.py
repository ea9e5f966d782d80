"""The REST API (django-ninja): the import centre's operations for programs, with token auth
and the same scopes as the pages. OpenAPI at /api/docs."""

import builtins
import os
import shutil
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import File, Form, NinjaAPI, Schema, UploadedFile
from ninja.errors import HttpError, Throttled
from ninja.security import HttpBearer

from registrar.bulk.codes import CODES
from registrar.bulk.docs import kind_reference, template_file
from registrar.core import throttle
from registrar.core.errors import FileError
from registrar.jobs import access, service, supervision
from registrar.jobs.models import Job
from registrar.journal.models import Operation
from registrar.journal.undo import refusal

from .models import ApiToken, digest


class TokenAuth(HttpBearer):
    """`Authorization: Bearer rgt_…`: the token's hash is looked up; the user must be active
    today. Unknown and revoked tokens are counted per client address: past the limit
    (REGISTRAR_TOKEN_FAILURES_PER_ADDRESS a window) the address is answered 429, with
    Retry-After, until the lock ends, even with a valid token."""

    def authenticate(self, request, token):
        per_address, address = throttle.rule("token_address"), throttle.client_address(request)
        wait = throttle.retry_after(per_address, address)
        if wait:
            raise Throttled(wait)
        row = ApiToken.objects.filter(key_hash=digest(token), revoked=False).first()
        if row is None:
            throttle.fail(per_address, address)
            return None
        user = row.user
        if user is None or not user.is_active:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = user
        return user


api = NinjaAPI(
    title="Registrar API",
    version="1",
    description="Imports for programs: upload, preview, verify, run, follow the job, read the "
    "results, undo. Every call needs `Authorization: Bearer TOKEN` (`registrar token LOGIN`).",
    auth=TokenAuth(),
    urls_namespace="api",
)


@api.exception_handler(Throttled)
def too_many_failures(request, exc: Throttled):
    """429 with Retry-After (whole seconds) for an address locked by TokenAuth."""
    wait = int(exc.wait or 1)
    response = api.create_response(
        request,
        {
            "detail": ngettext(
                "Too many failed token attempts. Try again in %(seconds)s second.",
                "Too many failed token attempts. Try again in %(seconds)s seconds.",
                wait,
            )
            % {"seconds": wait}
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def guarded(fn):
    """Turn access.Refused into the HTTP error it names."""

    def call(*a, **kw):
        try:
            return fn(*a, **kw)
        except service.Refused as e:
            raise HttpError(e.status, str(e)) from None

    call.__name__, call.__doc__ = fn.__name__, fn.__doc__
    call.__annotations__ = fn.__annotations__
    call.__wrapped__ = fn
    return call


class KindOut(Schema):
    name: str
    title: str
    description: str
    domain: str


class ColumnOut(Schema):
    name: str
    required: bool
    aliases: list[str]
    help: str
    example: str


class OptionOut(Schema):
    name: str
    default: str
    choices: list[str] | None
    help: str


class KindDetailOut(KindOut):
    columns: list[ColumnOut]
    options: list[OptionOut]


class UploadOut(Schema):
    id: UUID
    kind: str
    name: str
    size: int
    preview: dict


class RunIn(Schema):
    options: dict[str, str | bool | int] = {}
    all_or_nothing: bool = False
    scope: str = ""


class UndoIn(Schema):
    verify_only: bool = True


class JobOut(Schema):
    id: UUID
    what: str
    kind: str
    verify_only: bool
    status: str
    rows_done: int
    rows_total: int | None
    fraction: float | None
    rows_per_second: float
    seconds_left: float | None
    operation: int | None
    result: dict
    error: str
    hint: str
    created_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None


class OperationOut(Schema):
    id: int
    kind: str
    name: str
    status: str
    verify_only: bool
    actor: str
    scope: str | None
    started_at: datetime
    finished_at: datetime | None
    file_name: str
    counts: dict
    undo_of: int | None
    undone_by: int | None
    error: str


class RowsOut(Schema):
    total: int
    offset: int
    rows: list[dict]


def _job(job: Job) -> dict:
    return {
        "id": job.pk,
        "what": job.what,
        "kind": job.kind,
        "verify_only": job.verify_only,
        "status": job.status,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "fraction": job.fraction,
        "rows_per_second": round(job.rate, 1),
        "seconds_left": job.seconds_left,
        "operation": job.operation_id,
        "result": job.result,
        "error": job.error,
        "hint": supervision.waiting_hint(job),
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "heartbeat_at": job.heartbeat_at,
    }


def _operation(op: Operation) -> dict:
    return {
        "id": op.pk,
        "kind": op.kind,
        "name": op.name,
        "status": op.status,
        "verify_only": op.verify_only,
        "actor": op.actor_label,
        "scope": op.scope.extid if op.scope_id else None,
        "started_at": op.started_at,
        "finished_at": op.finished_at,
        "file_name": op.file_name,
        "counts": op.counts(),
        "undo_of": op.undo_of_id,
        "undone_by": op.undone_by_id,
        "error": op.error,
    }


@api.get("/kinds", response=list[KindOut], tags=["kinds"])
def list_kinds(request):
    """The import kinds your roles let you run."""
    return [
        {
            "name": k.name,
            "title": str(k.title),
            "description": str(k.description),
            "domain": k.domain,
        }
        for k in access.kinds_for(request.auth)
    ]


@api.get("/kinds/{kind}", response=KindDetailOut, tags=["kinds"])
@guarded
def get_kind(request, kind: str):
    """One kind: its columns and options, explained."""
    k = access.kind_for(request.auth, kind)
    return {"name": k.name, "domain": k.domain, **kind_reference(k)}


@api.get("/kinds/{kind}/template", tags=["kinds"], response={200: None})
@guarded
def get_template(request, kind: str, format: Literal["csv", "xlsx"] = "csv"):
    """The kind's example file, which imports cleanly."""
    k = access.kind_for(request.auth, kind)
    path = template_file(k, format)
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=f"{k.name}-template.{format}"
    )


class RefusedFileOut(Schema):
    detail: str
    code: str = ""
    message: str = ""


# A file the preview cannot read at all is refused (400) rather than kept with an error.
UNREADABLE = ("file_too_large", "unreadable_file")


@api.post("/uploads", response={201: UploadOut, 400: RefusedFileOut}, tags=["imports"])
@guarded
def create_upload(request, kind: Form[str], file: File[UploadedFile]):
    """Send a CSV or spreadsheet for a kind; the answer shows how its first row is read.
    A file that cannot be read (file_too_large, unreadable_file) is refused with 400, its code
    and message, and is not kept."""
    access.kind_for(request.auth, kind)
    up = service.save_upload(request.auth, kind, file.chunks(), file.name or "upload.csv")
    body = _upload(up)
    error = body["preview"].get("error")
    if error and error["code"] in UNREADABLE:
        shutil.rmtree(os.path.dirname(up.path), ignore_errors=True)
        up.delete()
        detail = f"{error['code']}: {error['message']}"
        return 400, {"detail": detail, "code": error["code"], "message": error["message"]}
    return 201, body


def _upload(up, options=None) -> dict:
    return {
        "id": up.pk,
        "kind": up.kind,
        "name": up.original_name,
        "size": up.size,
        "preview": service.preview(up, options),
    }


@api.get("/uploads/{upload_id}", response=UploadOut, tags=["imports"])
@guarded
def get_upload(request, upload_id: UUID):
    """An upload and its first-row preview."""
    return _upload(access.upload_for(request.auth, upload_id))


def _start(request, upload_id: UUID, body: RunIn, verify_only: bool):
    up = access.upload_for(request.auth, upload_id)
    kind = access.kind_for(request.auth, up.kind)
    scope = access.scope_for(request.auth, kind, body.scope)
    job = service.start_import(
        request.auth, up, body.options, verify_only, body.all_or_nothing, scope
    )
    return 202, _job(job)


@api.post("/uploads/{upload_id}/verify", response={202: JobOut}, tags=["imports"])
@guarded
def verify_upload(request, upload_id: UUID, body: RunIn):
    """Queue a verification: the full plan, per-row results, nothing written."""
    return _start(request, upload_id, body, True)


@api.post("/uploads/{upload_id}/run", response={202: JobOut}, tags=["imports"])
@guarded
def run_upload(request, upload_id: UUID, body: RunIn):
    """Queue the import itself."""
    return _start(request, upload_id, body, False)


class ParamOut(Schema):
    name: str
    type: str
    required: bool
    nullable: bool
    choices: list[str]
    help: str


class ActionOut(Schema):
    name: str
    target: str
    action: str
    title: str
    description: str
    domain: str
    per: str | None
    params: list[ParamOut]
    examples: list[dict]


class SelectionIn(Schema):
    where: list[str | list[str]] = []
    any: bool = False
    include_disabled: bool = False
    list: str | None = None
    ids: builtins.list[str] | None = None
    exclude: builtins.list[str] = []


class ActionIn(Schema):
    selection: SelectionIn = SelectionIn()
    params: dict = {}
    scope: str = ""


class SelectionOut(Schema):
    count: int
    first: list[dict]


def _action_out(a) -> dict:
    return {
        "name": a.name,
        "target": a.target,
        "action": a.verb,
        "title": str(a.title),
        "description": str(a.description),
        "domain": a.domain,
        "per": a.per,
        "params": [
            {
                "name": p.name,
                "type": p.type.widget,
                "required": p.required,
                "nullable": p.nullable,
                "choices": list(p.type.choices),
                "help": str(p.help),
            }
            for p in a.params
        ],
        "examples": a.examples,
    }


@api.get("/actions", response=list[ActionOut], tags=["actions"])
def list_actions(request, target: str = ""):
    """The bulk actions the caller may run (on `target`: users, courses, curricula)."""
    return [_action_out(a) for a in access.actions_for(request.auth, target or None)]


def _action(request, target: str, action: str):
    return access.kind_for(request.auth, f"{target}.{action}")


@api.get("/actions/{target}/{action}", response=ActionOut, tags=["actions"])
@guarded
def get_action(request, target: str, action: str):
    """One action: its parameters (types, choices) and examples."""
    return _action_out(_action(request, target, action))


@api.post("/actions/{target}/{action}/selection", response=SelectionOut, tags=["actions"])
@guarded
def preview_selection(request, target: str, action: str, body: ActionIn):
    """How many items the selection holds, and the first 20 (to trim before acting)."""
    from registrar.bulk.selection import Selection, check, preview

    step = _action(request, target, action)
    scope = access.scope_for(request.auth, step, body.scope)
    try:
        sel = Selection.from_json(step.target, body.selection.dict())
        check(sel)
        count, first = preview(sel, access.scope_ids(scope))
    except FileError as e:
        raise HttpError(400, f"{e.code}: {CODES[e.code].format(**e.params)}") from None
    return {"count": count, "first": first}


def _start_action(request, target: str, action: str, body: ActionIn, verify_only: bool):
    step = _action(request, target, action)
    scope = access.scope_for(request.auth, step, body.scope)
    job = service.start_action(
        request.auth, step.name, body.selection.dict(), body.params, verify_only, scope
    )
    return 202, _job(job)


@api.post("/actions/{target}/{action}/verify", response={202: JobOut}, tags=["actions"])
@guarded
def verify_action(request, target: str, action: str, body: ActionIn):
    """Queue a verification of the action: the full plan per item, nothing written. Follow the
    job (`/jobs/{id}`), then read its rows (`/operations/{operation}/rows`)."""
    return _start_action(request, target, action, body, True)


@api.post("/actions/{target}/{action}/run", response={202: JobOut}, tags=["actions"])
@guarded
def run_action(request, target: str, action: str, body: ActionIn):
    """Queue the action on the selection; undo it with `/operations/{operation}/undo`."""
    return _start_action(request, target, action, body, False)


@api.get("/jobs/{job_id}", response=JobOut, tags=["jobs"])
@guarded
def get_job(request, job_id: UUID):
    """A job's status and live progress: rows done, rate, time left; its operation once done.
    A job whose worker stopped answers failed with why; `hint` says when no worker runs."""
    return _job(supervision.reap_if_stale(access.job_for(request.auth, job_id)))


@api.get("/operations", response=list[OperationOut], tags=["history"])
def list_operations(request, limit: int = 50, offset: int = 0, name: str = ""):
    """The journal, newest first: only operations inside your scope."""
    qs = access.operations_for(request.auth).select_related("scope").order_by("-pk")
    if name:
        qs = qs.filter(name=name)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    return [_operation(op) for op in qs[offset : offset + limit]]


@api.get("/operations/{op_id}", response=OperationOut, tags=["history"])
@guarded
def get_operation(request, op_id: int):
    """One operation: who, when, options' outcome, counts."""
    return _operation(access.operation_for(request.auth, op_id))


@api.get("/operations/{op_id}/rows", response=RowsOut, tags=["history"])
@guarded
def get_rows(
    request,
    op_id: int,
    result: Literal["created", "updated", "deleted", "unchanged", "skipped", "rejected"]
    | None = None,
    offset: int = 0,
    limit: int = 100,
):
    """Rows of the results file (the input, plus row, result, codes and message)."""
    op = access.operation_for(request.auth, op_id)
    offset = max(0, offset)
    rows, total = service.result_rows(op, result, offset, max(1, min(limit, 1000)))
    for r in rows:  # the input row's number is a number (the file holds text)
        if r.get("row", "").isdigit():
            r["row"] = int(r["row"])
    return {"total": total, "offset": offset, "rows": rows}


@api.get("/operations/{op_id}/files/{name}", tags=["history"], response={200: None})
@guarded
def get_file(request, op_id: int, name: Literal["results", "rejects", "log"]):
    """Download the results, rejects or log file (410 once deleted after the retention)."""
    op = access.operation_for(request.auth, op_id)
    path = service.operation_file(op, name)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=os.path.basename(path))


@api.post("/operations/{op_id}/undo", response={202: JobOut}, tags=["history"])
@guarded
def undo_operation(request, op_id: int, body: UndoIn):
    """Queue the undo of an operation; verify_only (the default) shows what it would do."""
    op = access.operation_for(request.auth, op_id)
    if not access.undoable(request.auth, op):
        raise service.Refused(refusal(op) or _("This operation cannot be undone."), 409)
    return 202, _job(service.start_undo(request.auth, op, body.verify_only))


api.add_router("/reports", "registrar.api.reports.router")  # issue 12: completion reports
api.add_router("/exports", "registrar.api.exports.router")  # issue 12: the export assistant
api.add_router("/merge", "registrar.api.merge.router")  # issue 13: merge users, transfer progress
