"""users.remove-curriculum-assignments (SPEC §5): the selected users' curriculum assignments
removed, optionally with the assignments of the curricula's courses; records stay."""

from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import CurriculumCourse
from registrar.core import lookups
from registrar.learning import assignments, records
from registrar.learning.models import (
    CourseAssignment,
    CourseRecord,
    CourseStatus,
    CurriculumAssignment,
    CurriculumRecord,
)

from ... import params as P
from ...action import Action, Param
from ...kind import DELETED
from .reset_curricula import INCLUDE_COURSES, course_pairs, own_courses


def _others(course_pairs_: set, removed: set[int]) -> set[tuple[int, int]]:
    """The (user, course) pairs whose course belongs to another curriculum the user stays
    assigned to (one not being removed): their course assignment is still needed."""
    others: dict[int, set[int]] = {}
    for part in lookups.chunks({c for u, c in course_pairs_}):
        for cur, course in CurriculumCourse.objects.filter(course_id__in=part).values_list(
            "curriculum_id", "course_id"
        ):
            if cur not in removed:
                others.setdefault(course, set()).add(cur)
    wanted = {(u, cur) for u, c in course_pairs_ for cur in others.get(c, ())}
    kept = lookups.exact_pairs(CurriculumAssignment, "user_id", "curriculum_id", wanted)
    return {(u, c) for u, c in course_pairs_ if any((u, x) in kept for x in others.get(c, ()))}


class RemoveCurriculumAssignments(Action):
    verb = "remove-curriculum-assignments"
    title = _("Remove curriculum assignments")
    description = _(
        "Removes each selected user's assignment to the curricula. With `include_courses`, the "
        "user's assignments to the curriculum's courses go too, except a course that is also in "
        "another curriculum the user stays assigned to. Records, credits and certificates stay: "
        "a completed curriculum or course keeps its completion (warning `completion_kept`). A "
        "user with nothing to remove is skipped (`not_enrolled`). Undo re-creates the "
        "assignments as they were."
    )
    per, per_type = "curricula", "curriculum"
    mail_fields = ("user", "curriculum", "portal_url")
    params = [
        Param("curricula", P.curricula(), required=True, help=_("The codes of the curricula.")),
        INCLUDE_COURSES,
    ]
    examples = [{"curricula": ["CUR-SALES"], "include_courses": True}]
    example_selection = {"where": [["org", "in", "ACME"]]}

    def resolve(self, rows, ctx):
        pairs = {(r.values["user"]["id"], r.values["object"]["id"]) for r in rows}
        fields = records.columns(CurriculumAssignment, "id", "user_id", "curriculum_id")
        assigned = lookups.exact_pairs(
            CurriculumAssignment, "user_id", "curriculum_id", pairs, *fields
        )
        courses = course_pairs(rows, ctx)
        wanted = {p for ps in courses.values() for p in ps}
        course_fields = records.columns(CourseAssignment, "id", "user_id", "course_id")
        course_assigned = lookups.exact_pairs(
            CourseAssignment, "user_id", "course_id", wanted, *course_fields
        )
        removed = {c["id"] for c in ctx.options["curricula"]}
        for pair in _others(set(course_assigned), removed):
            del course_assigned[pair]
        return {
            "assigned": assigned,
            "courses": courses,
            "course_assigned": course_assigned,
            "done": lookups.exact_pairs(
                CurriculumRecord, "user_id", "curriculum_id", assigned, "status"
            ),
            "courses_done": lookups.exact_pairs(
                CourseRecord, "user_id", "course_id", course_assigned, "status"
            ),
        }

    def plan(self, rows, refs, ctx):
        completed = CourseStatus.COMPLETED
        claimed: set = set()
        for r in rows:
            pair = (r.values["user"]["id"], r.values["object"]["id"])
            courses = own_courses(
                refs["courses"].get(pair, ()), refs["course_assigned"].__contains__, claimed
            )
            if pair not in refs["assigned"] and not courses:
                r.skip("not_enrolled", value=r.values["object"]["code"])
                continue
            r.result = DELETED
            r.data["courses"] = courses
            kept = [refs["done"].get(pair)] + [refs["courses_done"].get(p) for p in courses]
            if any(k is not None and k["status"] == completed for k in kept):
                r.warn("completion_kept")

    def apply(self, rows, refs, ctx):
        items, course_items = [], []
        for r in rows:
            before = refs["assigned"].get((r.values["user"]["id"], r.values["object"]["id"]))
            if before is not None:
                items.append((before["id"], before, r.number))
            for p in r.data["courses"]:
                course = refs["course_assigned"][p]
                course_items.append((course["id"], course, r.number))
        assignments.remove("curriculum", items, ctx.op)
        assignments.remove("course", course_items, ctx.op)
