"""users.reset-courses (SPEC §5): the selected users' records of the courses back to not started
(course record, lesson records and attempts deleted, the before state in the journal)."""

from django.utils.translation import gettext_lazy as _

from registrar.learning import records

from ... import params as P
from ...action import Action, Param
from ...kind import DELETED


class ResetCourses(Action):
    verb = "reset-courses"
    title = _("Reset courses")
    description = _(
        "Puts each selected user's record of the courses back to not started: the course record, "
        "the records of its lessons and their attempts are deleted, and each lost status is kept "
        "in the learner's history (and in the journal: undo restores them exactly). Credits, "
        "certificates and the assignment are kept, and so are curriculum and programme records "
        "(use reset-curricula for those). A user with no progress on the course is skipped "
        "(`no_record`). Disabled users can be reset too (select them with include_disabled)."
    )
    per, per_type = "courses", "course"
    mail_fields = ("user", "course", "portal_url")
    params = [
        Param("courses", P.courses(), required=True, help=_("The codes of the courses to reset."))
    ]
    examples = [{"courses": ["SAFE-101"]}]

    def resolve(self, rows, ctx):
        pairs = {(r.values["user"]["id"], r.values["object"]["id"]) for r in rows}
        return {"progress": records.course_progress(pairs)}

    def plan(self, rows, refs, ctx):
        for r in rows:
            pair = (r.values["user"]["id"], r.values["object"]["id"])
            if refs["progress"].has(pair):
                r.result = DELETED
            else:
                r.skip("no_record", value=r.values["object"]["code"])

    def apply(self, rows, refs, ctx):
        items = [(r.values["user"]["id"], r.values["object"]["id"], r.number) for r in rows]
        records.reset_courses(ctx.op, items, refs["progress"])
