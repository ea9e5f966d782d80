"""The export assistant's page (SPEC §6): columns ticked by group, filters, the separator and the
format; a preview of the first rows and the row count; the export run as a job (progress and
download on the job page); saved configurations, the user's own and the shared ones."""

import json

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from registrar.bulk import export
from registrar.bulk.export_columns import by_group
from registrar.jobs import exports, service

from .views import guarded

GROUP_TITLES = {
    "users": gettext_lazy("Users"),
    "curricula": gettext_lazy("Curricula"),
    "courses": gettext_lazy("Courses"),
    "credits": gettext_lazy("Credits"),
    "lessons": gettext_lazy("Lessons"),
}
TEXT_FILTERS = ("org", "audience", "category", "folder", "course", "curriculum")
DEFAULT = {"columns": ["user_login", "user_lname", "user_fname", "org_extid"], "filters": {}}
PREVIEW_ROWS = 20


def config_from_form(data) -> dict:
    """The configuration the form describes, as the API's JSON object."""
    filters: dict = {}
    for k in TEXT_FILTERS:
        v = data.get(k, "").strip()
        if v:
            filters[k] = v
    for k in ("subfolders", "external_trainings"):
        if data.get(k) == "on":
            filters[k] = True
    for k in ("assigned_from", "assigned_to"):
        if data.get(k, "").strip():
            filters[k] = data[k].strip()
    if data.getlist("status"):
        filters["status"] = data.getlist("status")
    return {
        "columns": [c for c in data.getlist("columns") if c],
        "filters": filters,
        "delimiter": data.get("delimiter", ";"),
        "format": data.get("format") or "csv",
    }


def _groups(chosen: list[str]) -> list[dict]:
    return [
        {"name": g, "title": GROUP_TITLES[g], "columns": [(c, c in chosen) for c in cols]}
        for g, cols in by_group().items()
    ]


@guarded
@require_http_methods(["GET", "POST"])
def export_page(request):
    """Build, preview, save and start an export."""
    user = request.user
    scope = exports.scope_for(user, request.POST.get("scope") or request.GET.get("scope", ""))
    config, error, preview, message = dict(DEFAULT), "", None, ""
    if request.method == "GET" and request.GET.get("saved"):
        row = exports.saved_one(user, _int(request.GET["saved"]))
        config, message = dict(row.config), _("Loaded %(name)s.") % {"name": row.name}
    if request.method == "POST":
        config = config_from_form(request.POST)
        action = request.POST.get("action", "preview")
        try:
            if action == "delete":
                exports.delete_saved(user, _int(request.POST.get("saved_id", "")))
                config, message = dict(DEFAULT), _("Deleted.")
            elif action == "save":
                cfg = exports.check(config)
                try:
                    row = exports.save(
                        user,
                        request.POST.get("name", ""),
                        cfg,
                        shared=request.POST.get("shared") == "on",
                    )
                except export.FileError as e:
                    raise exports._refused(e) from None
                message = _("Saved as %(name)s.") % {"name": row.name}
            elif action == "start":
                job = exports.start(user, config, scope)
                return redirect("portal:job", job_id=job.pk)
            else:
                preview = exports.preview(user, config, scope, PREVIEW_ROWS)
        except service.Refused as e:
            if e.status != 400:
                raise
            error = str(e)
    filters = config.get("filters") or {}
    saved = [
        {"row": r, "mine": r.user_id == user.pk} for r in exports.saved_for(user).order_by("name")
    ]
    return render(
        request,
        "portal/export.html",
        {
            "groups": _groups(config.get("columns") or []),
            "filters": filters,
            "status": filters.get("status") or [],
            "delimiter": config.get("delimiter") or ";",
            "format": config.get("format") or "csv",
            "config_json": json.dumps(config, indent=1),
            "preview": preview,
            "error": error,
            "message": message,
            "saved": saved,
            "scope": scope,
            "statuses": [
                ("N", _("not started")),
                ("I", _("in progress")),
                ("C", _("completed")),
                ("B", _("browsed")),
                ("F", _("failed")),
                ("P", _("passed")),
            ],
            "nav": "export",
        },
        status=400 if error else 200,
    )


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise service.Refused(_("No such saved configuration."), 404) from None
