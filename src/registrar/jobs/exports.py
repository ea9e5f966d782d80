"""Exports for the portal and the API: who may export and over which organisations, the export
job (queued, run by the worker through bulk.export), and saved configurations."""

from types import SimpleNamespace

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registrar.bulk import export
from registrar.bulk.codes import CODES
from registrar.core.errors import FileError
from registrar.directory import permissions

from .models import Job, SavedExport
from .service import Refused, _enqueue, _progress_writer, _record_operation

# Exporting reads learner records: a role covering the learning domain over a scope allows it
# there ("learning.*", as the Organisation and Site administrators have, or "*").
EXPORT = SimpleNamespace(name="export", domain="learning")
MAX_SAVED = 200  # saved configurations per owner
MAX_NAME = 150


def may_export(user) -> bool:
    return permissions.may_import(user, EXPORT)


def scope_for(user, requested: str = "") -> str:
    """The organisation (extid) the user's export is confined to ("": the whole platform)."""
    from .access import scope_for as step_scope

    if not may_export(user):
        raise Refused(_("Your roles do not let you export learner records."), 403)
    return step_scope(user, EXPORT, requested)


def _refused(e: FileError) -> Refused:
    return Refused(f"{e.code}: {CODES[e.code].format(**e.params)}")


def check(config) -> export.Config:
    """A configuration from the API's or the portal's JSON, checked (Refused naming the key)."""
    try:
        cfg = config if isinstance(config, export.Config) else export.Config.from_json(config)
    except FileError as e:
        raise _refused(e) from None
    return cfg


def preview(user, config, scope: str = "", limit: int = 20) -> dict:
    """The first rows and the count of the user's export (their scope applied)."""
    cfg = check(config)
    scope = scope_for(user, scope)
    try:
        return export.preview(cfg, scope or None, limit)
    except FileError as e:
        raise _refused(e) from None


def start(user, config, scope: str = "") -> Job:
    """Queue an export; its references are checked now, so a wrong one is refused at once."""
    cfg = check(config)
    scope = scope_for(user, scope)
    try:
        org = export._scope(scope or None)
        export.plan(cfg, export.tree.subtree(org.pk) if org else None, org.pk if org else None)
    except FileError as e:
        raise _refused(e) from None
    job = Job.objects.create(
        user_id=user.pk, what=Job.EXPORT, kind="export", options=cfg.to_json(), scope=scope or ""
    )
    return _enqueue(job)


def still_allowed(job: Job, user) -> str:
    """Why the job's owner may no longer export (or not over the job's scope); "" if they may."""
    try:
        scope = scope_for(user, job.scope)
    except Refused as e:
        return str(e)
    if scope != job.scope:
        return _("Your roles no longer cover the whole platform.")
    return ""


def run_job(job: Job, user) -> dict:
    """The worker's runner for an export job: the same bulk.export.run as the command line."""
    report = export.run(
        export.Config.from_json(job.options),
        scope=job.scope or None,
        actor=user,
        progress=_progress_writer(job),
        on_operation=_record_operation(job),
        with_total=True,
    )
    return {
        "operation_id": report.operation.pk,
        "rows_done": report.rows,
        "rows_total": report.rows,
        "fraction": 1.0,
        "result": {"rows": report.rows, "format": report.format, "status": "done"},
    }


# --- saved configurations ----------------------------------------------------------------------


def saved_for(user):
    """The configurations a user sees: their own and the shared ones (all for the command line)."""
    qs = SavedExport.objects.all()
    if user is None:
        return qs
    return qs.filter(user_id=user.pk) | qs.filter(shared=True)


def _name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise FileError("invalid_parameter", key="name", reason="a name is needed")
    name = name.strip()
    if len(name) > MAX_NAME or "\x00" in name:
        raise FileError(
            "invalid_parameter", key="name", reason=f"is longer than {MAX_NAME} characters"
        )
    return name


def save(user, name, cfg: export.Config, shared: bool = False) -> SavedExport:
    """Save (or replace) the owner's configuration of that name."""
    name = _name(name)
    owner = None if user is None else user.pk
    mine = SavedExport.objects.filter(user_id=owner, name=name)
    if owner is None:
        mine = SavedExport.objects.filter(user_id__isnull=True, name=name)
    now = timezone.now()
    row = mine.first()
    if row is None:
        if SavedExport.objects.filter(user_id=owner).count() >= MAX_SAVED:
            raise FileError(
                "invalid_parameter", key="name", reason=f"at most {MAX_SAVED} saved configurations"
            )
        try:
            with transaction.atomic(using="jobs"):
                return SavedExport.objects.create(
                    name=name,
                    user_id=owner,
                    owner_label=getattr(user, "login", "") or "command line",
                    shared=bool(shared),
                    config=cfg.to_json(),
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            row = mine.first()
    row.config, row.shared, row.updated_at = cfg.to_json(), bool(shared), now
    row.save()
    return row


def saved_config(user, name: str) -> export.Config:
    """A saved configuration by name: the user's own first, else a shared one."""
    name = _name(name)
    rows = list(saved_for(user).filter(name=name))
    owner = None if user is None else user.pk
    mine = [r for r in rows if r.user_id == owner]
    if mine:
        rows = mine
    if not rows:
        raise FileError(
            "invalid_parameter", key="saved", reason=f"no configuration is named {name!r}"
        )
    if len(rows) > 1:
        raise FileError(
            "invalid_parameter", key="saved", reason=f"several configurations are named {name!r}"
        )
    return export.Config.from_json(rows[0].config)


def saved_one(user, pk) -> SavedExport:
    row = saved_for(user).filter(pk=pk).first()
    if row is None:
        raise Refused(_("No such saved configuration."), 404)
    return row


def delete_saved(user, pk) -> None:
    """Delete a configuration: only its owner (or a site administrator) may."""
    row = saved_one(user, pk)
    if row.user_id != user.pk and not permissions.is_site_admin(user):
        raise Refused(_("Only its owner may delete this configuration."), 403)
    row.delete()
