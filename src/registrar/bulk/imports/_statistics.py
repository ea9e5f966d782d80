"""What lesson-statistics and course-statistics (SPEC §4.10, §4.11) share: the learner and
course columns, the two options, the user, course and assignment checks, and the import moment.

A helper module (its name starts with an underscore): it defines no import kind of its own.
"""

from datetime import datetime, time
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course
from registrar.directory.models import User
from registrar.learning import access, assignments
from registrar.learning.models import Source

from .. import checks, lookups, parsers
from ..kind import Column, Option, Row

USER_FIELDS = ("id", "login", "disabled", "training_access", "organisation_id")
NEW_ATTEMPT, REJECT = "new_attempt", "reject"
EARLIER = "(an earlier one)"  # a row of an earlier batch, whose number is not kept


def score(s: str) -> Decimal:
    """A score out of 100 with at most two decimals (what the records store, so a re-import
    compares equal)."""
    v = parsers.decimal_(0, 100)(s)
    if v.normalize().as_tuple().exponent < -2:
        raise parsers.CellError("invalid_number", detail=" with at most 2 decimals")
    return v


seconds = parsers.integer(0, 2_147_483_647)

USER_COLUMN = Column(
    "user_loginid",
    parsers.text(150),
    required=True,
    aliases=("user_login", "login", "username"),
    help=_("The learner's login, matched exactly."),
    example="amartin",
)
COURSE_COLUMN = Column(
    "crsvname",
    parsers.text(100),
    required=True,
    aliases=("course_code", "course"),
    help=_("The course's code (its unique identifier), matched exactly."),
    example="SAFE-201",
)
OPTIONS = [
    Option(
        "when_status_exists",
        NEW_ATTEMPT,
        _(
            "What a row does when the learner already has a status (anything but not started): "
            "new_attempt records it as a new attempt, reject rejects the row (status_exists). A row "
            "identical to what is recorded is unchanged either way"
        ),
        choices=(NEW_ATTEMPT, REJECT),
    ),
    Option(
        "assign_if_needed",
        False,
        _(
            "Assign the course (source import) to a learner who is not assigned to it, directly or "
            "through a curriculum or programme; otherwise such a row is rejected (not_assigned)"
        ),
    ),
]


class Statistics:
    """The shared steps of the two statistics kinds (a mixin next to ImportKind)."""

    def moment(self, ctx):
        """The moment the import started: the status date of rows that give none (one for
        the whole file, every batch)."""
        return ctx.state.setdefault("moment", timezone.now())

    def resolve_common(self, rows: list[Row], ctx) -> dict:
        """Users by login and courses by code (one query each for the batch), and which of the
        batch's (user, course) pairs are assigned, directly or through a curriculum or programme."""
        users = lookups.by_key(
            User, "login", {r.values["user_loginid"] for r in rows}, *USER_FIELDS
        )
        courses = lookups.by_key(Course, "code", {r.values["crsvname"] for r in rows}, "id", "code")
        pairs = set()
        for r in rows:
            u, c = users.get(r.values["user_loginid"]), courses.get(r.values["crsvname"])
            if u and c:
                pairs.add((u["id"], c["id"]))
        return {
            "users": users,
            "courses": courses,
            "pairs": pairs,
            "assigned": access.assigned("course", pairs),
        }

    def check_user(self, r: Row, refs: dict, ctx) -> dict | None:
        login = r.values["user_loginid"]
        user = refs["users"].get(login)
        if user is None:
            r.reject("user_not_found", column="user_loginid", value=login)
        else:
            checks.usable(r, user, login, ctx)
        return user

    def check_course(self, r: Row, refs: dict) -> dict | None:
        code = r.values["crsvname"]
        course = refs["courses"].get(code)
        if course is None:
            r.reject("course_not_found", column="crsvname", value=code)
        return course

    def check_assignment(self, r: Row, pair: tuple[int, int], refs: dict, ctx) -> bool:
        """A learner not assigned to the course: rejected (not_assigned), or with
        assign_if_needed the row will assign it (r.data["assign"]). False when rejected."""
        if pair in refs["assigned"]:
            return True
        if not ctx.options["assign_if_needed"]:
            r.reject("not_assigned", value=r.values["crsvname"])
            return False
        r.data["assign"] = pair
        return True

    def insert_assignments(self, rows: list[Row], ctx) -> None:
        """The assignments the applied rows need (one per user and course, the first row's),
        source import; a row's `assign_start` (an enrolment date) is its start date and day."""
        now = timezone.now()
        new: dict[tuple[int, int], dict] = {}
        numbers = []
        for r in rows:
            pair = r.data.get("assign")
            if pair is None or pair in new:
                continue
            start = r.data.get("assign_start")
            new[pair] = {
                "user_id": pair[0],
                "course_id": pair[1],
                "start_date": start,
                "source": Source.IMPORT,
                "assigned_at": timezone.make_aware(datetime.combine(start, time.min))
                if start
                else now,
            }
            numbers.append(r.number)
        assignments.assign("course", list(new.values()), [], ctx.op, numbers)
