"""course-statistics (SPEC §4.11, seed 003): a learner's status on a course, set directly: a
course may be completed while its lessons are not (lesson records are never touched)."""

from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course
from registrar.learning import access, progress
from registrar.learning.models import CourseRecord, CourseStatus, Source

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind
from ._statistics import (
    COURSE_COLUMN,
    EARLIER,
    OPTIONS,
    REJECT,
    USER_COLUMN,
    Statistics,
)

if TYPE_CHECKING:
    from ..columnar import Columns

STATUS = parsers.choice(
    {
        "N": "N",
        "I": "I",
        "C": "C",
        "not started": "N",
        "incomplete": "I",
        "in progress": "I",
        "completed": "C",
    },
    shown="N, I, C",
)
RECORD_FIELDS = (
    "status",
    "status_date",
    "enrolled_date",
    "attempts",
    "completion_percent",
    "source",
    "op",
)


class CourseStatistics(Statistics, ImportKind):
    name = "course-statistics"
    title = _("Course statistics")
    description = _(
        "Sets a learner's status on a course (not started, in progress, completed), with its date "
        "and the enrolment date, whatever the course's lessons say: a course may be completed while "
        "its lessons are not, and lesson records are never touched. A learner without a record of "
        "the course gets one (`created`); a record that is not started takes the row's status "
        "(`updated`). A record with a status (in progress or completed) takes the row's status as a "
        "new attempt with `when_status_exists=new_attempt` (the default; `updated`, and warning "
        "`completion_replaced` when a completed course is taken back), or rejects the row with "
        "`when_status_exists=reject` (`status_exists`). A row that says what the record says (same "
        "status, and the same dates where the row gives them) is `unchanged`, so importing the same "
        "file twice changes nothing. The learner must be assigned to the course (directly, or "
        "through a curriculum or programme) unless `assign_if_needed`. Completed courses roll up to "
        "curricula and programmes; no certificate or credit is issued."
    )
    columns = [
        USER_COLUMN,
        COURSE_COLUMN,
        Column(
            "course_status",
            STATUS,
            required=True,
            aliases=("status",),
            help=_(
                "N not started, I in progress (incomplete), C completed (the English words are "
                "accepted too)."
            ),
            example="C",
        ),
        Column(
            "course_status_date",
            parsers.datetime_(past=True),
            aliases=("status_date",),
            help=_(
                "When the status was reached: YYYY/MM/DD, ISO 8601; not in the future. Empty: "
                "the moment the import started (none for N)."
            ),
            example="2024/04/20",
        ),
        Column(
            "course_enrollment_date",
            parsers.date_(past=True),
            aliases=("course_enrollement_date", "enrollment_date", "enrolment_date"),
            help=_(
                "When the learner enrolled (YYYY/MM/DD; not in the future): the record's "
                "enrolment date, and the start date of an assignment the row creates. "
                "`course_enrollement_date`, the vendor's spelling, is accepted. Empty: left as it is."
            ),
            example="2024/03/01",
        ),
    ]
    options = OPTIONS
    key = ("user_loginid", "crsvname")
    columnar = True
    # The demo assigns SAFE-201 and ETH-101 to its learners; amartin has no record of ETH-101.
    template = [
        {
            "user_loginid": "bdurand",
            "crsvname": "SAFE-201",
            "course_status": "C",
            "course_status_date": "2024/04/20",
            "course_enrollment_date": "2024/03/01",
        },
        {
            "user_loginid": "amartin",
            "crsvname": "ETH-101",
            "course_status": "I",
            "course_status_date": "2024/05/10",
            "course_enrollment_date": "",
        },
    ]

    def resolve(self, rows, ctx):
        refs = self.resolve_common(rows, ctx)
        refs["records"] = lookups.exact_pairs(
            CourseRecord, "user_id", "course_id", refs["pairs"], *RECORD_FIELDS
        )
        return refs

    def plan(self, rows, refs, ctx):
        moment = self.moment(ctx)
        reject = ctx.options["when_status_exists"] == REJECT
        seen: dict[tuple[int, int], int] = {}
        for r in rows:
            v = r.values
            user = self.check_user(r, refs, ctx)
            course = self.check_course(r, refs)
            if not r.ok:
                continue
            pair = (user["id"], course["id"])
            rec = refs["records"].get(pair)
            # The engine's key sees the cells as written; the plan sees the records.
            first = seen.get(pair) or (EARLIER if rec and rec["op"] == ctx.op.pk else None)
            if first is not None:
                r.reject("duplicate_row", key="/".join(self.key), first=first)
                continue
            seen[pair] = r.number
            if not self.check_assignment(r, pair, refs, ctx):
                continue
            r.data["pair"] = pair
            status, given = v["course_status"], v["course_status_date"]
            enrolled = v["course_enrollment_date"]
            r.data["assign_start"] = enrolled
            if (
                rec is not None
                and rec["status"] == status
                and given in (None, rec["status_date"])
                and enrolled in (None, rec["enrolled_date"])
            ):
                r.result = UPDATED if "assign" in r.data else UNCHANGED
                continue
            if rec is not None and rec["status"] != CourseStatus.NOT_STARTED and reject:
                r.reject(
                    "status_exists",
                    what=f"Course {course['code']}",
                    status=CourseStatus(rec["status"]).label,
                )
                continue
            started = status != CourseStatus.NOT_STARTED
            values = {
                "status": status,
                "status_date": given or (moment if started else None),
                "completion_percent": self._percent(status, rec),
                "source": Source.IMPORT,
            }
            if rec is None:
                r.data["record"] = {
                    "user_id": pair[0],
                    "course_id": pair[1],
                    **values,
                    "enrolled_date": enrolled,
                    "attempts": 1 if started else 0,
                }
                r.result = CREATED
                continue
            values["attempts"] = rec["attempts"] + (1 if started else 0)
            if enrolled is not None:
                values["enrolled_date"] = enrolled
            if rec["status"] == CourseStatus.COMPLETED and status != CourseStatus.COMPLETED:
                r.warn(
                    "completion_replaced",
                    value=course["code"],
                    date=timezone.localtime(rec["status_date"]).date().isoformat()
                    if rec["status_date"]
                    else "no date",
                    status=CourseStatus(status).label,
                )
            r.data["update"] = (rec["id"], values, rec)
            r.result = UPDATED

    @staticmethod
    def _percent(status: str, rec: dict | None) -> int:
        """Completed 100 %, not started 0 %; in progress keeps the record's share, unless the
        record was complete (no longer 100 %) or had none."""
        if status == CourseStatus.COMPLETED:
            return 100
        if status == CourseStatus.IN_PROGRESS and rec and rec["completion_percent"] < 100:
            return rec["completion_percent"]
        return 0

    def apply(self, rows, refs, ctx):
        self.insert_assignments(rows, ctx)
        new = [r for r in rows if "record" in r.data]
        # The verb writes the records and rolls the completed ones up to curricula and programmes.
        progress.write_course_records(
            [r.data["record"] for r in new],
            [r.number for r in new],
            [(*r.data["update"], r.number) for r in rows if "update" in r.data],
            ctx.op,
        )

    def plan_columns(self, lane: "Columns", ctx) -> tuple["Columns", "Columns"]:
        """The rows that give a learner a first record of a course, planned created in bulk:
        the learner found by login, usable and in scope; the course found by code; the learner
        assigned to it; no record of it yet; no other row of the batch for the same learner
        and course. Every other row takes the row path."""
        import polars as pl  # only the columnar lane pays for loading it

        from .. import columnar

        v = lane.values
        usable = lookups.learners_by_login(v["user_loginid"], ctx)
        courses = lookups.by_key(Course, "code", set(v["crsvname"]), "id")
        frame = pl.DataFrame(
            {
                "uid": [usable.get(x) for x in v["user_loginid"]],
                "cid": [courses[x]["id"] if x in courses else None for x in v["crsvname"]],
            },
            schema={"uid": pl.Int64, "cid": pl.Int64},
        ).with_row_index("i")
        frame = frame.filter(pl.col("uid").is_not_null() & pl.col("cid").is_not_null()).filter(
            pl.struct("uid", "cid").is_unique()  # else the row path tells the duplicate
        )
        uids, cids = frame["uid"].to_list(), frame["cid"].to_list()
        pairs = set(zip(uids, cids, strict=True))
        pairs -= lookups.existing_pairs(CourseRecord, "user_id", "course_id", uids, cids)
        pairs = access.assigned("course", pairs)  # not assigned: rejected, or assigned there
        planned, chosen, rest = columnar.pick(lane, frame, pairs)
        p = planned.values
        moment = self.moment(ctx)
        started = [s != CourseStatus.NOT_STARTED for s in p["course_status"]]
        planned.data = {
            "user_id": [u for u, _ in chosen],
            "course_id": [c for _, c in chosen],
            "status": p["course_status"],
            "status_date": [
                given or (moment if go else None)
                for given, go in zip(p["course_status_date"], started, strict=True)
            ],
            "completion_percent": [
                100 if s == CourseStatus.COMPLETED else 0 for s in p["course_status"]
            ],
            "enrolled_date": p["course_enrollment_date"],
            "attempts": [1 if go else 0 for go in started],
            "result": [CREATED] * len(chosen),
        }
        return planned, rest

    def apply_columns(self, planned: "Columns", ctx) -> None:
        """The planned rows' records; the verb rolls the completed ones up."""
        given = {k: v for k, v in planned.data.items() if k != "result"}
        progress.write_new_course_records(
            given, len(planned), ctx.op, same={"source": Source.IMPORT}
        )
