"""The assistants (SPEC §5): one generic wizard for every action — select, trim, choose the
action, set its parameters (a form generated from the action's declared parameters), verify or
run as a job (live progress and per-item results on the job page), undo from the history."""

import json

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from registrar.bulk.action import TARGETS
from registrar.bulk.codes import CODES
from registrar.bulk.selection import Selection, check, describe_fields, preview
from registrar.core.errors import FileError
from registrar.jobs import access, service

from .views import guarded

OPERATORS = ("eq", "contains", "before", "after", "empty", "in")
TARGET_TITLES = {
    "users": gettext_lazy("Users"),
    "courses": gettext_lazy("Courses"),
    "curricula": gettext_lazy("Curricula"),
    "statistics": gettext_lazy("Statistics"),
}
# Assistants whose action names its one item in its parameters (statistics.set: the user).
NO_SELECTION = ("statistics",)
CRITERIA_ROWS = 3


def _target(target: str) -> str:
    if target not in TARGETS:
        raise service.Refused(_("No assistant is called %(name)s.") % {"name": target}, 404)
    return target


def _selection_from_form(target: str, data) -> dict:
    """The selection the form describes, as the API's JSON object."""
    where = []
    for f, o, v in zip(data.getlist("f"), data.getlist("o"), data.getlist("v"), strict=False):
        if f.strip():
            where.append([f.strip(), o.strip(), v.strip()])
    ids = [x.strip() for x in data.get("ids", "").replace(",", "\n").splitlines() if x.strip()]
    exclude = [x.strip() for x in data.get("exclude", "").split(",") if x.strip()]
    exclude += data.getlist("drop")
    out: dict = {"where": where, "any": data.get("any") == "on"}
    if data.get("include_disabled") == "on":
        out["include_disabled"] = True
    if data.get("list", "").strip():
        out["list"] = data["list"].strip()
    if ids:
        out["ids"] = ids
    if exclude:
        out["exclude"] = list(dict.fromkeys(exclude))
    return out


def _selection_json(target: str, raw: str) -> dict:
    try:
        obj = json.loads(raw or "{}")
    except ValueError:
        raise service.Refused(_("The selection could not be read: start again.")) from None
    return obj if isinstance(obj, dict) else {}


def _checked(target: str, obj: dict) -> Selection:
    sel = Selection.from_json(target, obj)
    check(sel)
    return sel


def _error(e: FileError) -> str:
    return f"{e.code}: {CODES[e.code].format(**e.params)}"


@guarded
@require_GET
def assistants(request):
    groups = []
    for target in TARGETS:
        mine = access.actions_for(request.user, target)
        if mine:
            groups.append({"target": target, "title": TARGET_TITLES[target], "actions": mine})
    return render(request, "portal/assistants.html", {"groups": groups, "nav": "assistants"})


@guarded
@require_GET
def select(request, target):
    """Step 1: criteria, list or identifiers; the count and the first items, to trim."""
    target = _target(target)
    actions = access.actions_for(request.user, target)
    if not actions:
        raise service.Refused(_("Your roles do not let you act on %(t)s.") % {"t": target}, 403)
    if target in NO_SELECTION:
        return redirect("portal:assistant_params", target=target, verb=actions[0].verb)
    scope = access.scope_for(request.user, actions[0], request.GET.get("scope", ""))
    given = "go" in request.GET
    obj = _selection_from_form(target, request.GET) if given else {}
    error, count, first = "", None, []
    if given:
        try:
            count, first = preview(_checked(target, obj), access.scope_ids(scope))
        except FileError as e:
            error = _error(e)
    fields = describe_fields(target)
    rows = [list(w) for w in obj.get("where", [])]
    rows += [["", "eq", ""]] * max(1, CRITERIA_ROWS - len(rows))
    return render(
        request,
        "portal/assistant_select.html",
        {
            "target": target,
            "title": TARGET_TITLES[target],
            "actions": actions,
            "fields": fields,
            "operators": OPERATORS,
            "criteria": rows,
            "form": request.GET,
            "error": error,
            "count": count,
            "first": first,
            "selection": json.dumps(obj),
            "scope": scope,
            "nav": "assistants",
        },
        status=400 if error else 200,
    )


def _param_fields(action, values) -> list[dict]:
    out = []
    for p in action.params:
        out.append(
            {
                "name": p.name,
                "widget": p.type.widget,
                "choices": p.type.choices,
                "required": p.required,
                "nullable": p.nullable,
                "help": p.help,
                "value": values.get(p.name, ""),
                "clear": values.get(f"clear_{p.name}") == "on",
            }
        )
    return out


def _params_from_form(action, data) -> dict:
    """The parameters the form gives: an empty field is left out (don't change); a "clear" box
    gives null; booleans are "yes"/"no" or left out."""
    out: dict = {}
    for p in action.params:
        if p.nullable and data.get(f"clear_{p.name}") == "on":
            out[p.name] = None
            continue
        value = data.get(p.name, "").strip() if p.type.widget != "textarea" else data.get(p.name)
        if value:
            out[p.name] = value
    return out


@guarded
@require_http_methods(["GET", "POST"])
def parameters(request, target, verb):
    """Step 2: the action's parameters; verify (nothing written) or run, as a job."""
    target = _target(target)
    action = access.kind_for(request.user, f"{target}.{verb}")
    data = request.POST if request.method == "POST" else request.GET
    scope = access.scope_for(request.user, action, data.get("scope", ""))
    obj = _selection_json(target, data.get("selection", ""))
    error = ""
    count = None
    try:
        if target not in NO_SELECTION:
            count, _first = preview(_checked(target, obj), access.scope_ids(scope), limit=0)
    except FileError as e:
        error = _error(e)
    if request.method == "POST" and not error:
        params = _params_from_form(action, request.POST)
        verify = request.POST.get("go") != "run"
        try:
            job = service.start_action(request.user, action.name, obj, params, verify, scope)
        except service.Refused as e:
            error = str(e)
        else:
            return redirect("portal:job", job_id=job.pk)
    return render(
        request,
        "portal/assistant_params.html",
        {
            "target": target,
            "title": TARGET_TITLES[target],
            "action": action,
            "fields": _param_fields(action, data),
            "selection": json.dumps(obj),
            "count": count,
            "scope": scope,
            "error": error,
            "nav": "assistants",
        },
        status=400 if error else 200,
    )
