"""The portal's pages: the import centre (kind → upload → first row → options → verify → run →
progress → result) and the history with undo. Every page checks roles and scope through
registrar.jobs.access; every job goes through registrar.jobs.service, as the API's do."""

import os
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registrar.bulk import engine, registry
from registrar.bulk.docs import kind_reference, option_default, template_file
from registrar.bulk.preview import CSV_ONLY
from registrar.directory import permissions
from registrar.jobs import access, messages, retention, service, supervision
from registrar.jobs.models import Job
from registrar.journal.undo import refusal

from . import history as history_view
from .templatetags.portal import first_sentence

DOMAIN_TITLES = {
    "directory": "Organisations and people",
    "catalogue": "Catalogue",
    "learning": "Learning records",
}
ROWS_SHOWN = 50
# The headings of an action's results table (the results file keeps the columns' own names).
RESULT_HEADINGS = {
    "user_login": gettext_lazy("Login"),
    "code": gettext_lazy("Code"),
    "course_code": gettext_lazy("Course"),
    "curriculum_code": gettext_lazy("Curriculum"),
    "list": gettext_lazy("List"),
    "lesson_code": gettext_lazy("Lesson"),  # statistics.set
    "result": gettext_lazy("Result"),
    "codes": gettext_lazy("Codes"),
    "message": gettext_lazy("Message"),
}


def guarded(view):
    """Sign-in required; a refusal becomes a page with its status (403, 404...)."""

    @login_required
    @wraps(view)
    def call(request, *a, **kw):
        try:
            return view(request, *a, **kw)
        except service.Refused as e:
            html = render_to_string("portal/refused.html", {"message": str(e)}, request)
            return HttpResponse(html, status=e.status)

    return call


@guarded
@require_GET
def home(request):
    return redirect("portal:imports")


@guarded
@require_GET
def imports(request):
    kinds = access.kinds_for(request.user)
    groups = []
    for domain, title in DOMAIN_TITLES.items():
        mine = [
            {"kind": k, "summary": first_sentence(str(k.description))}
            for k in kinds
            if k.domain == domain
        ]
        if mine:
            groups.append({"title": _(title), "kinds": mine})
    return render(request, "portal/imports.html", {"groups": groups, "nav": "imports"})


@guarded
@require_http_methods(["GET", "POST"])
def kind(request, name):
    k = access.kind_for(request.user, name)
    error = ""
    if request.method == "POST":
        f = request.FILES.get("file")
        if f is None:
            error = _("Choose a file to upload.")
        else:
            up = service.save_upload(request.user, k.name, f.chunks(), f.name)
            return redirect("portal:upload", upload_id=up.pk)
    scopes = permissions.import_scopes(request.user, k)
    return render(
        request,
        "portal/kind.html",
        {
            "kind": k,
            "ref": kind_reference(k),
            "error": error,
            "scoped": [g for g in scopes if g.scope_id],
            "nav": "imports",
        },
        status=400 if error else 200,
    )


@guarded
@require_GET
def template(request, name, fmt):
    k = access.kind_for(request.user, name)
    if fmt not in ("csv", "xlsx"):
        raise service.Refused(_("Templates come as csv or xlsx."), 404)
    path = template_file(k, fmt)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{k.name}-template.{fmt}")


def _option_fields(k, values: dict) -> list[dict]:
    """The options form: the engine's and the kind's, each with its current value."""
    fields = []
    for o in [*engine.ENGINE_OPTIONS, *k.options]:
        switch = isinstance(o.default, bool)
        current = values.get(o.name, option_default(o))
        fields.append(
            {
                "name": o.name,
                "help": o.help,
                "switch": switch,
                "checked": str(current).lower() in ("yes", "true", "1", "on"),
                "choices": [c for c in (o.choices or ()) if c != "\t"],
                "value": current,
                "engine": o in engine.ENGINE_OPTIONS,
            }
        )
    return fields


def _posted_options(request, k) -> dict:
    out = {}
    for o in [*engine.ENGINE_OPTIONS, *k.options]:
        if isinstance(o.default, bool):
            out[o.name] = "yes" if request.POST.get(f"opt_{o.name}") else "no"
        else:
            value = request.POST.get(f"opt_{o.name}", "").strip()
            if value or o.default:
                out[o.name] = value
    return out


def _scope_choices(user, k) -> list[dict]:
    grants = permissions.import_scopes(user, k)
    if not grants or grants[0].scope_id is None:
        return []
    return [{"extid": g.scope_extid, "label": g.scope_label} for g in grants]


@guarded
@require_http_methods(["GET", "POST"])
def upload(request, upload_id):
    """The preview of an upload and its options; "Check again" previews with the options
    posted; Verify and Import start the job, never for a file the import would refuse."""
    up = access.upload_for(request.user, upload_id)
    k = access.kind_for(request.user, up.kind)
    values = {}
    preview = None
    if request.method == "POST":
        values = _posted_options(request, k)
        action = request.POST.get("action")
        if action != "preview":
            preview = service.preview(up, values, count=False)
        if action in ("verify", "run") and not preview.get("error") and not preview["refused"]:
            scope = access.scope_for(request.user, k, request.POST.get("scope", "").strip())
            job = service.start_import(
                request.user,
                up,
                values,
                verify_only=action != "run",
                all_or_nothing=bool(request.POST.get("all_or_nothing")),
                scope=scope,
            )
            return redirect("portal:job", job_id=job.pk)
    if preview is None or "error" not in preview:
        preview = service.preview(up, values)
    fields = _option_fields(k, values)
    if preview.get("format", "csv") != "csv":  # a spreadsheet has no separator nor encoding
        fields = [f for f in fields if f["name"] not in CSV_ONLY]
    return render(
        request,
        "portal/upload.html",
        {
            "upload": up,
            "kind": k,
            "preview": preview,
            "fields": fields,
            "scopes": _scope_choices(request.user, k),
            "whole_platform": not _scope_choices(request.user, k),
            "nav": "imports",
        },
        status=400 if request.POST.get("action") in ("verify", "run") else 200,  # refused
    )


def _item_results(op) -> tuple[list[dict], int]:
    """An action's results to show: the rejected items, then the skipped, then the others, at
    most ROWS_SHOWN; and how many there are in all."""
    shown: list[dict] = []
    for result in ("rejected", "skipped"):
        rows, _n = service.result_rows(op, result, 0, ROWS_SHOWN - len(shown))
        shown += rows
    if len(shown) < ROWS_SHOWN:
        rows, _n = service.result_rows(op, None, 0, ROWS_SHOWN)
        shown += [r for r in rows if r.get("result") not in ("rejected", "skipped")]
    return shown[:ROWS_SHOWN], op.rows


def _job_context(request, job: Job) -> dict:
    op = None
    rejected: list[dict] = []
    rejected_total = 0
    if job.operation_id:
        op = access.operations_for(request.user).filter(pk=job.operation_id).first()
        if op is not None and job.what == Job.IMPORT:
            rejected, rejected_total = service.result_rows(op, "rejected", 0, ROWS_SHOWN)
            messages.localize(op, rejected)
        elif op is not None and job.what == Job.ACTION:  # per-item results, rejected first
            rejected, rejected_total = _item_results(op)
            messages.localize(op, rejected)
    counts = [
        (name, job.result.get(name, 0))
        for name in ("created", "updated", "deleted", "unchanged", "skipped", "rejected")
    ]
    kind = registry.STEPS.get(job.kind)
    paths = {n: getattr(op, f"{n}_path") for n in ("results", "rejects", "log")} if op else {}
    files = [n for n, path in paths.items() if path and os.path.exists(path)]
    upload = job.upload
    return {
        "job": job,
        "hint": supervision.waiting_hint(job),
        "files": files,
        "files_purged": retention.files_purged(op.pk) if op is not None and not files else None,
        "upload_gone": service.upload_gone(upload) if upload and upload.purged_at else "",
        "kind_title": kind.title if kind else job.kind,
        "op": op,
        "counts": counts,
        "rejected": rejected,
        "rejected_total": rejected_total,
        "rejected_more": max(0, rejected_total - len(rejected)),
        "percent": round((job.fraction or 0) * 100, 1),
        "undoable": bool(op) and access.undoable(request.user, op),
        "nav": {Job.IMPORT: "imports", Job.ACTION: "assistants"}.get(job.what, "history"),
        "per_item": job.what == Job.ACTION,
        "headings": [RESULT_HEADINGS.get(k, k) for k in (rejected[0] if rejected else {})],
    }


@guarded
@require_GET
def job(request, job_id):
    j = supervision.reap_if_stale(access.job_for(request.user, job_id))
    return render(request, "portal/job.html", _job_context(request, j))


@guarded
@require_GET
def job_status(request, job_id):
    """The live part of the job page, polled by htmx until the job ends."""
    j = supervision.reap_if_stale(access.job_for(request.user, job_id))
    return render(request, "portal/_job_status.html", _job_context(request, j))


@guarded
@require_POST
def job_rerun(request, job_id):
    """Run for real what a verification checked: same file, same options, same scope."""
    j = access.job_for(request.user, job_id)
    if not (j.verify_only and j.status == Job.Status.DONE):
        # Only a finished verification leads to a real run: a second click must not import twice.
        raise service.Refused(_("Only a completed verification can be run."), 409)
    if j.what == Job.IMPORT:
        up = access.upload_for(request.user, j.upload_id)
        new = service.start_import(request.user, up, j.options, False, j.all_or_nothing, j.scope)
    elif j.what == Job.ACTION:
        access.kind_for(request.user, j.kind)
        new = service.start_action(
            request.user,
            j.kind,
            j.options.get("selection"),
            j.options.get("params"),
            False,
            j.scope,
        )
    else:
        op = access.operation_for(request.user, j.target_operation_id)
        if not access.undoable(request.user, op):
            raise service.Refused(refusal(op) or _("This operation cannot be undone."), 409)
        if (j.result or {}).get("conflict_count") and request.POST.get("confirm") != "on":
            raise service.Refused(
                _(
                    "Some rows changed since the operation: tick the box to undo the rest and "
                    "leave those as they are."
                ),
                400,
            )
        new = service.start_undo(request.user, op, verify_only=False)
    return redirect("portal:job", job_id=new.pk)


@guarded
@require_GET
def history(request):
    f = history_view.filters(request.GET)
    qs = access.operations_for(request.user).select_related("scope", "undo_of").order_by("-pk")
    page = Paginator(history_view.filtered(qs, f), 50).get_page(request.GET.get("page"))
    ops = list(page)
    states = history_view.states(ops)
    rows = [
        {
            "op": op,
            "title": history_view.title(op),
            "state": states.get(op.pk),
            "undoable": access.undoable(request.user, op),
        }
        for op in ops
    ]
    return render(
        request,
        "portal/history.html",
        {
            "page": page,
            "rows": rows,
            "f": f,
            "kinds": history_view.kind_choices(),
            "query": history_view.query_string(f),
            "nav": "history",
        },
    )


@guarded
@require_GET
def operation(request, op_id):
    op = access.operation_for(request.user, op_id)
    rejected, total = service.result_rows(op, "rejected", 0, ROWS_SHOWN)
    messages.localize(op, rejected)
    files = [
        (name, os.path.basename(getattr(op, f"{name}_path")))
        for name in ("results", "rejects", "log")
        if getattr(op, f"{name}_path") and os.path.exists(getattr(op, f"{name}_path"))
    ]
    return render(
        request,
        "portal/operation.html",
        {
            "op": op,
            "title": history_view.title(op),
            "state": history_view.states([op]).get(op.pk),
            "options": history_view.options(op),
            "tables": history_view.tables(op),
            "summary": messages.summary(op),
            "warned": messages.warned(op, ROWS_SHOWN),
            "counts": op.counts(),
            "rejected": rejected,
            "rejected_total": total,
            "rejected_more": max(0, total - len(rejected)),
            "files": files,
            "undoable": access.undoable(request.user, op),
            "nav": "history",
        },
    )


@guarded
@require_POST
def operation_undo(request, op_id):
    op = access.operation_for(request.user, op_id)
    if not access.undoable(request.user, op):
        raise service.Refused(refusal(op) or _("This operation cannot be undone."), 409)
    verify = request.POST.get("action") != "undo"
    job = service.start_undo(request.user, op, verify_only=verify)
    return redirect("portal:job", job_id=job.pk)


@guarded
@require_GET
def operation_file(request, op_id, name):
    op = access.operation_for(request.user, op_id)
    if name == "rejects-with-reasons":  # made on demand from the rejects and results files
        path = messages.rejects_with_reasons(op) or service.operation_file(op, "rejects")
        return FileResponse(
            open(path, "rb"), as_attachment=True, filename=f"{op.pk}-{os.path.basename(path)}"
        )
    path = service.operation_file(op, name)  # 410 once purged, 404 when there is none
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=f"{op.pk}-{os.path.basename(path)}"
    )
