"""The merge and transfer API (SPEC §7, §8): both users' summaries, then a verification (the plan,
nothing written) or a run, queued as jobs of the one engine. Follow `/jobs/{id}`, read the plan
or the result with `/operations/{operation}/rows`, the counts per object type with
`/merge/operations/{operation}/objects`; undo with `/operations/{operation}/undo`."""

from ninja import Field, Router, Schema
from ninja.errors import HttpError

from registrar.bulk import references
from registrar.bulk.merge import objects_summary
from registrar.jobs import access, service
from registrar.learning import merge

from .views import JobOut, _job, guarded

router = Router(tags=["merge and transfer"])


class MergeIn(Schema):
    remove: str
    keep: str
    scope: str = ""


class TransferUserIn(Schema):
    source: str = Field(alias="from")
    to: str
    on_conflict: str = "refuse"
    scope: str = ""


class TransferContentIn(Schema):
    source: str = Field(alias="from")
    to: str
    scope: str = ""


class SummaryOut(Schema):
    login: str
    name: str
    organisation: str
    organisation_extid: str
    email: str
    extid: str
    disabled: bool
    counts: dict[str, int]


def _user(request, login: str, step) -> dict:
    """The summary of a user the caller may see (404 otherwise: an account outside the scope is
    not told apart from one that does not exist)."""
    scope = access.scope_for(request.auth, step, "")
    found = references.find_one("user", login)
    ids = access.scope_ids(scope)
    if found is None or (ids is not None and found["organisation_id"] not in ids):
        raise HttpError(404, f"No user has the login {login!r}.")
    return merge.summary(found["id"])


def _start(request, name: str, params: dict, scope: str, verify_only: bool):
    step = access.kind_for(request.auth, name)
    scope = access.scope_for(request.auth, step, scope)
    job = service.start_action(request.auth, name, {}, params, verify_only, scope)
    return 202, _job(job)


@router.get("/users/summary", response=dict[str, SummaryOut])
@guarded
def summaries(request, remove: str, keep: str):
    """Both users as the merge shows them: organisation, email, extid and their counts."""
    step = access.kind_for(request.auth, "merge-users")
    return {"remove": _user(request, remove, step), "keep": _user(request, keep, step)}


@router.post("/users/verify", response={202: JobOut})
@guarded
def verify_merge(request, body: MergeIn):
    """Queue the merge's verification: the plan per object, nothing written."""
    params = {"remove": body.remove, "keep": body.keep}
    return _start(request, "merge-users", params, body.scope, True)


@router.post("/users/run", response={202: JobOut})
@guarded
def run_merge(request, body: MergeIn):
    """Queue the merge: everything of `remove` moves to `keep`, `remove` is deleted."""
    params = {"remove": body.remove, "keep": body.keep}
    return _start(request, "merge-users", params, body.scope, False)


def _user_params(body: TransferUserIn) -> dict:
    return {"from": body.source, "to": body.to, "on_conflict": body.on_conflict}


@router.post("/transfer/user/verify", response={202: JobOut})
@guarded
def verify_transfer_user(request, body: TransferUserIn):
    """Queue the verification of a transfer of progress between two users."""
    return _start(request, "transfer-user", _user_params(body), body.scope, True)


@router.post("/transfer/user/run", response={202: JobOut})
@guarded
def run_transfer_user(request, body: TransferUserIn):
    """Queue a transfer of progress from user `source` to user `to`."""
    return _start(request, "transfer-user", _user_params(body), body.scope, False)


@router.post("/transfer/content/verify", response={202: JobOut})
@guarded
def verify_transfer_content(request, body: TransferContentIn):
    """Queue the verification of a transfer from one content to another (UUID or code)."""
    params = {"from": body.source, "to": body.to}
    return _start(request, "transfer-content", params, body.scope, True)


@router.post("/transfer/content/run", response={202: JobOut})
@guarded
def run_transfer_content(request, body: TransferContentIn):
    """Queue the completion of content `to` for everyone who completed content `source`."""
    params = {"from": body.source, "to": body.to}
    return _start(request, "transfer-content", params, body.scope, False)


@router.get("/operations/{op_id}/objects", response=dict[str, dict[str, int]])
@guarded
def objects(request, op_id: int):
    """A merge's or transfer's counts per object type and result."""
    op = access.operation_for(request.auth, op_id)
    if op.kind not in ("merge", "transfer"):
        raise HttpError(404, "This operation is not a merge or a transfer.")
    return objects_summary(op)
