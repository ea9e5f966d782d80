"""The courses list (search by code or title, category, folder, published, disabled) and a
course's page (its lessons, curricula, credits, classroom sessions, and its assignments: the
counts per status and a page of learners). The catalogue is seen by every role; the learners
and their figures only inside the viewer's organisations, and only by a people role."""

from urllib.parse import urlencode

from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from registrar.catalogue.models import Category, ClassroomSession, Course, Folder, Lesson
from registrar.directory.models import User
from registrar.jobs import access
from registrar.jobs.service import Refused
from registrar.learning import models as lm

from . import browse
from .views import guarded

YES_NO = ("yes", "no")
ACT_CODES_MAX = 200  # course codes an "act on these" link may carry (the assistant's page is a GET)


def act_link(viewer, count: int, codes) -> tuple[str, str]:
    """The course assistant's selection page with this list's courses filled in (by code, so
    the same courses are selected whatever the filters), or a note when the list is too long."""
    if not access.actions_for(viewer, "courses"):
        return "", ""
    if count > ACT_CODES_MAX:
        return "", _(
            "To act on these courses, narrow the list to at most %(n)s, or select them with the "
            "assistant's criteria."
        ) % {"n": ACT_CODES_MAX}
    params = [("go", "1"), ("ids", "\n".join(codes())), ("include_disabled", "on")]
    return reverse("portal:assistant_select", args=["courses"]) + "?" + urlencode(params), ""


def _catalogue_viewer(user) -> set[int] | None | bool:
    """The viewer's people scope (None: all), or False when they see the catalogue only."""
    if not browse.may_browse_catalogue(user):
        raise Refused(_("Your roles do not let you look at the catalogue."), 403)
    try:
        return browse.people_scope(user)
    except Refused:
        return False


def _filters(request) -> dict:
    data = request.GET
    return {
        "q": browse.text(data, "q"),
        "category": browse.text(data, "category"),
        "folder": browse.text(data, "folder").strip("/"),
        "published": browse.choice(data, "published", YES_NO),
        "disabled": browse.choice(data, "disabled", browse.DISABLED, "exclude"),
    }


def courses_queryset(f: dict):
    """The courses the filters select: (queryset, category, folder)."""
    qs = Course.objects.all()
    category = folder = None
    if f["category"]:
        category = Category.objects.filter(name=f["category"]).first()
        if category is None:
            raise Refused(
                "category: " + _("no category is named %(v)s.") % {"v": f["category"]}, 400
            )
        qs = qs.filter(category_id=category.pk)
    if f["folder"]:
        folder = Folder.objects.filter(path=f["folder"]).first()
        if folder is None:
            raise Refused("folder: " + _("no folder has the path %(v)s.") % {"v": f["folder"]}, 400)
        # The folder and every folder below it (paths are slash-joined from the root).
        qs = qs.filter(Q(folder_id=folder.pk) | Q(folder__path__startswith=folder.path + "/"))
    for term in f["q"].split()[:5]:
        qs = qs.filter(Q(code__icontains=term) | Q(title__icontains=term))
    if f["published"]:
        qs = qs.filter(published=f["published"] == "yes")
    if f["disabled"] == "exclude":
        qs = qs.filter(disabled=False)
    elif f["disabled"] == "only":
        qs = qs.filter(disabled=True)
    return qs, category, folder


@guarded
@require_GET
def courses(request):
    """The courses list, with each course's lessons and, for a people role, its figures."""
    scope = _catalogue_viewer(request.user)
    f = _filters(request)
    qs, category, folder = courses_queryset(f)
    count = qs.count()
    pager = browse.Pager(browse.page_number(request.GET), count)
    rows = list(
        pager.slice(
            qs.order_by("code").values(
                "id", "code", "title", "published", "disabled", "category__name", "folder__path"
            )
        )
    )
    ids = [r["id"] for r in rows]
    lessons = dict(
        Lesson.objects.filter(course_id__in=ids)
        .values("course_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("course_id", "n")
    )
    # No learner figures here: a page of courses holds a twentieth of every record (50 of
    # 1,000 courses), which no page can read in time; each course's page counts its own.
    for r in rows:
        r["lessons"] = lessons.get(r["id"], 0)
    keep = {k: v for k, v in f.items() if v and not (k == "disabled" and v == "exclude")}
    act_url, act_note = ("", "")
    if count:
        act_url, act_note = act_link(
            request.user,
            count,
            lambda: qs.order_by("code").values_list("code", flat=True)[:ACT_CODES_MAX],
        )
    return render(
        request,
        "portal/courses.html",
        {
            "act_url": act_url,
            "act_note": act_note,
            "f": f,
            "rows": rows,
            "pager": pager,
            "category": category,
            "folder": folder,
            "people": scope is not False,
            "categories": list(Category.objects.order_by("name").values_list("name", flat=True)),
            "query": urlencode(keep),
            "nav": "courses",
        },
    )


def course_for(code: str) -> Course:
    c = (
        Course.objects.filter(code=code[: browse.MAX_TEXT])
        .select_related("category", "folder", "certificate_template")
        .first()
    )
    if c is None:
        raise Refused(_("No such course."), 404)
    return c


LEARNER_FIELDS = ("id", "login", "last_name", "first_name", "organisation__label")


@guarded
@require_GET
def course(request, code):
    """A course's page: its content, sessions, and its learners by status."""
    scope = _catalogue_viewer(request.user)
    c = course_for(code)
    status = browse.choice(request.GET, "status", tuple(browse.STATUSES), "assigned")
    counts, learners, pager = {}, [], None
    if scope is not False:
        counts = browse.pair_counts(scope, course_ids=[c.pk])
        # One pair per learner and course: the status's figure is its learners' count.
        chosen = browse.in_scope(User.objects.filter(disabled=False), scope).filter(
            browse.learners_q(status, c.pk)
        )
        pager = browse.Pager(browse.page_number(request.GET), counts[status])
        learners = list(
            pager.slice(chosen.order_by("last_name", "first_name", "login").values(*LEARNER_FIELDS))
        )
        cells = browse.course_cells([r["id"] for r in learners], c.pk) if learners else {}
        for r in learners:
            r.update(cells.get(r["id"], {}))
    # Seats are counted over the viewer's organisations only (all of them for the catalogue's
    # own administrators, who see no learner).
    seat = (
        Q()
        if scope is None or scope is False
        else Q(seats__user__organisation_id__in=sorted(scope))
    )
    sessions = list(
        ClassroomSession.objects.filter(course_id=c.pk)
        .select_related("trainer")
        .annotate(
            booked=Count("seats", filter=seat & Q(seats__status=lm.Seat.Status.BOOKED)),
            waiting=Count("seats", filter=seat & Q(seats__status=lm.Seat.Status.WAITING)),
            attended=Count("seats", filter=seat & Q(seats__status=lm.Seat.Status.ATTENDED)),
        )
        .order_by("-start")[: browse.SECTION_ROWS]
    )
    return render(
        request,
        "portal/course.html",
        {
            "c": c,
            "lessons": list(c.lessons.order_by("position", "code")[: browse.SECTION_ROWS]),
            "curricula": list(c.curricula.order_by("code").values("code", "title")[:50]),
            "credits": list(c.credits.select_related("credit_type").order_by("credit_type__name")),
            "sessions": sessions,
            "people": scope is not False,
            "counts": counts,
            "status": status,
            "statuses": [(k, label, counts.get(k, 0)) for k, label in browse.STATUSES.items()],
            "learners": learners,
            "pager": pager,
            "query": urlencode({"status": status}),
            "nav": "courses",
        },
    )
