"""The users list (search, filters, counts, pages, "act on these") and a user's page (their
organisation, audiences, roles, managers, assignments, records, credits, certificates,
external trainings and the operations that last wrote them). Scoped like every page: a scoped
administrator sees the users of their subtree only, and a user outside it is a 404."""

from urllib.parse import urlencode

from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from registrar.catalogue.models import Course
from registrar.directory import tree
from registrar.directory.models import (
    Audience,
    ListMember,
    Organisation,
    RoleGrant,
    User,
    UserAudience,
)
from registrar.jobs import access
from registrar.jobs.service import Refused
from registrar.learning import models as lm

from . import browse
from .views import guarded

MAX_TERMS = 5  # words of a search; each must match the login, a name, the email or the extid
ACT_IDS_MAX = 200  # logins an "act on these" link may carry (the assistant's page is a GET)
SEARCH_FIELDS = ("login", "last_name", "first_name", "email", "extid")
# The name order is an index's (directory 0004): the disabled users come last.
SORTS = {"name": ("disabled", "last_name", "first_name", "login"), "login": ("login",)}
ROW_FIELDS = (
    "id",
    "login",
    "last_name",
    "first_name",
    "email",
    "extid",
    "disabled",
    "organisation__extid",
    "organisation__label",
)


def _terms(q: str) -> list[str]:
    terms = q.split()
    if len(terms) > MAX_TERMS:
        raise Refused(_("q: at most %(n)s words.") % {"n": MAX_TERMS}, 400)
    return terms


def _search_q(terms: list[str]) -> Q:
    out = Q()
    for t in terms:
        one = Q()
        for name in SEARCH_FIELDS:
            one |= Q(**{f"{name}__icontains": t})
        out &= one
    return out


def _filters(request) -> dict:
    """The list's filters from the query string, each checked (a bad one: 400 naming it)."""
    data = request.GET
    f = {
        "q": browse.text(data, "q"),
        "org": browse.text(data, "org"),
        "audience": browse.text(data, "audience"),
        "course": browse.text(data, "course"),
        "status": browse.choice(data, "status", tuple(browse.STATUSES)),
        "disabled": browse.choice(data, "disabled", browse.DISABLED, "exclude"),
        "sort": browse.choice(data, "sort", tuple(SORTS), "name"),
    }
    f["terms"] = _terms(f["q"])
    return f


def _lookup(model, key: str, value: str, param: str, message: str):
    if not value:
        return None
    row = model.objects.filter(**{key: value}).first()
    if row is None:
        raise Refused(f"{param}: " + message % {"v": value}, 400)
    return row


def users_queryset(viewer, f: dict, scope: set[int] | None, children=None):
    """The users the filters select, inside the viewer's scope, with what the page names:
    (queryset, organisation, audience, course)."""
    org = _lookup(
        Organisation, "extid", f["org"], "org", _("no organisation has the external id %(v)s.")
    )
    audience = _lookup(
        Audience, "name", f["audience"], "audience", _("no audience is named %(v)s.")
    )
    course = _lookup(Course, "code", f["course"], "course", _("no course has the code %(v)s."))
    qs = browse.in_scope(User.objects.all(), scope)
    if org is not None:
        under = tree.subtree(org.pk, children)
        if scope is not None and not under & scope:  # as if unknown: nothing of it is theirs
            raise Refused(
                "org: " + _("no organisation has the external id %(v)s.") % {"v": org.extid}, 400
            )
        qs = qs.filter(organisation_id__in=sorted(under))
    if f["terms"]:
        qs = qs.filter(_search_q(f["terms"]))
    if audience is not None:
        qs = qs.filter(
            pk__in=UserAudience.objects.filter(audience_id=audience.pk).values("user_id")
        )
    if f["disabled"] == "exclude":
        qs = qs.filter(disabled=False)
    elif f["disabled"] == "only":
        qs = qs.filter(disabled=True)
    if f["status"] or course is not None:  # a course alone: its learners, all statuses
        status = f["status"] or "assigned"
        qs = qs.filter(browse.learners_q(status, course and course.pk, among=qs))
    return qs, org, audience, course


def act_link(viewer, f: dict, org, audience, count: int, logins) -> tuple[str, str]:
    """The assistant's selection page with this list's users filled in, and a note when the
    list cannot be carried there. Filters the selection has (organisation subtree, audience,
    disabled, a one-word search alone) go as criteria; the others (several words, a search
    with filters, a course and its status) as the users' logins, at most ACT_IDS_MAX."""
    if not access.actions_for(viewer, "users"):
        return "", ""
    params: list[tuple[str, str]] = [("go", "1")]
    roots = browse.scope_roots(viewer)
    criteria: list[tuple[str, str, str]] = []
    if org is not None:
        criteria.append(("org", "in", org.extid))
    if audience is not None:
        criteria.append(("audience", "eq", audience.name))
    if f["disabled"] == "only":
        criteria.append(("disabled", "eq", "true"))
    terms = f["terms"]
    expressible = not f["course"] and not f["status"]
    if terms:
        expressible = expressible and len(terms) == 1 and not criteria
        criteria = [(name, "contains", terms[0]) for name in ("login", "lname", "fname")]
        criteria += [("email", "contains", terms[0]), ("extid", "contains", terms[0])]
    # The assistant confines a selection to one of the viewer's grants: several of them are
    # carried by logins, so that the same users are selected.
    if len(roots) > 1 and org is None:
        expressible = False
    if expressible:
        for name, op, value in criteria:
            params += [("f", name), ("o", op), ("v", value)]
        if terms:
            params.append(("any", "on"))
        if f["disabled"] == "include":
            params.append(("include_disabled", "on"))
        if roots and org is not None:
            params.append(("scope", org.extid))
    else:
        if count > ACT_IDS_MAX:
            return "", _(
                "To act on these users, narrow the list to at most %(n)s, or select them with "
                "the assistant's criteria."
            ) % {"n": ACT_IDS_MAX}
        params.append(("ids", "\n".join(logins())))
        params.append(("include_disabled", "on"))  # the logins say who: none left out
        if roots and org is not None:
            params.append(("scope", org.extid))
    url = reverse("portal:assistant_select", args=["users"]) + "?" + urlencode(params)
    return url, ""


def _query_without(f: dict, *drop: str) -> str:
    """The list's query string, without `drop` (the pager adds `page`)."""
    keep = ("q", "org", "audience", "course", "status", "disabled", "sort")
    defaults = {"disabled": "exclude", "sort": "name"}
    pairs = [(k, f[k]) for k in keep if k not in drop and f.get(k) and f[k] != defaults.get(k)]
    return urlencode(pairs)


@guarded
@require_GET
def users(request):
    """The users list: search, filters, counts, pages."""
    viewer = request.user
    scope = browse.people_scope(viewer)
    f = _filters(request)
    children = tree.children_map() if f["org"] else None
    qs, org, audience, course = users_queryset(viewer, f, scope, children)
    number = browse.page_number(request.GET)
    ordered = qs.order_by(*SORTS[f["sort"]])
    if f["terms"]:
        # A search reads every user: its page and its count in one pass, not two.
        pager, rows = browse.counted_page(ordered.values(*ROW_FIELDS), number)
    else:
        # The page's ids first, from the order's index alone (a deep page skips index entries,
        # not table rows), then their rows.
        pager = browse.Pager(number, qs.count())
        ids = list(pager.slice(ordered.values_list("pk", flat=True)))
        found = {r["id"]: r for r in User.objects.filter(pk__in=ids).values(*ROW_FIELDS)}
        rows = [found[i] for i in ids if i in found]
    count = pager.count
    ids = [r["id"] for r in rows]
    # Each shown user's own figures (their courses, whatever the filters), in two queries.
    figures = (
        browse.pair_counts(None, user_ids=ids, include_disabled=True, group="user_id")
        if ids
        else {}
    )
    cells = browse.course_cells(ids, course.pk) if course is not None and ids else {}
    for r in rows:
        r["figures"] = figures.get(r["id"], {})
        r["course"] = cells.get(r["id"], {})
    act_url, act_note = ("", "")
    if count:
        act_url, act_note = act_link(
            viewer,
            f,
            org,
            audience,
            count,
            lambda: qs.order_by("login").values_list("login", flat=True)[:ACT_IDS_MAX],
        )
    return render(
        request,
        "portal/users.html",
        {
            "f": f,
            "rows": rows,
            "pager": pager,
            "org": org,
            "audience": audience,
            "course": course,
            "audiences": list(Audience.objects.order_by("name").values_list("name", flat=True)),
            "statuses": browse.STATUSES,
            "status_label": browse.STATUSES.get(f["status"], ""),
            "query": _query_without(f, "page"),
            "act_url": act_url,
            "act_note": act_note,
            "nav": "users",
        },
    )


# -- a user's page -----------------------------------------------------------------------------

# The tables whose rows name a user, and that carry the operation that last wrote them.
USER_TABLES = (
    UserAudience,
    RoleGrant,
    ListMember,
    lm.CourseAssignment,
    lm.CurriculumAssignment,
    lm.ProgrammeAssignment,
    lm.CourseRecord,
    lm.LessonRecord,
    lm.CurriculumRecord,
    lm.ProgrammeRecord,
    lm.CreditAward,
    lm.Certificate,
    lm.CompetencyScore,
    lm.Seat,
    lm.ExternalTraining,
    lm.RecordHistory,
)
OPERATIONS_SHOWN = 50


def user_for(viewer, key: str, scope: set[int] | None) -> User:
    """The user named by login (or, failing that, by id), inside the viewer's scope; else 404."""
    cond = Q(login=key)
    if key.isdigit() and len(key) < 19:
        cond |= Q(pk=int(key))
    qs = browse.in_scope(User.objects.filter(cond), scope).select_related(
        "organisation", "organisation__parent", "manager", "alternate_manager"
    )
    found = sorted(qs[:2], key=lambda u: u.login != key)  # the login wins over an id
    if not found:
        raise Refused(_("No such user."), 404)
    return found[0]


def operation_ids(user: User) -> list[int]:
    """The operations that last wrote the user's own row or a row naming them: one query
    (each row's `op`; an operation whose writes were overwritten since is not among them)."""
    first = User.objects.filter(pk=user.pk, op__isnull=False).values_list("op")
    rest = [
        m.objects.filter(user_id=user.pk, op__isnull=False).values_list("op") for m in USER_TABLES
    ]
    return sorted({op for (op,) in first.union(*rest)}, reverse=True)


def _by_content(assignments, records, key: str) -> list[dict]:
    """Assignments and records of one kind of content, merged by content (code order)."""
    merged: dict[int, dict] = {}
    for a in assignments:
        item = getattr(a, key)
        merged.setdefault(item.pk, {"item": item})["assignment"] = a
    for r in records:
        item = getattr(r, key)
        merged.setdefault(item.pk, {"item": item})["record"] = r
    today = browse.timezone.localdate()
    out = sorted(merged.values(), key=lambda m: m["item"].code)
    for m in out:
        a, r = m.get("assignment"), m.get("record")
        m["overdue"] = bool(
            a and a.target_date and a.target_date < today and not (r and r.status == "C")
        )
    return out


def _section(qs, related: str):
    return list(qs.select_related(related).order_by(f"{related}__code")[: browse.SECTION_ROWS])


@guarded
@require_GET
def user(request, key):
    """A user's page: who they are, where, what they may do, what they learn."""
    viewer = request.user
    scope = browse.people_scope(viewer)
    u = user_for(viewer, key[: browse.MAX_TEXT], scope)
    pk = u.pk
    courses = _by_content(
        _section(lm.CourseAssignment.objects.filter(user_id=pk), "course"),
        _section(lm.CourseRecord.objects.filter(user_id=pk), "course"),
        "course",
    )
    curricula = _by_content(
        _section(lm.CurriculumAssignment.objects.filter(user_id=pk), "curriculum"),
        _section(lm.CurriculumRecord.objects.filter(user_id=pk), "curriculum"),
        "curriculum",
    )
    programmes = _by_content(
        _section(lm.ProgrammeAssignment.objects.filter(user_id=pk), "programme"),
        _section(lm.ProgrammeRecord.objects.filter(user_id=pk), "programme"),
        "programme",
    )
    ops = list(
        access.operations_for(viewer)
        .filter(pk__in=operation_ids(u)[:1000])
        .select_related("scope")
        .order_by("-pk")[:OPERATIONS_SHOWN]
    )
    operations = [{"op": op, "undoable": access.undoable(viewer, op)} for op in ops]
    rows = browse.SECTION_ROWS
    return render(
        request,
        "portal/user.html",
        {
            "u": u,
            "audiences": list(
                Audience.objects.filter(useraudience__user_id=pk)
                .order_by("name")
                .values_list("name", flat=True)
            ),
            "grants": list(
                RoleGrant.objects.filter(user_id=pk)
                .select_related("role", "scope")
                .order_by("role__name")
            ),
            "courses": courses,
            "curricula": curricula,
            "programmes": programmes,
            "content_count": len(curricula) + len(programmes),
            "credits": list(
                lm.CreditAward.objects.filter(user_id=pk)
                .select_related("course", "credit_type")
                .order_by("-awarded_on", "pk")[:rows]
            ),
            "certificates": list(
                lm.Certificate.objects.filter(user_id=pk)
                .select_related("course", "template")
                .order_by("-issued_at", "pk")[:rows]
            ),
            "trainings": list(
                lm.ExternalTraining.objects.filter(user_id=pk).order_by("-end_date", "pk")[:rows]
            ),
            "operations": operations,
            "section_rows": rows,
            "nav": "users",
        },
    )
