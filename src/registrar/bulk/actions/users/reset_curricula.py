"""users.reset-curricula (SPEC §5): the selected users' curriculum records back to not started,
optionally with the records of the curricula's courses (as users.reset-courses)."""

from django.utils.translation import gettext_lazy as _

from registrar.learning import progress, records

from ... import params as P
from ...action import Action, Param
from ...kind import DELETED

INCLUDE_COURSES = Param(
    "include_courses",
    P.Boolean(),
    help=_("Also act on the curriculum's courses (false by default)."),
)


def course_pairs(rows, ctx) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """With include_courses: the (user, course) pairs of each row's (user, curriculum)."""
    if not ctx.options.get("include_courses"):
        return {}
    courses = progress.courses_of_curricula({r.values["object"]["id"] for r in rows})
    return {
        (u, cur): [(u, c) for c in courses.get(cur, ())]
        for u, cur in ((r.values["user"]["id"], r.values["object"]["id"]) for r in rows)
    }


def own_courses(pairs, present, claimed: set) -> list[tuple[int, int]]:
    """The course pairs a row acts on: those `present` that no earlier row of the batch took. A
    course in two selected curricula belongs to the first row naming it, as it would if the rows
    fell in two batches: results never depend on where a batch ends."""
    out = [p for p in pairs if p not in claimed and present(p)]
    claimed.update(out)
    return out


class ResetCurricula(Action):
    verb = "reset-curricula"
    title = _("Reset curricula")
    description = _(
        "Puts each selected user's curriculum record back to not started (deleted; undo restores "
        "it). With `include_courses`, the records of the curriculum's courses are reset too, as "
        "reset-courses does (lesson records and attempts included). Programme records, credits, "
        "certificates and assignments are kept. A course in two of the curricula is reset with "
        "the first. A user with nothing to reset is skipped (`no_record`)."
    )
    per, per_type = "curricula", "curriculum"
    mail_fields = ("user", "curriculum", "portal_url")
    params = [
        Param("curricula", P.curricula(), required=True, help=_("The codes of the curricula.")),
        INCLUDE_COURSES,
    ]
    examples = [{"curricula": ["CUR-SAFETY"], "include_courses": True}]

    def resolve(self, rows, ctx):
        pairs = {(r.values["user"]["id"], r.values["object"]["id"]) for r in rows}
        courses = course_pairs(rows, ctx)
        return {
            "records": records.curriculum_records(pairs),
            "courses": courses,
            "progress": records.course_progress({p for ps in courses.values() for p in ps}),
        }

    def plan(self, rows, refs, ctx):
        claimed: set = set()
        for r in rows:
            pair = (r.values["user"]["id"], r.values["object"]["id"])
            courses = own_courses(refs["courses"].get(pair, ()), refs["progress"].has, claimed)
            if pair in refs["records"] or courses:
                r.data["courses"] = courses
                r.result = DELETED
            else:
                r.skip("no_record", value=r.values["object"]["code"])

    def apply(self, rows, refs, ctx):
        items, course_items = [], []
        for r in rows:
            items.append((r.values["user"]["id"], r.values["object"]["id"], r.number))
            course_items.extend((u, c, r.number) for u, c in r.data["courses"])
        records.reset_curricula(ctx.op, items, refs["records"])
        records.reset_courses(ctx.op, course_items, refs["progress"])
