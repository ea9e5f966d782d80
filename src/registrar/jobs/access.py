"""The checks every page and API endpoint makes: the kind, upload, job or operation asked for,
if the user may have it (else Refused with 403 or 404)."""

from django.utils.translation import gettext as _

from registrar.bulk import engine, registry
from registrar.bulk.io.readers import FileError
from registrar.directory import permissions
from registrar.directory.models import Organisation
from registrar.journal.models import Operation

from .models import Job, Upload
from .service import Refused


def kinds_for(user) -> list:
    """The import kinds the user may run, in the catalogue's order."""
    return [k for k in registry.KINDS.values() if permissions.may_import(user, k)]


def actions_for(user, target: str | None = None) -> list:
    """The actions the user may run (on `target` when given), in the assistant's order."""
    return [
        a
        for a in registry.ACTIONS.values()
        if (target is None or a.target == target) and permissions.may_import(user, a)
    ]


def kind_for(user, name: str):
    """The step (an import kind or an action) if the user may run it."""
    try:
        kind = registry.get_step(name)
    except FileError:
        raise Refused(_("No import kind is called %(name)s.") % {"name": name}, 404) from None
    if not permissions.may_import(user, kind):
        raise Refused(_("Your roles do not let you run the %(name)s import.") % {"name": name}, 403)
    return kind


step_for = kind_for


def scope_for(user, kind, requested: str = "") -> str:
    """The organisation (extid) the import is confined to: "" for the whole platform, which only
    an unscoped role gives; a scoped administrator's own organisation (or one inside it)."""
    grants = permissions.import_scopes(user, kind)
    if not grants:
        raise Refused(_("Your roles do not let you run this import."), 403)
    if grants[0].scope_id is None:
        if requested and not Organisation.objects.filter(extid=requested).exists():
            raise Refused(
                _("No organisation has the external id %(extid)s.") % {"extid": requested}
            )
        return requested
    if not requested:
        return grants[0].scope_extid
    org = Organisation.objects.filter(extid=requested).first()
    allowed = set()
    for g in grants:
        allowed |= engine.subtree_ids(Organisation(pk=g.scope_id))
    if org is None or org.pk not in allowed:
        raise Refused(_("You may not act on organisation %(extid)s.") % {"extid": requested}, 403)
    return requested


def scope_ids(extid: str) -> set[int] | None:
    """The organisation ids a scope (an extid; "" the whole platform) covers."""
    if not extid:
        return None
    org = Organisation.objects.filter(extid=extid).first()
    return engine.subtree_ids(org) if org else set()


def upload_for(user, upload_id) -> Upload:
    up = Upload.objects.filter(pk=upload_id, user_id=user.pk).first()
    if up is None:
        raise Refused(_("No such upload."), 404)
    kind_for(user, up.kind)
    return up


def job_for(user, job_id) -> Job:
    qs = Job.objects.filter(pk=job_id)
    if not permissions.is_site_admin(user):
        qs = qs.filter(user_id=user.pk)
    job = qs.first()
    if job is None:
        raise Refused(_("No such job."), 404)
    return job


def operations_for(user):
    return Operation.objects.filter(
        permissions.visible_operations(user, registry.names_by_domain())
    )


def operation_for(user, op_id) -> Operation:
    op = operations_for(user).filter(pk=op_id).select_related("scope", "undo_of").first()
    if op is None:
        raise Refused(_("No such operation."), 404)
    return op


def undoable(user, op: Operation) -> bool:
    """Whether the user may undo the operation: a completed import, action or undo of a step
    theirs."""
    if op.status != Operation.Status.DONE or op.undone_by_id or op.verify_only:
        return False
    name = op.undo_of.name if op.kind == "undo" and op.undo_of_id else op.name
    kind = registry.STEPS.get(name)
    return kind is not None and permissions.may_import(user, kind)


def check_owner(job: Job, user) -> None:
    """Refuse a job whose owner may no longer run it (checked again when a worker takes it: the
    account may have been disabled or have expired, a role removed or its scope changed since
    the job was queued). The message says why; nothing runs."""
    if user is None:
        reason = _("The account that queued it no longer exists.")
    elif not user.is_active:  # disabled, expired or not yet active
        reason = _("The account that queued it is disabled or has expired.")
    else:
        reason = _still_allowed(job, user)
    if reason:
        raise Refused(
            _("This job was not run: its owner may no longer do it. %(reason)s")
            % {"reason": reason},
            403,
        )


def _still_allowed(job: Job, user) -> str:
    """Why the user may no longer run the job ("" when they may)."""
    if job.what == Job.EXPORT:
        from .exports import still_allowed

        return still_allowed(job, user)
    if job.what in (Job.IMPORT, Job.ACTION):
        try:
            kind = kind_for(user, job.kind)
            scope = scope_for(user, kind, job.scope)
        except Refused as e:
            return str(e)
        if scope != job.scope:  # a platform-wide job of a user now confined to organisations
            return _("Your roles no longer cover the whole platform.")
        return ""
    op = operations_for(user).filter(pk=job.target_operation_id).select_related("undo_of").first()
    name = op and (op.undo_of.name if op.kind == "undo" and op.undo_of_id else op.name)
    kind = registry.STEPS.get(name) if name else None
    if kind is None or not permissions.may_import(user, kind):
        return _("Your roles do not let you undo operation #%(id)s.") % {
            "id": job.target_operation_id
        }
    return ""
