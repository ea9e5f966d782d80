"""Who has access to which content (SPEC §1 Access), decided for many (user, content) pairs at once.

A user has access to a course, curriculum or programme when assigned to it, directly or through a
curriculum or programme that contains it; or when it is published (and not disabled) and has no
audience or shares an audience with the user; or through a list access property (list_access),
which may also restrict the content to its list's members. Each function runs one query per
table it reads for the whole set of pairs (chunked under the database's parameter limit), never
one per pair.
"""

from collections import defaultdict
from collections.abc import Iterable

from registrar.catalogue.models import (
    Course,
    Curriculum,
    CurriculumCourse,
    Programme,
    ProgrammeCurriculum,
)
from registrar.core import lookups
from registrar.directory.models import UserAudience

from . import list_access
from .models import CourseAssignment, CurriculumAssignment, ProgrammeAssignment

Pair = tuple[int, int]  # (user id, content id)

KINDS = ("course", "curriculum", "programme")  # from the smallest to the largest container
CONTENT = {"course": Course, "curriculum": Curriculum, "programme": Programme}
ASSIGNMENT = {
    "course": (CourseAssignment, "course_id"),
    "curriculum": (CurriculumAssignment, "curriculum_id"),
    "programme": (ProgrammeAssignment, "programme_id"),
}
# What contains a piece of content: its link table, the child's field and the parent's field.
CONTAINER = {
    "course": ("curriculum", CurriculumCourse, "course_id", "curriculum_id"),
    "curriculum": ("programme", ProgrammeCurriculum, "curriculum_id", "programme_id"),
}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown content kind {kind!r}; kinds: {', '.join(KINDS)}")


def has_access(kind: str, pairs: Iterable[Pair]) -> set[Pair]:
    """The (user, content) pairs of `pairs` where the user has access to the content of `kind`
    (course, curriculum or programme), by any of the SPEC's ways."""
    _check_kind(kind)
    pairs = set(pairs)
    granted = open_access(kind, pairs)
    rest = pairs - granted
    if rest:
        granted |= assigned(kind, rest)
    return granted


def containers(kind: str, ids: Iterable[int]) -> dict[int, set[int]]:
    """The direct containers of each content id: the curricula of courses, the programmes of
    curricula (programmes have none)."""
    _check_kind(kind)
    out: dict[int, set[int]] = defaultdict(set)
    if kind not in CONTAINER:
        return out
    _, model, child, parent = CONTAINER[kind]
    for part in lookups.chunks({i for i in ids if i is not None}):
        for c, p in model.objects.filter(**{f"{child}__in": part}).values_list(child, parent):
            out[c].add(p)
    return out


def assigned(kind: str, pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs where the user is assigned to the content itself, or to a curriculum or
    programme that contains it (one query per assignment and link table)."""
    _check_kind(kind)
    rest = set(pairs)
    granted: set[Pair] = set()
    # reach[c]: the ids, at the current level, of `c` itself or of the containers holding it.
    reach: dict[int, set[int]] = {c: {c} for _, c in rest}
    level: str | None = kind
    while rest and level:
        wanted = {(u, x) for u, c in rest for x in reach[c]}
        if wanted:
            model, field = ASSIGNMENT[level]
            found = lookups.exact_pairs(model, "user_id", field, wanted)
            hits = {(u, c) for u, c in rest if any((u, x) in found for x in reach[c])}
            granted |= hits
            rest -= hits
        if not rest or level not in CONTAINER:
            break
        up = containers(level, {x for _, c in rest for x in reach[c]})
        reach = {c: {p for x in reach[c] for p in up.get(x, ())} for _, c in rest}
        if not any(reach.values()):
            break
        level = CONTAINER[level][0]
    return granted


def open_access(kind: str, pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs where the content is published and not disabled, and has no audience or
    shares one with the user (content, content-audience and user-audience tables: one query each)."""
    _check_kind(kind)
    pairs = set(pairs)
    if not pairs:
        return set()
    model = CONTENT[kind]
    contents = lookups.by_key(model, "id", {c for _, c in pairs}, "published", "disabled")
    open_ids = {i for i, c in contents.items() if c["published"] and not c["disabled"]}
    if not open_ids:
        return set()
    # A list access property opens the content to its list's members; one that restricts it
    # closes it to everyone else (list_access; one query when the contents have none).
    restricted, opened = list_access.visibility(kind, {(u, c) for u, c in pairs if c in open_ids})
    open_ids -= restricted
    through = model._meta.get_field("audiences").remote_field.through
    own = f"{kind}_id"
    audiences: dict[int, set[int]] = defaultdict(set)
    for part in lookups.chunks(open_ids):
        for c, a in through.objects.filter(**{f"{own}__in": part}).values_list(own, "audience_id"):
            audiences[c].add(a)
    granted = opened | {(u, c) for u, c in pairs if c in open_ids and not audiences.get(c)}
    rest = [(u, c) for u, c in pairs if c in open_ids and audiences.get(c)]
    if not rest:
        return granted
    wanted = {a for _, c in rest for a in audiences[c]}
    of_user: dict[int, set[int]] = defaultdict(set)
    users = {u for u, _ in rest}
    for part in lookups.chunks(users, lookups.IN_CHUNK // 2):
        for apart in lookups.chunks(wanted, lookups.IN_CHUNK // 2):
            for u, a in UserAudience.objects.filter(
                user_id__in=part, audience_id__in=apart
            ).values_list("user_id", "audience_id"):
                of_user[u].add(a)
    granted |= {(u, c) for u, c in rest if of_user.get(u, set()) & audiences[c]}
    return granted
