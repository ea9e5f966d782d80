"""users.remove-course-assignments (SPEC §5): the selected users' assignments to the courses
removed; the learner's records stay (completion_kept)."""

from django.utils.translation import gettext_lazy as _

from registrar.core import lookups
from registrar.learning import assignments, records
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus

from ... import params as P
from ...action import Action, Param
from ...kind import DELETED


class RemoveCourseAssignments(Action):
    verb = "remove-course-assignments"
    title = _("Remove course assignments")
    description = _(
        "Removes each selected user's assignment to the courses (the assignment, not the course). "
        "The learner's records, credits and certificates stay: a completed course keeps its "
        "completion (warning `completion_kept`). A user not assigned is skipped (`not_enrolled`). "
        "Undo re-creates the assignments as they were."
    )
    per, per_type = "courses", "course"
    mail_fields = ("user", "course", "portal_url")
    params = [Param("courses", P.courses(), required=True, help=_("The codes of the courses."))]
    examples = [{"courses": ["SAFE-101"]}]

    def resolve(self, rows, ctx):
        pairs = {(r.values["user"]["id"], r.values["object"]["id"]) for r in rows}
        fields = records.columns(CourseAssignment, "id", "user_id", "course_id")
        assigned = lookups.exact_pairs(CourseAssignment, "user_id", "course_id", pairs, *fields)
        done = lookups.exact_pairs(CourseRecord, "user_id", "course_id", assigned, "status")
        return {"assigned": assigned, "records": done}

    def plan(self, rows, refs, ctx):
        for r in rows:
            pair = (r.values["user"]["id"], r.values["object"]["id"])
            if pair not in refs["assigned"]:
                r.skip("not_enrolled", value=r.values["object"]["code"])
                continue
            r.result = DELETED
            rec = refs["records"].get(pair)
            if rec is not None and rec["status"] == CourseStatus.COMPLETED:
                r.warn("completion_kept")

    def apply(self, rows, refs, ctx):
        items = []
        for r in rows:
            before = refs["assigned"][(r.values["user"]["id"], r.values["object"]["id"])]
            items.append((before["id"], before, r.number))
        assignments.remove("course", items, ctx.op)
