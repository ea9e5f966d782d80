"""statistics.set (SPEC §5, seed 003 "L'Assistant Statistiques"): one user's status, score, status
date and time on one lesson of one course, and the reset of its attempts (status N only); the
course is then recomputed from its lessons and completions roll up to curricula and programmes
(learning.progress, as the lesson-statistics import does)."""

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Lesson
from registrar.core.errors import FileError
from registrar.learning import access, progress, records
from registrar.learning.models import LessonStatus, Source

from ... import params as P
from ...action import Action, Param
from ...imports.lesson_statistics import DONE
from ...kind import CREATED, UNCHANGED, UPDATED

STATUS = P.choice(
    {**{k: k for k in LessonStatus.values}, **{s.label: s.value for s in LessonStatus}},
    shown=tuple(LessonStatus.values),
)
LESSON_FIELDS = ("id", "code", "title", "course_id", "lesson_type")
# The record fields a parameter sets, by parameter.
FIELD = {"score": "score", "status_date": "status_date", "time": "time_spent"}


def _lesson(course: dict, code: str) -> dict:
    """The lesson of the course a code names, else lesson_not_found (exit status 2)."""
    lesson = (
        Lesson._base_manager.filter(course_id=course["id"], code=code)
        .values(*LESSON_FIELDS)
        .first()
    )
    if lesson is None:
        raise FileError("lesson_not_found", value=code, course=course["code"])
    return lesson


class SetStatistics(Action):
    target = "statistics"
    verb = "set"
    title = _("Set lesson statistics")
    description = _(
        "Sets one user's statistics on one lesson of one course: the status (N not started, B "
        "browsed, F failed, I in progress, P passed, C completed), the score (0 to 100; null "
        "clears it), the status date (not in the future; a status changed without a date is dated "
        "now) and the time spent in seconds. `reset_attempts` (only with status N, "
        "`invalid_combination` otherwise) deletes the lesson's attempts and counts none. A key "
        "left out is not changed. The user must be assigned to the course, directly or through a "
        "curriculum or programme (`not_assigned`). The course status is then recomputed from its "
        "lessons: a lesson raised never takes back a course completed otherwise, a lesson lowered "
        "lowers its course; completed courses complete the curricula and programmes they finish "
        "(which are never taken back). Undo restores the lesson, its attempts and the course."
    )
    per, per_type = "lesson", "lesson"
    learners = True
    params = [
        Param("user", P.Text(max_length=150, blank=False), required=True, help=_("A login.")),
        Param("course", P.courses(many=False), required=True, help=_("The course's code.")),
        Param(
            "lesson",
            P.Text(max_length=100, blank=False),
            required=True,
            help=_("The code of a lesson of the course."),
        ),
        Param("status", STATUS, help=_("N, B, F, I, P or C.")),
        Param(
            "reset_attempts",
            P.Boolean(),
            help=_("True: the lesson's attempts are deleted (with status N only)."),
        ),
        Param(
            "score",
            P.Number(minimum=0, maximum=100),
            nullable=True,
            help=_("A score from 0 to 100; clear: no score."),
        ),
        Param(
            "status_date", P.Moment(), help=_("When the status was reached (not in the future).")
        ),
        Param("time", P.Number(minimum=0, integer=True), help=_("Time spent, in seconds.")),
    ]
    # The demo's amartin is assigned SAFE-201 and has no record of it (lesson-statistics' template).
    examples = [
        {
            "user": "amartin",
            "course": "SAFE-201",
            "lesson": "SAFE-201-L1",
            "status": "C",
            "status_date": "2024-05-02",
            "time": 1260,
        }
    ]

    def check(self, values):
        if values.get("reset_attempts") and values.get("status") != LessonStatus.NOT_STARTED:
            raise FileError(
                "invalid_combination",
                first="reset_attempts",
                second="status",
                detail=gettext(" unless status is N (not started)"),
            )
        if not any(k in values for k in ("status", "reset_attempts", *FIELD)):
            raise FileError(
                "invalid_parameter",
                key="status",
                reason=gettext(
                    "nothing to set: give status, score, status_date, time or reset_attempts"
                ),
            )
        when = values.get("status_date")
        if when is not None and when > timezone.now():
            raise FileError(
                "invalid_parameter", key="status_date", reason=gettext("is in the future")
            )
        if "course" in values and "lesson" in values:
            values["lesson"] = _lesson(values["course"], values["lesson"])

    def own_selection(self, values):
        from ...selection import Selection

        return Selection(target="users", ids=[values["user"]], include_disabled=True)

    def objects(self, values):
        return [values["lesson"]]

    def resolve(self, rows, ctx):
        course = ctx.options["course"]["id"]
        pairs = {(r.values["user"]["id"], course) for r in rows}
        return {
            "assigned": access.assigned("course", pairs),
            "progress": records.course_progress(pairs),
        }

    def wanted(self, rec: dict | None, ctx) -> dict:
        """The record's values the parameters set (those of a new record when `rec` is None)."""
        o = ctx.options
        out = {FIELD[k]: o[k] for k in FIELD if k in o}
        if "status" in o:
            out.update(status=o["status"], completion_percent=100 if o["status"] in DONE else 0)
            if "status_date" not in o and (rec is None or rec["status"] != o["status"]):
                out["status_date"] = ctx.state.setdefault("moment", timezone.now())
        if o.get("reset_attempts"):
            out["attempts"] = 0
        return out

    def plan(self, rows, refs, ctx):
        course, lesson = ctx.options["course"], ctx.options["lesson"]
        for r in rows:
            user = r.values["user"]["id"]
            pair = (user, course["id"])
            if pair not in refs["assigned"]:
                r.reject("not_assigned", value=course["code"])
                continue
            rec = next(
                (
                    x
                    for x in refs["progress"].lessons.get(pair, ())
                    if x["lesson_id"] == lesson["id"]
                ),
                None,
            )
            wanted = self.wanted(rec, ctx)
            if rec is None:
                o = ctx.options
                if not any(k in o for k in FIELD) and o.get("status", "N") == "N":
                    r.skip("no_record", value=lesson["code"])
                    continue
                r.data["new"] = {
                    "user_id": user,
                    "lesson_id": lesson["id"],
                    "status": LessonStatus.NOT_STARTED,
                    "time_spent": 0,
                    "attempts": 0,
                    "completion_percent": 0,
                    **wanted,
                    "source": Source.ACTION,
                }
                r.data["lower"] = False
                r.result = CREATED
                continue
            diff = {k: v for k, v in wanted.items() if rec[k] != v}
            gone = (
                refs["progress"].attempts.get(rec["id"], [])
                if ctx.options.get("reset_attempts")
                else []
            )
            if not diff and not gone:
                r.result = UNCHANGED
                continue
            if diff:
                diff["source"] = Source.ACTION
            rank = progress.LESSON_RANK
            r.data["lower"] = rank[diff.get("status", rec["status"])] < rank[rec["status"]]
            r.data["changed"] = (rec["id"], diff, {**rec, "user_id": user}, r.number)
            r.data["gone"] = [(a["id"], a, r.number) for a in gone]
            r.result = UPDATED

    def apply(self, rows, refs, ctx):
        fresh = [r for r in rows if "new" in r.data]
        changed = [r for r in rows if "changed" in r.data]
        course = ctx.options["course"]["id"]
        # The verb writes the records and drops the reset attempts, then recomputes the course
        # (and rolls up): first where it may only rise, then where a lowered status may lower it.
        progress.write_lesson_records(
            ctx.op,
            [r.data["new"] for r in fresh],
            [r.number for r in fresh],
            [r.data["changed"] for r in changed],
            gone=[a for r in rows for a in r.data.get("gone", ())],
            courses={ctx.options["lesson"]["id"]: course},
            source=Source.ACTION,
            lower={(r.values["user"]["id"], course) for r in rows if r.data["lower"]},
        )
