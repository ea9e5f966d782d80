"""What the browse pages (users, courses) share: who may browse over which organisations, the
request values they read (bounded, a bad one is a 400 naming its key), the course statuses a
learner's assignment is in, and the pager."""

from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, Window
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from registrar.directory import permissions, tree
from registrar.jobs.service import Refused
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus

# A grant in one of these domains lets one look at users and their records, in its subtree.
PEOPLE_DOMAINS = frozenset({"directory", "learning"})
PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_TEXT = 100  # characters of a search or a filter's value
SECTION_ROWS = 200  # rows of one section of a user's or a course's page

# The statuses of SPEC §9, in the order the pages show them, counted as the completion report
# counts them (registrar.reports.completions): a learner is assigned to a course when they have
# an assignment to it or a record of it (an imported completion counts, assignment or not);
# not started, in progress and completed follow the record (no record: not started); overdue is
# an assignment past its target date and not completed. Disabled users are left out unless
# asked, as there.
STATUSES = {
    "assigned": gettext_lazy("assigned"),
    "not_started": gettext_lazy("not started"),
    "in_progress": gettext_lazy("in progress"),
    "completed": gettext_lazy("completed"),
    "overdue": gettext_lazy("overdue"),
}
# Disabled users (and courses) are left out unless included (shown, marked) or asked alone.
DISABLED = ("exclude", "include", "only")

# Choice labels the templates translate from variables ({% translate a.get_option_display %}),
# listed so that makemessages finds them.
CHOICE_LABELS = [
    gettext_noop("free"),
    gettext_noop("recommended"),
    gettext_noop("mandatory"),
    gettext_noop("assignment"),
    gettext_noop("lesson"),
    gettext_noop("webinar"),
    gettext_noop("classroom activity"),
    gettext_noop("educational resource"),
    gettext_noop("in preparation"),
    gettext_noop("open"),
    gettext_noop("closed"),
    gettext_noop("closed (done)"),
    gettext_noop("cancelled"),
]


def people_scope(user) -> set[int] | None:
    """The organisations whose users the viewer may look at (None: every one): the subtrees of
    their directory and learning grants. No such grant: 403."""
    mine = [g for g in permissions.grants(user) if g.domains & PEOPLE_DOMAINS]
    if not mine:
        raise Refused(_("Your roles do not let you look at users."), 403)
    if any(g.scope_id is None for g in mine):
        return None
    children = tree.children_map()
    out: set[int] = set()
    for g in mine:
        out |= tree.subtree(g.scope_id, children)
    return out


def scope_roots(user) -> list[str]:
    """The extids of the organisations the viewer's people grants are given on ([] unscoped)."""
    mine = [g for g in permissions.grants(user) if g.domains & PEOPLE_DOMAINS]
    if any(g.scope_id is None for g in mine):
        return []
    return list(dict.fromkeys(g.scope_extid for g in mine))


def may_browse_catalogue(user) -> bool:
    """Any role lets one look at the catalogue (a scoped administrator assigns its courses)."""
    return bool(permissions.grants(user))


def in_scope(qs, scope: set[int] | None, field: str = "organisation_id"):
    """`qs` confined to the organisations of `scope` (None: unchanged)."""
    return qs if scope is None else qs.filter(**{f"{field}__in": sorted(scope)})


def text(data, key: str) -> str:
    """A text value of the query string, trimmed; longer than MAX_TEXT: 400 naming the key."""
    value = data.get(key, "").strip()
    if len(value) > MAX_TEXT:
        raise Refused(_("%(key)s: at most %(n)s characters.") % {"key": key, "n": MAX_TEXT}, 400)
    return value


def choice(data, key: str, allowed, default: str = "") -> str:
    value = text(data, key) or default
    if value and value not in allowed:
        raise Refused(
            _("%(key)s: %(value)s is not one of %(allowed)s.")
            % {"key": key, "value": value[:40], "allowed": ", ".join(allowed)},
            400,
        )
    return value


def page_number(data, key: str = "page") -> int:
    raw = text(data, key) or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise Refused(
            _("%(key)s: a page number from 1 to %(n)s.") % {"key": key, "n": MAX_PAGE}, 400
        )
    return int(raw)


class Pager:
    """One page of a counted queryset: limit/offset, the count given by the caller."""

    def __init__(self, number: int, count: int, size: int | None = None):
        size = size or PAGE_SIZE
        self.count, self.size = count, size
        self.pages = max(1, -(-count // size))
        self.number = min(number, self.pages)
        self.offset = (self.number - 1) * size

    def slice(self, qs):
        return qs[self.offset : self.offset + self.size]

    @property
    def first(self) -> int:
        return self.offset + 1 if self.count else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.count)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def counted_page(qs, number: int) -> tuple[Pager, list[dict]]:
    """A page of `qs` (a values() queryset, ordered) and the count of all its rows, from one
    query (a window count); past the last page, the last page (a second query)."""
    size = PAGE_SIZE
    offset = (number - 1) * size
    rows = list(qs.annotate(total_rows=Window(Count("pk")))[offset : offset + size])
    if rows:
        pager = Pager(number, rows[0]["total_rows"])
    else:
        pager = Pager(number, qs.count() if number > 1 else 0)
        rows = list(pager.slice(qs)) if pager.count else []
    for r in rows:
        r.pop("total_rows", None)
    return pager, rows


def _record(status) -> Exists:
    """The assignment's learner has a record on its course in `status` (one or a list)."""
    rows = CourseRecord.objects.filter(user_id=OuterRef("user_id"), course_id=OuterRef("course_id"))
    if isinstance(status, str):
        return Exists(rows.filter(status=status))
    return Exists(rows.filter(status__in=status))


def _assignment() -> Exists:
    """The record's learner has an assignment to its course."""
    return Exists(
        CourseAssignment.objects.filter(
            user_id=OuterRef("user_id"), course_id=OuterRef("course_id")
        )
    )


def learners_q(status: str = "assigned", course_id: int | None = None, among=None) -> Q:
    """The condition on users that puts one of their (user, course) pairs in `status`, on one
    course or on any course: one or two `IN (subquery)` terms, each read from the course's
    rows (its index) rather than probed user by user. On any course, `among` (a queryset of
    users) confines the subqueries to those users' rows (their index), not every row."""
    done, started, new = CourseStatus.COMPLETED, CourseStatus.IN_PROGRESS, CourseStatus.NOT_STARTED
    a, r = CourseAssignment.objects.all(), CourseRecord.objects.all()
    if course_id is not None:
        a, r = a.filter(course_id=course_id), r.filter(course_id=course_id)
    elif among is not None:
        users = among.values("pk")
        a, r = a.filter(user_id__in=users), r.filter(user_id__in=users)
    if status == "in_progress":
        return Q(pk__in=r.filter(status=started).values("user_id"))
    if status == "completed":
        return Q(pk__in=r.filter(status=done).values("user_id"))
    if status == "overdue":
        late = a.filter(target_date__lt=timezone.localdate()).filter(~_record(done))
        return Q(pk__in=late.values("user_id"))
    if status == "not_started":
        a = a.filter(~_record([done, started]))
        r = r.filter(status=new)
    # One IN over a UNION, not two INs joined by OR: the databases then read the few ids first
    # and fetch their users, instead of testing every user against both lists.
    return Q(pk__in=a.values("user_id").union(r.values("user_id")))


def with_record_status(qs):
    """Assignments `qs` with `st`, the status of their record (None when there is none): one
    LEFT JOIN on the record of the same learner and course (a subquery instead would be
    repeated in every figure that reads it)."""
    rec = FilteredRelation(
        "user__course_records", condition=Q(user__course_records__course_id=F("course_id"))
    )
    return qs.annotate(rec=rec).annotate(st=F("rec__status"))


def _figures(status: str, target: bool) -> dict:
    done, started = CourseStatus.COMPLETED, CourseStatus.IN_PROGRESS
    figures = {
        "assigned": Count("pk"),
        "not_started": Count("pk", filter=~Q(**{f"{status}__in": [done, started]})),
        "in_progress": Count("pk", filter=Q(**{status: started})),
        "completed": Count("pk", filter=Q(**{status: done})),
    }
    if target:
        figures["not_started"] = Count("pk", filter=~Q(st__in=[done, started]) | Q(st__isnull=True))
        figures["overdue"] = Count(
            "pk",
            filter=Q(target_date__lt=timezone.localdate()) & (~Q(st=done) | Q(st__isnull=True)),
        )
    return figures


def pair_counts(
    scope: set[int] | None,
    course_ids=None,
    user_ids=None,
    include_disabled: bool = False,
    group: str | None = None,
):
    """Assigned / not started / in progress / completed / overdue over the (user, course)
    pairs inside `scope`, of the given courses or users: two aggregate queries (assignments
    with their record; records without an assignment), grouped by `group` ("course_id",
    "user_id") when given: {group value: figures}, else the figures."""
    a, r = CourseAssignment.objects.all(), CourseRecord.objects.filter(~_assignment())
    for name, values in (("course_id", course_ids), ("user_id", user_ids)):
        if values is not None:
            a, r = a.filter(**{f"{name}__in": values}), r.filter(**{f"{name}__in": values})
    if scope is not None:
        a = a.filter(user__organisation_id__in=sorted(scope))
        r = r.filter(user__organisation_id__in=sorted(scope))
    if not include_disabled:
        a, r = a.filter(user__disabled=False), r.filter(user__disabled=False)
    parts = [
        (with_record_status(a), _figures("st", True)),
        (r, _figures("status", False)),
    ]
    zero = dict.fromkeys(STATUSES, 0)
    if group is None:
        out = dict(zero)
        for qs, figures in parts:
            for k, v in qs.aggregate(**figures).items():
                out[k] += v or 0
        return out
    grouped: dict = {}
    for qs, figures in parts:
        for row in qs.values(group).annotate(**figures).order_by():
            into = grouped.setdefault(row[group], dict(zero))
            for k in figures:
                into[k] += row[k]
    return grouped


def course_cells(user_ids: list[int], course_id: int) -> dict[int, dict]:
    """Each listed user's assignment and record on one course: two queries."""
    out: dict[int, dict] = {i: {} for i in user_ids}
    for a in CourseAssignment.objects.filter(user_id__in=user_ids, course_id=course_id).values(
        "user_id", "target_date", "option", "assigned_at"
    ):
        out[a["user_id"]]["assignment"] = a
    for r in CourseRecord.objects.filter(user_id__in=user_ids, course_id=course_id).values(
        "user_id", "status", "status_date", "score"
    ):
        out[r["user_id"]]["record"] = r
    today = timezone.localdate()
    for cell in out.values():
        a, r = cell.get("assignment"), cell.get("record")
        cell["overdue"] = bool(
            a
            and a["target_date"]
            and a["target_date"] < today
            and not (r and r["status"] == CourseStatus.COMPLETED)
        )
    return out
