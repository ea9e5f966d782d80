"""course-assignments (SPEC §4.8, seed 003): assign courses to users, with dates, option and
billing, and optionally a seat in one of the course's classroom sessions."""

from typing import TYPE_CHECKING

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import ClassroomSession, Course
from registrar.journal import writes
from registrar.learning import assignments
from registrar.learning.models import BillingMode, CourseAssignment, Seat, Source

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind
from . import _assignments as A

if TYPE_CHECKING:
    from ..columnar import Columns

FIELDS = assignments.FIELDS
BILLING_MODES = {
    **dict.fromkeys(
        ("course", "by course", "by_course", "per course", "par cours"), BillingMode.BY_COURSE
    ),
    **dict.fromkeys(
        ("hour", "by hour", "by_hour", "per hour", "hourly", "par heure", "à l'heure", "a l'heure"),
        BillingMode.BY_HOUR,
    ),
    **dict.fromkeys(
        ("none", "not billed", "not_billed", "non facturé", "non facture"), BillingMode.NOT_BILLED
    ),
    **dict.fromkeys(
        (
            "prepaid",
            "prepaid account",
            "prepaid_account",
            "compte prépayé",
            "compte prepaye",
            "prépayé",
            "prepaye",
        ),
        BillingMode.PREPAID,
    ),
}
SEAT_STATUSES = {
    **dict.fromkeys(
        ("booked", "registered", "confirmed", "inscrit", "réservé", "reserve", "confirmé"),
        Seat.Status.BOOKED,
    ),
    **dict.fromkeys(
        ("waiting", "waiting list", "waitlisted", "en attente", "liste d'attente"),
        Seat.Status.WAITING,
    ),
    **dict.fromkeys(("attended", "present", "présent"), Seat.Status.ATTENDED),
    **dict.fromkeys(("absent",), Seat.Status.ABSENT),
}
SESSION_FIELDS = ("id", "extid", "course_id", "course__code", "max_participants", "waiting_list")


def _occupied(session_ids) -> dict[int, int]:
    """Seats taken per session (every seat but the waiting list's): one query per chunk."""
    out: dict[int, int] = {}
    for part in lookups.chunks(set(session_ids)):
        qs = (
            Seat.objects.filter(session_id__in=part)
            .exclude(status=Seat.Status.WAITING)
            .values("session_id")
            .annotate(n=Count("id"))
        )
        for x in qs:
            out[x["session_id"]] = x["n"]
    return out


class CourseAssignments(ImportKind):
    name = "course-assignments"
    title = _("Course assignments")
    description = _(
        "Assigns courses to users (source import), with start, target and end dates, the option "
        "(free, recommended, mandatory) and billing, and optionally books the user into one of the "
        "course's classroom sessions (`session_extid`, with the seat's `session_status`; booked by "
        "default). A session that is full (every seat but the waiting list's taken; a capacity of 0 "
        "means no limit) puts the user on its waiting list when it has one (warning "
        "`session_waiting_list`), and rejects the row (`session_full`) when it has none. An "
        "existing assignment that the row would change is skipped (`already_assigned`) unless "
        "`update_existing=yes`, which changes the fields whose cells are not empty (an empty cell "
        "never erases); a row that says what is there already is `unchanged`. Booking a seat for "
        "a user already assigned to the course is such a change. With "
        "`respect_audiences` (the default), a new assignment to a course that has audiences needs "
        "the user in one of them (`audience_mismatch`). Billing modes: By Course, By Hour, "
        "Not Billed, Prepaid Account (also course, hour, none, prepaid, and French)."
    )
    columns = [
        A.user_column(),
        Column(
            "crsvname",
            parsers.text(100),
            required=True,
            aliases=("course_code", "course", "course_id"),
            help=_(
                "The course's code (its unique identifier, exactly as in the catalogue). "
                "Unpublished and disabled courses can be assigned."
            ),
            example="SAFE-201",
        ),
        *A.date_columns("course"),
        Column(
            "session_extid",
            parsers.text(100),
            aliases=("session", "session_id"),
            help=_(
                "A classroom session of this course to book the user into, by its external id "
                "(`session_not_found`; a session of another course: `session_course_mismatch`)."
            ),
            example="SESS-SAFE-202-DEMO",
        ),
        A.option_column(),
        Column(
            "billing_mode",
            parsers.choice(
                BILLING_MODES,
                shown="By Course, By Hour, Not Billed, Prepaid Account (or course, hour, none, "
                "prepaid)",
            ),
            aliases=("payment_mode",),
            help=_(
                "By Course, By Hour, Not Billed or Prepaid Account (any case; also course, hour, "
                "none, prepaid, and par cours, par heure, non facturé, compte prépayé)."
            ),
            example="By Course",
        ),
        Column(
            "billing_code",
            parsers.text(100),
            aliases=("payment_code",),
            help=_("Free text, e.g. a purchase order or cost centre."),
            example="PO-2025-014",
        ),
        Column(
            "unit_cost",
            parsers.money(10, 2),
            aliases=("cost", "unit_price"),
            help=_("A non-negative amount with at most two decimals (a comma is accepted)."),
            example="350.00",
        ),
        Column(
            "session_status",
            parsers.choice(
                SEAT_STATUSES,
                shown="booked, waiting, attended, absent (or inscrit, en attente, présent)",
            ),
            aliases=("booking_status", "registration_status", "seat_status"),
            help=_(
                "The seat's status in the session: booked (the default for a new seat), waiting, "
                "attended or absent; also registered, confirmed, inscrit, en attente, présent. Needs "
                "`session_extid`. Empty: booked for a new seat, unchanged for an existing one."
            ),
            example="booked",
        ),
    ]
    options = A.common_options()
    key = ("user_loginid", "crsvname")
    columnar = True
    template = [
        {
            "user_loginid": "amartin",
            "crsvname": "SAFE-201",
            "start_date": "2025-01-06",
            "end_date": "2025-12-31",
            "target_date": "2025-03-31",
            "assignment_option": "mandatory",
        },
        {
            "user_loginid": "bdurand",
            "crsvname": "SAFE-202",
            "start_date": "2025/01/06",
            "end_date": "2025/06/30",
            "target_date": "2025/03/31",
            "session_extid": "SESS-SAFE-202-DEMO",
            "assignment_option": "R",
            "billing_mode": "By Course",
            "billing_code": "PO-2025-014",
            "unit_cost": "350.00",
            "session_status": "booked",
        },
    ]

    def resolve(self, rows, ctx):
        users = A.users_by_login(rows)
        courses = lookups.by_key(Course, "code", {r.values["crsvname"] for r in rows}, "id")
        sessions = lookups.by_key(
            ClassroomSession,
            "extid",
            {r.values["session_extid"] for r in rows},
            *SESSION_FIELDS,
        )
        pairs, seat_pairs = set(), set()
        for r in rows:  # only the pairs the rows name
            user = users.get(r.values["user_loginid"])
            course = courses.get(r.values["crsvname"])
            session = sessions.get(r.values["session_extid"])
            if user and course:
                pairs.add((user["id"], course["id"]))
            if user and session:
                seat_pairs.add((user["id"], session["id"]))
        assignments = lookups.exact_pairs(
            CourseAssignment, "user_id", "course_id", pairs, *FIELDS, "op"
        )
        mismatches = set()
        if ctx.options["respect_audiences"]:
            mismatches = A.audience_mismatches(Course, pairs - assignments.keys())
        return {
            "users": users,
            "courses": courses,
            "sessions": sessions,
            "assignments": assignments,
            "seats": lookups.exact_pairs(Seat, "user_id", "session_id", seat_pairs, "status", "op"),
            "occupied": _occupied(s["id"] for s in sessions.values()),
            "mismatches": mismatches,
        }

    def plan(self, rows, refs, ctx):
        planned: dict[tuple[int, int], int] = {}
        occupied = refs["occupied"]  # kept up to date as the batch books seats
        for r in rows:
            v = r.values
            user = A.check_user(r, refs["users"], ctx)
            code = v["crsvname"]
            course = refs["courses"].get(code)
            if course is None:
                r.reject("course_not_found", column="crsvname", value=code)
            session = None
            if v["session_extid"] is not None:
                session = refs["sessions"].get(v["session_extid"])
                if session is None:
                    r.reject("session_not_found", value=v["session_extid"])
                elif course is not None and session["course_id"] != course["id"]:
                    r.reject(
                        "session_course_mismatch",
                        value=session["extid"],
                        actual=session["course__code"],
                        course=code,
                    )
            elif v["session_status"] is not None:
                r.reject("missing_value", column="session_extid")
            A.check_dates(r, v)
            if not r.ok:
                continue
            pair = (user["id"], course["id"])
            if pair in planned:
                r.reject("duplicate_row", key="/".join(self.key), first=planned[pair])
                continue
            planned[pair] = r.number
            existing = refs["assignments"].get(pair)
            seat = refs["seats"].get((user["id"], session["id"])) if session else None
            status = v["session_status"]
            seat_change = session is not None and (
                seat is None or (status is not None and status != seat["status"])
            )
            wanted = A.given({**v, "option": v["assignment_option"]}, FIELDS)
            changes = A.compare(
                r, existing, wanted, ctx, code, "/".join(self.key), more=seat_change
            )
            if changes is None:
                continue
            if existing is None and pair in refs["mismatches"]:
                r.reject("audience_mismatch", value=code)
                continue
            data: dict = {"user_id": pair[0]}
            if seat_change:
                seat_data = self._seat(r, session, seat, status, occupied)
                if not r.ok:
                    continue
                if seat_data:
                    data["seat"] = seat_data
            if existing is None:
                data["create"] = {
                    "user_id": pair[0],
                    "course_id": pair[1],
                    **changes,
                    "source": Source.IMPORT,
                    "assigned_at": A.now(ctx),
                }
                r.result = CREATED
            elif changes:
                data["update"] = (existing["id"], changes, existing)
            r.data = data
            if r.result is None:
                r.result = UPDATED if changes or "seat" in data else UNCHANGED

    def _seat(self, r, session, seat, status, occupied) -> dict | None:
        """The seat to write (None: it stays as it is), counting the session's places."""
        old = seat["status"] if seat else None
        new = status or Seat.Status.BOOKED
        takes = new != Seat.Status.WAITING
        took = old is not None and old != Seat.Status.WAITING
        sid, limit = session["id"], session["max_participants"]
        # Only a booking needs a free place: attended and absent record what happened.
        if new == Seat.Status.BOOKED and not took and limit and occupied.get(sid, 0) >= limit:
            if not session["waiting_list"]:
                r.reject("session_full", value=session["extid"])
                return None
            r.warn("session_waiting_list", value=session["extid"])
            new, takes = Seat.Status.WAITING, False
        if new == old:
            return None
        occupied[sid] = occupied.get(sid, 0) + takes - took
        return {"session_id": sid, "status": new, "before": seat}

    def apply(self, rows, refs, ctx):
        new, new_rows, changed = [], [], []
        new_seats, new_seat_rows, changed_seats = [], [], []
        for r in rows:
            d = r.data
            if "create" in d:
                new.append(d["create"])
                new_rows.append(r.number)
            if "update" in d:
                pk, values, before = d["update"]
                changed.append((pk, values, before, r.number))
            seat = d.get("seat")
            if seat is not None:
                before = seat["before"]
                if before is None:
                    new_seats.append(
                        {
                            "session_id": seat["session_id"],
                            "user_id": d["user_id"],
                            "status": seat["status"],
                        }
                    )
                    new_seat_rows.append(r.number)
                else:
                    changed_seats.append(
                        (before["id"], {"status": seat["status"]}, before, r.number)
                    )
        assignments.assign("course", new, changed, ctx.op, new_rows)
        writes.insert(Seat, new_seats, ctx.op, new_seat_rows)
        writes.update(Seat, changed_seats, ctx.op)

    def plan_columns(self, lane: "Columns", ctx) -> tuple["Columns", "Columns"]:
        """The rows that make a new assignment without a seat, planned created in bulk: the
        learner found by login, usable and in scope; the course found by code; the dates in
        order; no assignment of the course yet; no other row of the batch for the same learner
        and course; the learner in one of the course's audiences, when it has some and
        `respect_audiences`. Every other row takes the row path."""
        import polars as pl  # only the columnar lane pays for loading it

        from .. import columnar

        v = lane.values
        usable = lookups.learners_by_login(v["user_loginid"], ctx)
        courses = lookups.by_key(Course, "code", set(v["crsvname"]), "id")
        frame = pl.DataFrame(
            {
                "uid": [usable.get(x) for x in v["user_loginid"]],
                "cid": [courses[x]["id"] if x in courses else None for x in v["crsvname"]],
                "seat": [
                    a is not None or b is not None
                    for a, b in zip(v["session_extid"], v["session_status"], strict=True)
                ],
                **{d: v[d] for d in A.DATES},
            },
            schema={"uid": pl.Int64, "cid": pl.Int64, "seat": pl.Boolean,
                    **dict.fromkeys(A.DATES, pl.Date)},
        ).with_row_index("i")  # fmt: skip
        ordered = pl.lit(True)
        for j, first in enumerate(A.DATES):  # where given, start <= target <= end (date_order)
            for second in A.DATES[j + 1 :]:
                ordered = ordered & (pl.col(first) <= pl.col(second)).fill_null(True)
        frame = frame.filter(
            pl.col("uid").is_not_null() & pl.col("cid").is_not_null() & ~pl.col("seat") & ordered
        ).filter(pl.struct("uid", "cid").is_unique())  # else the row path tells the duplicate
        uids, cids = frame["uid"].to_list(), frame["cid"].to_list()
        pairs = set(zip(uids, cids, strict=True))
        pairs -= lookups.existing_pairs(CourseAssignment, "user_id", "course_id", uids, cids)
        if ctx.options["respect_audiences"]:
            pairs -= A.audience_mismatches(Course, pairs)
        planned, chosen, rest = columnar.pick(lane, frame, pairs)
        p = planned.values
        planned.data = {
            "user_id": [u for u, _ in chosen],
            "course_id": [c for _, c in chosen],
            "given": {
                "option": p["assignment_option"],
                **{f: p[f] for f in FIELDS if f != "option"},
            },
            "result": [CREATED] * len(chosen),
        }
        return planned, rest

    def apply_columns(self, planned: "Columns", ctx) -> None:
        """The planned rows' assignments, through the verb."""
        d = planned.data
        assignments.assign_new(
            "course",
            d["user_id"],
            d["course_id"],
            ctx.op,
            same={"source": Source.IMPORT, "assigned_at": A.now(ctx)},
            given=d["given"],
        )
