"""The portal's home: the completion dashboard (SPEC §9). Completion rate, assigned / in progress
/ completed / overdue per course and per organisation subtree, from the report's one query
layer (registrar.reports.completions), inside the reader's scope, with filters, the
accreditation view, charts (Chart.js, served from the static files) and links down to the
learners behind each figure (the users page: /users/?org=&course=&status=)."""

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from registrar.catalogue.models import Course, Curriculum
from registrar.reports import access
from registrar.reports.completions import (
    COUNTS,
    Filters,
    ReportError,
    Tree,
    completions,
    titles,
)

COURSES_SHOWN = 100  # rows of the course table (the largest first); the rest are counted
CHART_COURSES = 12  # bars of the course chart
CHOICES_LIMIT = 2000  # organisations and courses offered in the filters' suggestion lists
USERS_PAGE = "/users/"
FILTER_KEYS = ("org", "course", "curriculum", "since", "until", "accreditation")


def users_link(org: str, course: str, status: str) -> str:
    """The users page listing the learners behind a figure (its query keys: org, course,
    status; empty ones left out)."""
    query = {k: v for k, v in (("org", org), ("course", course), ("status", status)) if v}
    return f"{USERS_PAGE}?{urlencode(query)}"


def _links(org: str, course: str) -> dict[str, str]:
    return {s: users_link(org, course, s) for s in COUNTS}


def _totals(rows: list[dict]) -> dict:
    """The sums of the course rows (each learner and course counts in exactly one row)."""
    out = {c: sum(r[c] for r in rows) for c in COUNTS}
    out["completion_rate"] = round(out["completed"] / out["assigned"], 3) if out["assigned"] else 0
    return out


def _percent(rate: float) -> float:
    return round(rate * 100, 1)


def _filters_form(request) -> tuple[dict, Filters | None, str]:
    """The filter values as given (for the form), the parsed filters, and an error."""
    values = {k: request.GET.get(k, "")[:200] for k in FILTER_KEYS}
    try:
        return values, Filters.parse(values), ""
    except ReportError as e:
        return values, None, _label(e)


def _label(e: ReportError) -> str:
    names = {
        "org": _("Organisation"),
        "course": _("Course"),
        "curriculum": _("Curriculum"),
        "since": _("Assigned from"),
        "until": _("Assigned until"),
        "accreditation": _("Accreditation view"),
        "by": _("Report"),
        "scope": _("Scope"),
    }
    return f"{names.get(e.key, e.key)}: {e.message}"


def _organisation_rows(rows: list[dict], tree: Tree, filters: Filters, scope) -> list[dict]:
    """The organisation table: the top of what is counted (the `org` filter, or the tops of the
    reader's scope, or the roots) and the organisations just below it, each counting its
    subtree."""
    by_extid = {r["org_extid"]: r for r in rows}
    if filters.org:
        tops = [tree.by_extid[filters.org]]
    elif scope is not None:
        tops = tree.roots_of(set(scope))
    else:
        tops = tree.children.get(None, [])
    out = []
    for top in sorted(tops, key=lambda pk: tree.extid[pk]):
        for pk, depth in [(top, 0), *((c, 1) for c in tree.children.get(top, []))]:
            row = by_extid.get(tree.extid[pk])
            if row is None:
                continue
            extid = tree.extid[pk]
            out.append(
                {
                    **row,
                    "label": tree.label[pk],
                    "depth": depth,
                    "percent": _percent(row["completion_rate"]),
                    "links": _links(extid, filters.course),
                    "drill": "?" + urlencode({"org": extid, **_query(replace(filters, org=""))}),
                    "has_children": bool(tree.children.get(pk)),
                }
            )
    return out


def _query(filters: Filters) -> dict:
    """The dashboard's own query string for `filters` (to drill down keeping the others)."""
    q = {
        "org": filters.org,
        "course": filters.course,
        "curriculum": filters.curriculum,
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
        "accreditation": "1" if filters.accreditation else "",
    }
    return {k: v for k, v in q.items() if v}


@login_required
@require_GET
def dashboard(request):
    """The completion dashboard; a user whose roles hold no learning records (a content
    administrator) is sent to the import centre, the home the portal had before."""
    if not access.may_read(request.user):
        return redirect("portal:imports")
    tree = Tree()
    scope = access.scope_for(request.user, tree)
    values, filters, error = _filters_form(request)
    courses, orgs, status = [], [], 400 if error else 200
    if filters is not None:
        try:
            courses = completions("course", filters, scope, tree=tree, cached=True)
            orgs = completions("organisation", filters, scope, tree=tree, cached=True)
        except ReportError as e:
            error, status, filters = _label(e), e.status, None
    context = _context(request, tree, scope, values, filters, courses, orgs)
    context["error"] = error
    return render(request, "portal/dashboard.html", context, status=status)


def _context(request, tree, scope, values, filters, courses, orgs) -> dict:
    filters = filters or Filters()
    scope_org = filters.org
    if not scope_org and scope is not None:
        tops = tree.roots_of(set(scope))
        scope_org = tree.extid[tops[0]] if len(tops) == 1 else ""
    totals = _totals(courses)
    names = titles("course", [r["course_code"] for r in courses]) if courses else {}
    shown = sorted(courses, key=lambda r: (-r["assigned"], r["course_code"]))[:COURSES_SHOWN]
    course_rows = [
        {
            **r,
            "title": names.get(r["course_code"], ""),
            "percent": _percent(r["completion_rate"]),
            "links": _links(scope_org, r["course_code"]),
        }
        for r in shown
    ]
    org_rows = _organisation_rows(orgs, tree, filters, scope) if orgs else []
    visible = sorted(scope) if scope is not None else None
    org_choices = [
        {"extid": tree.extid[pk], "label": tree.label[pk]}
        for pk in tree.depth_first(
            tree.roots_of(set(visible)) if visible else tree.children.get(None, [])
        )
    ][:CHOICES_LIMIT]
    chart = {
        "labels": [r["course_code"] for r in course_rows[:CHART_COURSES]],
        "not_started": [r["not_started"] for r in course_rows[:CHART_COURSES]],
        "in_progress": [r["in_progress"] for r in course_rows[:CHART_COURSES]],
        "completed": [r["completed"] for r in course_rows[:CHART_COURSES]],
        "orgs": [r["org_extid"] for r in org_rows if r["depth"] == 1][:CHART_COURSES]
        or [r["org_extid"] for r in org_rows][:CHART_COURSES],
        "org_rates": [
            _percent(r["completion_rate"])
            for r in ([x for x in org_rows if x["depth"] == 1] or org_rows)[:CHART_COURSES]
        ],
        "text": {
            "not_started": _("Not started"),
            "in_progress": _("In progress"),
            "completed": _("Completed"),
            "rate": _("Completion rate (%)"),
        },
    }
    return {
        "nav": "dashboard",
        "values": values,
        "filters": filters,
        "totals": {**totals, "percent": _percent(totals["completion_rate"])},
        "total_links": _links(scope_org, filters.course),
        "course_rows": course_rows,
        "courses_hidden": max(0, len(courses) - len(course_rows)),
        "org_rows": org_rows,
        "chart": chart,
        "org_choices": org_choices,
        "course_choices": Course.objects.order_by("code").values_list("code", "title")[
            :CHOICES_LIMIT
        ],
        "curriculum_choices": Curriculum.objects.order_by("code").values_list("code", "title")[
            :CHOICES_LIMIT
        ],
        "scope_label": ", ".join(tree.label[pk] for pk in tree.roots_of(set(scope)))
        if scope is not None
        else "",
    }
