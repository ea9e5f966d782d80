"""completions (SPEC §4.1, seed 000): mark courses completed for users found by email."""

import contextlib
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course
from registrar.learning import assignments, progress
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus, Source

from .. import checks, lookups, parsers
from ..kind import CREATED, UPDATED, Column, ImportKind

if TYPE_CHECKING:
    from ..columnar import Columns


class Completions(ImportKind):
    name = "completions"
    title = _("Course completions")
    description = _(
        "Marks a course completed (100 %, no lesson scores) for a user found by email. A user who "
        "already has progress on the course is skipped and keeps it. An assignment is created when "
        "there was none."
    )
    columns = [
        Column(
            "course_id",
            parsers.text(100),
            required=True,
            aliases=("course_code", "course", "crsvname"),
            help=_("The course's code (or its UUID)."),
            example="SAFE-101",
        ),
        Column(
            "user_email",
            parsers.email,
            required=True,
            aliases=("email", "user_mail"),
            help=_(
                "The user's email, compared case-insensitively; it must match exactly one user."
            ),
            example="alice.martin@example.com",
        ),
        Column(
            "completion_date",
            parsers.datetime_(past=True),
            required=True,
            aliases=("completed_at", "completion_at"),
            help=_(
                "ISO 8601 (2024-06-15 or 2024-06-15T14:30:00+10:00) or YYYY/MM/DD; not in the future."
            ),
            example="2024-06-15",
        ),
        Column(
            "course_title",
            parsers.text(255),
            help=_("Optional: when given, must equal the course's title exactly."),
            example="Workplace safety",
        ),
    ]
    key = ("course_id", "user_email")
    columnar = True
    template = [
        {
            "course_id": "SAFE-101",
            "user_email": "alice.martin@example.com",
            "completion_date": "2024-06-15",
            "course_title": "Workplace safety",
        },
        {
            "course_id": "SAFE-102",
            "user_email": "bob.durand@example.com",
            "completion_date": "2024-06-15T14:30:00+10:00",
            "course_title": "",
        },
    ]

    def resolve(self, rows, ctx):
        codes = {r.values["course_id"] for r in rows}
        fields = ("id", "code", "title", "published")
        courses = lookups.by_key(Course, "code", codes, *fields)
        rest = []
        for c in codes - courses.keys():
            with contextlib.suppress(parsers.CellError):
                rest.append(parsers.uuid_(c))
        for c in lookups.by_key(Course, "uuid", rest, *fields).values():
            courses[str(c["uuid"])] = courses[str(c["uuid"]).upper()] = c
        users = lookups.users_by_email(r.values["user_email"] for r in rows)
        wanted = set()
        for r in rows:  # only the pairs the rows name, not every user with every course
            found, course = (
                users.get(r.values["user_email"].lower(), ()),
                courses.get(r.values["course_id"]) or courses.get(r.values["course_id"].lower()),
            )
            if course is not None:
                wanted.update((u["id"], course["id"]) for u in found)
        records = lookups.exact_pairs(CourseRecord, "user_id", "course_id", wanted, "status")
        assigned = lookups.exact_pairs(CourseAssignment, "user_id", "course_id", wanted)
        return {"courses": courses, "users": users, "records": records, "assigned": assigned}

    def plan(self, rows, refs, ctx):
        courses, users, records = refs["courses"], refs["users"], refs["records"]
        planned = set()
        for r in rows:
            v = r.values
            course = courses.get(v["course_id"]) or courses.get(v["course_id"].lower())
            if course is None:
                r.reject("course_not_found", column="course_id", value=v["course_id"])
            elif not course["published"]:
                r.reject("course_not_published", value=course["code"])
            elif v["course_title"] is not None and v["course_title"] != course["title"]:
                r.reject(
                    "course_title_mismatch",
                    value=course["code"],
                    title=course["title"],
                    given=v["course_title"],
                )
            email = v["user_email"]
            user = checks.learner(r, users.get(email.lower(), []), email, "user_email", ctx)
            if user is None or not r.ok or course is None:
                continue
            pair = (user["id"], course["id"])
            if pair in planned:
                r.reject(
                    "duplicate_row", key="course and user", first="an earlier row of this batch"
                )
                continue
            planned.add(pair)
            record = records.get(pair)
            if record is not None and record["status"] != CourseStatus.NOT_STARTED:
                r.skip("existing_progress", status=CourseStatus(record["status"]).label)
                continue
            r.data = {"pair": pair, "record": record}
            r.result = UPDATED if record else CREATED

    def apply(self, rows, refs, ctx):
        now = timezone.now()
        items, known, assign = [], {}, []
        for r in rows:
            uid, cid = r.data["pair"]
            items.append((uid, cid, r.values["completion_date"], r.number))
            if r.data["record"] is not None:
                known[r.data["pair"]] = r.data["record"]  # as planned: its op guards the write
            if r.data["pair"] not in refs["assigned"]:
                assign.append(
                    {"user_id": uid, "course_id": cid, "source": Source.IMPORT, "assigned_at": now}
                )
        # The verb writes the records and rolls them up to curricula and programmes.
        progress.complete_courses(items, ctx.op, Source.IMPORT, known)
        assign.sort(key=lambda x: (x["user_id"], x["course_id"]))
        assignments.assign("course", assign, [], ctx.op)

    def plan_columns(self, lane: "Columns", ctx) -> tuple["Columns", "Columns"]:
        """The rows that complete a course for the first time, planned created in bulk: the
        course found by its code, published, its title as given; one learner with the email,
        usable and in scope; no record of the course yet. Every other row takes the row path."""
        import polars as pl  # only the columnar lane pays for loading it

        v = lane.values
        courses = lookups.by_key(Course, "code", set(v["course_id"]), *COURSE_FIELDS)
        course_frame = pl.DataFrame(
            {
                "course_id": list(courses),
                "cid": [c["id"] for c in courses.values()],
                "known_title": [c["title"] for c in courses.values()],
                "published": [bool(c["published"]) for c in courses.values()],
            },
            schema={"course_id": pl.String, "cid": pl.Int64, "known_title": pl.String,
                    "published": pl.Boolean},
        )  # fmt: skip
        user_frame = lookups.learners_by_email(v["user_email"], ctx.cache)
        frame = (
            pl.DataFrame(
                {"course_id": v["course_id"], "email": v["user_email"], "title": v["course_title"]},
                schema={"course_id": pl.String, "email": pl.String, "title": pl.String},
            )
            .with_row_index("i")
            .with_columns(email_ci=pl.col("email").str.to_lowercase())
            .join(course_frame, on="course_id", how="left", maintain_order="left")
            .join(user_frame, on="email_ci", how="left", maintain_order="left")
        )
        ok = (
            pl.col("published").fill_null(False)
            & (pl.col("title").is_null() | (pl.col("title") == pl.col("known_title")))
            & checks.learners_ok(ctx)
        )
        frame = frame.filter(ok).filter(pl.struct("uid", "cid").is_first_distinct())
        users, courses = frame["uid"].to_list(), frame["cid"].to_list()
        records, assigned = lookups.pairs_held(
            [CourseRecord, CourseAssignment], "user_id", "course_id", users, courses
        )
        if records:  # a record already: the row path decides (skipped, or updated)
            mine = pl.DataFrame(
                list(records), schema={"uid": pl.Int64, "cid": pl.Int64}, orient="row"
            )
            frame = frame.join(mine, on=["uid", "cid"], how="anti", maintain_order="left")
            users, courses = frame["uid"].to_list(), frame["cid"].to_list()
        index = frame["i"].to_list()
        planned = lane.take(index)
        planned.data = {
            "users": users,
            "courses": courses,
            "unassigned": [p for p in zip(users, courses, strict=True) if p not in assigned],
            "result": [CREATED] * len(index),
        }
        chosen = set(index)
        return planned, lane.take([i for i in range(len(lane)) if i not in chosen])

    def apply_columns(self, planned: "Columns", ctx) -> None:
        """The planned rows' records (the verb rolls them up) and their missing assignments."""
        users, courses = planned.data["users"], planned.data["courses"]
        progress.complete_new_courses(
            users, courses, planned.values["completion_date"], ctx.op, Source.IMPORT
        )
        missing = sorted(planned.data["unassigned"])
        assignments.assign_new(
            "course",
            [u for u, _ in missing],
            [c for _, c in missing],
            ctx.op,
            same={"source": Source.IMPORT, "assigned_at": timezone.now()},
        )


COURSE_FIELDS = ("id", "code", "title", "published")
