"""List access properties (SPEC §5): who may see a course or curriculum through a list, and the
rule that assigns each list member to it as they enter the list, whichever path adds them
(directory.lists.add_memberships calls `members_entered`; a dynamic list's new members are found
when it is evaluated, `evaluate_dynamic`). Set-based and journalled: undo removes what it wrote."""

import json
from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from registrar.core import lookups
from registrar.directory.models import ListMember, User, UserList
from registrar.journal import writes

from . import assignments, progress
from .models import AccessEntry, AccessProperty, Source

KINDS = ("course", "curriculum")
DATES = ("start_date", "target_date", "end_date")
DELAYS = {d: d.removesuffix("_date") + "_delay_days" for d in DATES}
FIELDS = (
    "id",
    "course_id",
    "curriculum_id",
    "user_list_id",
    "restrict",
    "assign_members",
    "option",
    *DATES,
    *DELAYS.values(),
    "effective_now",
    "apply_to_courses",
    "op",
)


def kind_of(prop: dict) -> str:
    return "course" if prop["course_id"] else "curriculum"


def content_of(prop: dict) -> int:
    return prop["course_id"] or prop["curriculum_id"]


def of_contents(kind: str, ids) -> dict[int, list[dict]]:
    """The access properties of each content id of `kind` (course, curriculum): one query a
    chunk, none when `kind` has no properties (programmes)."""
    out: dict[int, list[dict]] = defaultdict(list)
    if kind not in KINDS:
        return out
    for part in lookups.chunks({i for i in ids if i is not None}):
        for p in AccessProperty.objects.filter(**{f"{kind}_id__in": part}).values(*FIELDS):
            out[content_of(p)].append(p)
    return out


def dynamic_users(criteria: dict, name: str = ""):
    """The users a dynamic list's criteria select now (a queryset); a list whose criteria cannot
    be used selects nobody."""
    from registrar.bulk.selection import _criteria_q, _flag, _where_list
    from registrar.core.errors import FileError

    try:
        where = _where_list((criteria or {}).get("where"))
        cond, _ = _criteria_q("users", where, _flag(criteria or {}, "any"))
    except FileError:
        return User.objects.none()
    return User.objects.filter(cond)


def _lists(list_ids) -> dict[int, dict]:
    out = lookups.by_key(UserList, "id", set(list_ids), "id", "name", "kind", "criteria")
    for x in out.values():  # PostgreSQL's raw rows hold a JSON field's text
        if isinstance(x["criteria"], str):
            x["criteria"] = json.loads(x["criteria"] or "{}")
    return out


def member_pairs(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (list id, user id) pairs where the user is a member of the list now: static lists by
    their members, dynamic ones by their criteria (one query a list)."""
    lists = _lists({lst for lst, _ in pairs})
    static = {p for p in pairs if lists.get(p[0], {}).get("kind") == UserList.Kind.STATIC}
    out = set(lookups.exact_pairs(ListMember, "user_list_id", "user_id", static))
    by_list: dict[int, set[int]] = defaultdict(set)
    for lst, uid in pairs - static:
        if lst in lists:
            by_list[lst].add(uid)
    for lst, users in by_list.items():
        qs = dynamic_users(lists[lst]["criteria"], lists[lst]["name"])
        for part in lookups.chunks(users, lookups.RAW_CHUNK):
            found = lookups.where_in(qs, "id", part).values_list("id", flat=True)
            out.update((lst, u) for u in found)
    return out


def visibility(kind: str, pairs: set[tuple[int, int]]) -> tuple[set[int], set[tuple[int, int]]]:
    """(the contents restricted to their lists, the (user, content) pairs a list opens): what
    access.open_access needs of the properties of the pairs' contents."""
    props = of_contents(kind, {c for _, c in pairs})
    if not props:
        return set(), set()
    restricted = {c for c, ps in props.items() if any(p["restrict"] for p in ps)}
    wanted = {(p["user_list_id"], u) for u, c in pairs for p in props.get(c, ())}
    members = member_pairs(wanted)
    opened = {
        (u, c) for u, c in pairs if any((p["user_list_id"], u) in members for p in props.get(c, ()))
    }
    return restricted, opened


def members_now(prop: dict) -> dict[int, datetime]:
    """The current members of a property's list and the moment each entered it."""
    lst = prop["user_list_id"]
    return members_of_lists([lst], {lst: prop.get("id")}).get(lst, {})


def wanted_values(prop: dict, entered: datetime) -> dict:
    """The option and dates a member entering at `entered` gets: fixed dates, or delays counted
    from the day they entered (in the platform's time zone)."""
    day = timezone.localtime(entered).date() if isinstance(entered, datetime) else entered
    out = {"option": prop["option"]}
    for d in DATES:
        delay = prop.get(DELAYS[d])
        if delay is not None:
            out[d] = day + timedelta(days=delay)
        elif prop.get(d) is not None:
            out[d] = prop[d]
    return out


def _learners(user_ids, scope_ids: set[int] | None = None) -> set[int]:
    """Of `user_ids`, those who can be assigned: enabled, with training access (and in the
    organisations `scope_ids`, when given)."""
    out: set[int] = set()
    for part in lookups.chunks(set(user_ids), lookups.RAW_CHUNK):
        qs = User.objects.filter(disabled=False, training_access=True)
        if scope_ids is not None:
            qs = qs.filter(organisation_id__in=sorted(scope_ids))
        out.update(lookups.where_in(qs, "id", part).values_list("id", flat=True))
    return out


def plan_entrants(
    entrants, refresh: bool = False, scope_ids: set[int] | None = None
) -> list[tuple[str, str, object, dict]]:
    """What assigning `entrants` ((property, user id, entered at) triples) writes: (kind, "new"
    or "changed", the assignment row or update item, the property that decided it). A user
    assigned already keeps the assignment, unless `refresh` and it was made by a list access
    rule (source list): it gets the rule's values. Users who cannot learn are left out; a user
    entering through two properties of one content gets the first's values (the oldest
    property). Curricula with apply_to_courses carry them to their courses. `scope_ids`: only
    users of those organisations (an administrator's scope)."""
    entrants = list(entrants)
    learners = _learners({u for _, u, _ in entrants}, scope_ids)
    now = timezone.now()
    want: dict[str, dict[tuple[int, int], tuple[dict, dict]]] = {k: {} for k in KINDS}
    curricula = {content_of(p) for p, _, _ in entrants if kind_of(p) == "curriculum"}
    courses_of = progress.courses_of_curricula(curricula) if curricula else {}
    order = sorted(entrants, key=lambda e: (e[0].get("id") or 1 << 62, e[0].get("row") or 0))
    known: dict[tuple[int, object], dict] = {}  # members entering together share their values
    for prop, uid, entered in order:
        if uid not in learners:
            continue
        kind, cid = kind_of(prop), content_of(prop)
        key = (id(prop), entered)
        values = known.get(key)
        if values is None:
            values = known[key] = wanted_values(prop, entered)
        want[kind].setdefault((uid, cid), (values, prop))
        if kind == "curriculum" and prop["apply_to_courses"]:
            for course in courses_of.get(cid, ()):
                want["course"].setdefault((uid, course), (values, prop))
    out = []
    for kind, pairs in want.items():
        if not pairs:
            continue
        fields = ("option", *DATES, "source", "op")
        have = lookups.exact_pairs(
            assignments.MODELS[kind], "user_id", f"{kind}_id", set(pairs), *fields
        )
        for (uid, cid), (values, prop) in pairs.items():
            ex = have.get((uid, cid))
            if ex is None:
                row = {
                    "user_id": uid,
                    f"{kind}_id": cid,
                    **values,
                    "source": Source.LIST,
                    "assigned_at": now,
                }
                out.append((kind, "new", row, prop))
            elif refresh and ex["source"] == Source.LIST:
                diff = {k: v for k, v in values.items() if ex.get(k) != v}
                if diff:
                    out.append((kind, "changed", (ex["id"], diff, ex, None), prop))
    return out


def write_planned(op, planned) -> int:
    """Write what plan_entrants planned (any part of it), journalled in `op`."""
    for kind in KINDS:
        new = [x for k, what, x, _ in planned if k == kind and what == "new"]
        changed = [x for k, what, x, _ in planned if k == kind and what == "changed"]
        assignments.assign(kind, new, changed, op)
    return len(planned)


def assign_entrants(op, entrants, refresh: bool = False) -> int:
    """Assign `entrants` (see plan_entrants), journalled in `op`; returns how many assignments
    were written."""
    return write_planned(op, plan_entrants(entrants, refresh))


def members_of_lists(list_ids, props: dict[int, int] | None = None) -> dict[int, dict]:
    """The current members of each list and the moment each entered it: static lists' members
    (one query a list); dynamic lists' users selected by their criteria now, entered when the
    list's property (`props`: list id -> property id) first saw them, else now."""
    lists = _lists(list_ids)
    now = timezone.now()
    out: dict[int, dict] = {}
    for lst in lists.values():
        if lst["kind"] == UserList.Kind.STATIC:
            rows = ListMember.objects.filter(user_list_id=lst["id"])
            out[lst["id"]] = dict(rows.values_list("user_id", "entered_at"))
            continue
        seen = {}
        if props and props.get(lst["id"]):
            seen = dict(
                AccessEntry.objects.filter(access_property_id=props[lst["id"]]).values_list(
                    "user_id", "entered_at"
                )
            )
        ids = dynamic_users(lst["criteria"], lst["name"]).values_list("id", flat=True)
        out[lst["id"]] = {u: seen.get(u, now) for u in ids}
    return out


def is_dynamic(list_ids) -> set[int]:
    return {i for i, x in _lists(list_ids).items() if x["kind"] == UserList.Kind.DYNAMIC}


def members_entered(op, triples) -> int:
    """Users entered lists ((list id, user id, entered at) triples): each property of those lists
    that assigns its members assigns them now. One query when no property does."""
    triples = list(triples)
    if not triples:
        return 0
    by_list: dict[int, list[dict]] = defaultdict(list)
    for part in lookups.chunks({lst for lst, _, _ in triples}):
        for p in AccessProperty.objects.filter(user_list_id__in=part, assign_members=True).values(
            *FIELDS
        ):
            by_list[p["user_list_id"]].append(p)
    if not by_list:
        return 0
    entrants = [(p, uid, at) for lst, uid, at in triples for p in by_list.get(lst, ())]
    return assign_entrants(op, entrants)


def seen_entries(prop: dict, members: dict[int, datetime]) -> list[dict]:
    """The AccessEntry rows to insert for a dynamic list's members not seen yet."""
    have = set(
        AccessEntry.objects.filter(access_property_id=prop["id"]).values_list("user_id", flat=True)
    )
    return [
        {"access_property_id": prop["id"], "user_id": u, "entered_at": at}
        for u, at in members.items()
        if u not in have
    ]


def evaluate_dynamic(op) -> int:
    """The dynamic lists of the properties that assign their members, evaluated now: a user
    their criteria select who was not seen in the list before enters it (an AccessEntry) and is
    assigned. One query when there are none; then two a property and the writes."""
    # Locked (PostgreSQL): two operations ending at once do not record the same entrant twice.
    qs = AccessProperty.objects.filter(assign_members=True, user_list__kind=UserList.Kind.DYNAMIC)
    props = list(qs.order_by("pk").select_for_update(of=("self",)).values(*FIELDS))
    n = 0
    for prop in props:
        members = members_now(prop)
        rows = seen_entries(prop, members)
        if not rows:
            continue
        writes.insert(AccessEntry, rows, op)
        n += assign_entrants(op, [(prop, r["user_id"], r["entered_at"]) for r in rows])
    return n


__all__ = [
    "assign_entrants",
    "members_of_lists",
    "write_planned",
    "evaluate_dynamic",
    "members_entered",
    "members_now",
    "of_contents",
    "plan_entrants",
    "visibility",
    "wanted_values",
]
