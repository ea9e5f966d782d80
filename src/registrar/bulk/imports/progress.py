"""progress (SPEC §4.3, seed 002): completions of activities, journeys or programmes by content uuid.

Only completions: a journey completes its activities, a programme its journeys and their
activities (learning.progress.cascade), and completed activities roll up once per batch. A user
without access to the content still gets the record, with the warning no_access.
"""

from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course, Curriculum, Programme
from registrar.learning import access, progress
from registrar.learning.models import CourseRecord, CourseStatus, CurriculumRecord, ProgrammeRecord

from .. import checks, lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind, Option

if TYPE_CHECKING:
    from ..columnar import Columns

# The vendor's words (the option's values) for the catalogue's kinds, and the SPEC's synonyms.
KIND_OPTION = {
    "activity": "course",
    "journey": "curriculum",
    "programme": "programme",
    "course": "course",
    "curriculum": "curriculum",
}
VENDOR = {"course": "activity", "curriculum": "journey", "programme": "programme"}
CONTENT = {"course": Course, "curriculum": Curriculum, "programme": Programme}
RECORD = {
    "course": (CourseRecord, "course_id"),
    "curriculum": (CurriculumRecord, "curriculum_id"),
    "programme": (ProgrammeRecord, "programme_id"),
}
LEVELS = ("programme", "curriculum", "course")  # top-down, the order completions are written in


def kind_label(kind: str) -> str:
    """`curriculum (kind=journey)`: the catalogue's word and the option value that takes it."""
    return f"{kind} (kind={VENDOR[kind]})"


class Progress(ImportKind):
    name = "progress"
    title = _("Progress (completions of activities, journeys or programmes)")
    description = _(
        "Completes an activity (course), a journey (curriculum) or a programme, found by its UUID, "
        "for a user found by email. A file holds one kind of content, chosen with `--set kind=`; a "
        "UUID of another kind is rejected (`content_kind_mismatch`). Only completions, no partial "
        "progress: a journey completes all its activities, a programme all its journeys and their "
        "activities, and completed activities roll up to the journeys and programmes they finish. "
        "An existing completion keeps its date; a row whose every completion exists already is "
        "`unchanged`. A user without access to the content still gets the record, with the warning "
        "`no_access`: it shows once access is given. No assignment is created."
    )
    columns = [
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
            "content_uuid",
            parsers.uuid_,
            required=True,
            aliases=("uuid", "content_id"),
            help=_(
                "The UUID of the activity, journey or programme to complete (of the file's kind)."
            ),
            example="5b0f5f0e-6a8f-4d39-9a3e-3b1f2d8c0a01",
        ),
        Column(
            "completion_date",
            parsers.datetime_(past=True),
            aliases=("completed_at", "completion_at"),
            help=_(
                "When the user completed it: ISO 8601 or YYYY/MM/DD, not in the future; "
                "empty: the date of the import."
            ),
            example="2024-06-15",
        ),
    ]
    options = [
        Option(
            "kind",
            "activity",
            _("What the file's UUIDs are: activity (course), journey (curriculum) or programme"),
            choices=tuple(KIND_OPTION),
        ),
    ]
    key = ("user_email", "content_uuid")
    columnar = True
    template = [
        {
            "user_email": "alice.martin@example.com",
            "content_uuid": "5b0f5f0e-6a8f-4d39-9a3e-3b1f2d8c0a01",
            "completion_date": "2024-06-15",
        },
        {
            "user_email": "bob.durand@example.com",
            "content_uuid": "5b0f5f0e-6a8f-4d39-9a3e-3b1f2d8c0a01",
            "completion_date": "",
        },
    ]

    def resolve(self, rows, ctx):
        kind = KIND_OPTION[ctx.options["kind"]]
        # One moment for the whole import: rows without a date, in any batch, share it.
        now = ctx.state.setdefault("now", timezone.now())
        uuids = {r.values["content_uuid"] for r in rows}
        found = {kind: lookups.by_key(CONTENT[kind], "uuid", uuids, "id", "code")}
        missing = uuids - found[kind].keys()
        for other in (k for k in LEVELS if k != kind):  # only for uuids not of the file's kind
            if missing:
                found[other] = lookups.by_key(CONTENT[other], "uuid", missing, "id")
                missing -= found[other].keys()
        users = lookups.users_by_email(r.values["user_email"] for r in rows)
        # The cascade keyed by row number rather than user: it tells which row completes what.
        tops, candidates = [], set()
        row_users: dict[int, list[int]] = {}
        for r in rows:
            content = found[kind].get(r.values["content_uuid"])
            if content is not None:
                tops.append((r.number, content["id"], None))
                row_users[r.number] = [
                    u["id"] for u in users.get(r.values["user_email"].lower(), ())
                ]
                candidates.update((u, content["id"]) for u in row_users[r.number])
        below: dict[int, dict[str, list[int]]] = {}
        keys: dict[str, set[tuple[int, int]]] = {level: set() for level in LEVELS}
        for level, items in progress.cascade(kind, tops).items():
            for number, c, _when in items:
                below.setdefault(number, {}).setdefault(level, []).append(c)
                keys[level].update((u, c) for u in row_users[number])
        # The exact (user, content) records the rows could touch, not every user × content.
        records = {}
        for level in LEVELS:
            model, field = RECORD[level]
            records[level] = lookups.exact_pairs(model, "user_id", field, keys[level], "status")
        return {
            "kind": kind,
            "now": now,
            "found": found,
            "users": users,
            "below": below,
            "records": records,
            "access": access.has_access(kind, candidates),
        }

    def plan(self, rows, refs, ctx):
        kind, found, users, records = refs["kind"], refs["found"], refs["users"], refs["records"]
        planned: dict[str, set] = {level: set() for level in LEVELS}  # earlier rows' completions
        seen = set()
        for r in rows:
            v = r.values
            uuid = v["content_uuid"]
            content = found[kind].get(uuid)
            if content is None:
                other = next((k for k in LEVELS if uuid in found.get(k, ())), None)
                if other is None:
                    r.reject("content_not_found", column="content_uuid", value=str(uuid))
                else:
                    r.reject(
                        "content_kind_mismatch",
                        value=str(uuid),
                        actual=kind_label(other),
                        expected=kind_label(kind),
                    )
            email = v["user_email"]
            user = checks.learner(r, users.get(email.lower(), []), email, "user_email", ctx)
            if user is None or not r.ok or content is None:
                continue
            uid, top = user["id"], (user["id"], content["id"])
            if top in seen:  # the same user and content, written differently (case, braces)
                r.reject(
                    "duplicate_row", key="user and content", first="an earlier row of this batch"
                )
                continue
            seen.add(top)
            if top not in refs["access"]:
                r.warn("no_access", value=content["code"])
            when = v["completion_date"] or refs["now"]
            # What the row completes: its content and everything below it, except completions
            # that exist (they keep their date) or that an earlier row of the file makes.
            todo = {}
            for level, ids in refs["below"].get(r.number, {}).items():
                fresh = []
                for c in dict.fromkeys(ids):
                    key = (uid, c)
                    rec = records[level].get(key)
                    done = rec is not None and rec["status"] == CourseStatus.COMPLETED
                    if not done and key not in planned[level]:
                        fresh.append(key)
                        planned[level].add(key)
                if fresh:
                    todo[level] = [(u, c, when) for u, c in fresh]
            r.data = {
                "todo": todo,
                "user": uid,
                "courses": refs["below"][r.number].get("course", ()),
            }
            if not todo:
                r.result = UNCHANGED
            elif top not in records[kind]:
                r.result = CREATED
            else:
                r.result = UPDATED

    def apply(self, rows, refs, ctx):
        by_level: dict[str, list] = {level: [] for level in LEVELS}
        users, courses = set(), set()
        for r in rows:
            for level, items in r.data["todo"].items():
                by_level[level].extend(items)
            users.add(r.data["user"])
            # Every course below the row, new or not: a journey completed now over courses
            # completed before may finish a programme.
            courses.update(r.data["courses"])
        for level in LEVELS:
            if by_level[level] and level != "course":
                progress.complete(level, by_level[level], ctx.op)
        # Rolled up once per batch, after every completion of the batch is written; courses
        # completed before may finish a journey completed now.
        progress.complete_courses(by_level["course"], ctx.op, also=(users, courses))

    def plan_columns(self, lane: "Columns", ctx) -> tuple["Columns", "Columns"]:
        """The rows that complete an activity (course) for the first time, planned created in
        bulk: the course found by its UUID, one learner with the email, usable and in scope,
        with access to the course, no record of it yet, and no other row of the batch for the
        same learner and course. Every other row, and every journey or programme (they
        cascade), takes the row path."""
        import polars as pl  # only the columnar lane pays for loading it

        if KIND_OPTION[ctx.options["kind"]] != "course":
            return lane.take([]), lane
        now = ctx.state.setdefault("now", timezone.now())  # as resolve() has it
        v = lane.values
        courses = lookups.by_key(Course, "uuid", set(v["content_uuid"]), "id")
        cid = {u: c["id"] for u, c in courses.items()}
        frame = (
            pl.DataFrame(
                {"email": v["user_email"], "cid": [cid.get(u) for u in v["content_uuid"]]},
                schema={"email": pl.String, "cid": pl.Int64},
            )
            .with_row_index("i")
            .with_columns(email_ci=pl.col("email").str.to_lowercase())
            .join(
                lookups.learners_by_email(v["user_email"], ctx.cache),
                on="email_ci",
                how="left",
                maintain_order="left",
            )
        )
        # Two rows of one learner and course (the UUID written differently): the row path
        # tells the first from the duplicate.
        once = pl.struct("uid", "cid").is_unique() | pl.col("cid").is_null()
        frame = frame.filter(once).filter(pl.col("cid").is_not_null() & checks.learners_ok(ctx))
        users, ids = frame["uid"].to_list(), frame["cid"].to_list()
        records = lookups.existing_pairs(CourseRecord, "user_id", "course_id", users, ids)
        pairs = set(zip(users, ids, strict=True))
        keep = access.has_access("course", pairs - records)  # else warned no_access: row path
        index = [
            i
            for i, p in zip(frame["i"].to_list(), zip(users, ids, strict=True), strict=True)
            if p in keep
        ]
        planned = lane.take(index)
        chosen = [p for p in zip(users, ids, strict=True) if p in keep]
        planned.data = {
            "users": [u for u, _ in chosen],
            "courses": [c for _, c in chosen],
            "dates": [d or now for d in planned.values["completion_date"]],
            "result": [CREATED] * len(index),
        }
        taken = set(index)
        return planned, lane.take([i for i in range(len(lane)) if i not in taken])

    def apply_columns(self, planned: "Columns", ctx) -> None:
        """The planned rows' records; the verb rolls them up to journeys and programmes."""
        progress.complete_new_courses(
            planned.data["users"], planned.data["courses"], planned.data["dates"], ctx.op
        )
