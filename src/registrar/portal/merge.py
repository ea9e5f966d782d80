"""The merge assistant (SPEC §7, seed 003 "Fusion") and the progress transfer page (SPEC §8):
choose the two users (or contents), see both summaries, verify (the plan, nothing written),
confirm, run; the result says what moved. Jobs of the one engine; undo from the history."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from registrar.bulk import references
from registrar.bulk.merge import objects_summary
from registrar.jobs import access, service, supervision
from registrar.jobs.models import Job
from registrar.learning import merge

from .views import guarded

ROWS_SHOWN = 500
KINDS = {"merge-users", "transfer-user", "transfer-content"}


def _summary(user, step, login: str, scope: str) -> tuple[dict | None, str]:
    """A user's summary, or why not: one outside the scope is not told apart from none."""
    if not login:
        return None, ""
    found = references.find_one("user", login)
    ids = access.scope_ids(scope)
    if found is None or (ids is not None and found["organisation_id"] not in ids):
        return None, _("No user has the login %(login)s.") % {"login": login}
    return merge.summary(found["id"]), ""


@guarded
@require_http_methods(["GET", "POST"])
def merge_page(request):
    """Choose Z (removed) and A (kept), see both summaries, verify the merge."""
    step = access.kind_for(request.user, "merge-users")
    data = request.POST if request.method == "POST" else request.GET
    scope = access.scope_for(request.user, step, data.get("scope", ""))
    remove, keep = data.get("remove", "").strip(), data.get("keep", "").strip()
    z, z_error = _summary(request.user, step, remove, scope)
    a, a_error = _summary(request.user, step, keep, scope)
    error = z_error or a_error
    if z and a and z["login"] == a["login"]:
        error = _("Choose two different users: the one to remove and the one to keep.")
    if request.method == "POST" and z and a and not error:
        params = {"remove": remove, "keep": keep}
        try:
            job = service.start_action(request.user, step.name, {}, params, True, scope)
        except service.Refused as e:
            error = str(e)
        else:
            return redirect("portal:merge_job", job_id=job.pk)
    return render(
        request,
        "portal/merge.html",
        {
            "remove": remove,
            "keep": keep,
            "z": z,
            "a": a,
            "error": error,
            "scope": scope,
            "nav": "assistants",
        },
        status=400 if error else 200,
    )


@guarded
@require_http_methods(["GET", "POST"])
def transfer_page(request):
    """Transfer progress: user to user (refuse or merge on conflict), or content to content."""
    data = request.POST if request.method == "POST" else request.GET
    what = data.get("what", "user")
    name = "transfer-content" if what == "content" else "transfer-user"
    step = access.kind_for(request.user, name)
    scope = access.scope_for(request.user, step, data.get("scope", ""))
    source, dest = data.get("from", "").strip(), data.get("to", "").strip()
    conflict = data.get("on_conflict", "refuse")
    error = ""
    if request.method == "POST":
        params = {"from": source, "to": dest}
        if name == "transfer-user":
            params["on_conflict"] = conflict
        try:
            job = service.start_action(request.user, name, {}, params, True, scope)
        except service.Refused as e:
            error = str(e)
        else:
            return redirect("portal:merge_job", job_id=job.pk)
    return render(
        request,
        "portal/transfer.html",
        {
            "what": what,
            "source": source,
            "dest": dest,
            "on_conflict": conflict,
            "error": error,
            "scope": scope,
            "nav": "assistants",
        },
        status=400 if error else 200,
    )


# The results' columns as the page shows them, in the order a reader needs them on a phone.
HEADINGS = {
    "object": gettext_lazy("Object"),
    "item": gettext_lazy("Course, lesson or item"),
    "kept": gettext_lazy("Kept"),
    "why": gettext_lazy("Why"),
    "a_value": gettext_lazy("A's value"),
    "z_value": gettext_lazy("Z's value"),
    "user_login": gettext_lazy("User"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "result": gettext_lazy("Result"),
    "message": gettext_lazy("Message"),
}
OBJECTS = {
    "course_record": gettext_lazy("course record"),
    "lesson_record": gettext_lazy("lesson record"),
    "curriculum_record": gettext_lazy("curriculum record"),
    "programme_record": gettext_lazy("programme record"),
    "course_assignment": gettext_lazy("course assignment"),
    "curriculum_assignment": gettext_lazy("curriculum assignment"),
    "programme_assignment": gettext_lazy("programme assignment"),
    "credit": gettext_lazy("credit"),
    "certificate": gettext_lazy("certificate"),
    "exam_result": gettext_lazy("exam result"),
    "competency": gettext_lazy("competency"),
    "seat": gettext_lazy("seat"),
    "external_training": gettext_lazy("external training"),
    "record_history": gettext_lazy("record history"),
    "list_membership": gettext_lazy("list membership"),
    "role": gettext_lazy("role"),
    "audience": gettext_lazy("audience"),
    "manager_link": gettext_lazy("manager link"),
    "alternate_manager_link": gettext_lazy("alternate manager link"),
    "supervisor_link": gettext_lazy("supervisor link"),
    "trainer_link": gettext_lazy("trainer link"),
    "session_manager_link": gettext_lazy("session manager link"),
    "user": gettext_lazy("user"),
}
KEPT = {
    "A": gettext_lazy("A's"),
    "Z": gettext_lazy("Z's"),
    "moved": gettext_lazy("moved to A"),
    "cleared": gettext_lazy("cleared"),
    "removed": gettext_lazy("deleted"),
}
RESULTS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "deleted": gettext_lazy("deleted"),
    "unchanged": gettext_lazy("unchanged"),
    "skipped": gettext_lazy("skipped"),
    "rejected": gettext_lazy("rejected"),
}


def _plan_rows(op) -> tuple[list[str], list[list[str]]]:
    """The plan or the result as the page shows it: readable headings and objects."""
    from registrar.bulk.merge import results_table

    table = results_table(op.results_path, ROWS_SHOWN) if op and op.results_path else []
    if not table:
        return [], []
    names = [n for n in HEADINGS if n in table[0]]
    at = {n: table[0].index(n) for n in names}
    words = {"object": OBJECTS, "kept": KEPT, "result": RESULTS}
    rows = []
    for raw in table[1:]:
        raw = raw + [""] * (len(table[0]) - len(raw))
        row = []
        for n in names:
            value = raw[at[n]]
            row.append(str(words.get(n, {}).get(value, value)))
        rows.append(row)
    return [str(HEADINGS[n]) for n in names], rows


def _objects(op) -> list[str]:
    """The counts per object type, in words: ["course record: updated 2", …]."""
    if op is None:
        return []
    out = []
    for obj, tally in objects_summary(op).items():
        counts = ", ".join(f"{RESULTS.get(r, r)} {n}" for r, n in tally.items())
        out.append(
            _("%(object)s: %(counts)s") % {"object": OBJECTS.get(obj, obj), "counts": counts}
        )
    return out


@guarded
@require_http_methods(["GET", "POST"])
def merge_job(request, job_id):
    """The plan (a verification) with its confirmation step, or the result (a run)."""
    job = supervision.reap_if_stale(access.job_for(request.user, job_id))
    if job.kind not in KINDS:
        raise service.Refused(_("This job is not a merge or a transfer."), 404)
    error = ""
    if request.method == "POST":
        if not (job.verify_only and job.status == Job.Status.DONE):
            raise service.Refused(_("Only a completed verification can be run."), 409)
        if request.POST.get("confirm") != "on":
            error = _("Tick the box to confirm.")
        else:
            access.kind_for(request.user, job.kind)
            new = service.start_action(
                request.user, job.kind, {}, job.options.get("params"), False, job.scope
            )
            return redirect("portal:merge_job", job_id=new.pk)
    op = access.operations_for(request.user).filter(pk=job.operation_id).first()
    headers, rows = _plan_rows(op)
    params = job.options.get("params") or {}
    return render(
        request,
        "portal/merge_job.html",
        {
            "job": job,
            "op": op,
            "params": params,
            "headers": headers,
            "rows": rows,
            "objects": _objects(op),
            "counts": job.result or {},
            "running": job.status in (Job.Status.QUEUED, Job.Status.RUNNING),
            "confirmable": job.verify_only and job.status == Job.Status.DONE,
            "rejected": (job.result or {}).get("rejected", 0),
            "undoable": bool(op) and access.undoable(request.user, op),
            "error": error,
            "nav": "assistants",
        },
        status=400 if error else 200,
    )
