"""classroom-sessions (SPEC §4.13, seed 003): create and update the classroom sessions of a course,
with their per-lesson time slots, trainers, manager and organisations. Seats are never touched."""

from collections import Counter
from functools import cache

from django.db.models import Count
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import ClassroomSession, Course, Lesson, SessionSlot
from registrar.directory.models import User
from registrar.journal import writes
from registrar.learning.models import Seat

from .. import lookups, parsers
from ..diff import differences, keeps
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind, Option

SLOTS_FORMAT = "LESSON|START|END$LESSON|START|END"
STATUS = ClassroomSession.Status
# The seed writes "0 = ouverte": a zero typed for the letter O is read as O.
STATUSES = {"N": STATUS.PREPARATION, "O": STATUS.OPEN, "0": STATUS.OPEN}
STATUSES |= {"C": STATUS.CLOSED, "D": STATUS.CLOSED_DONE, "X": STATUS.CANCELLED}
MAX_PARTICIPANTS = 2_147_483_647  # the column's limit (a positive integer)
SESSION_FIELDS = (
    "id",
    "course_id",
    "course__code",
    "start",
    "status",
    "max_participants",
    "immediate_confirmation",
    "waiting_list",
    "trainer_id",
    "room_extid",
    "manager_id",
    "op",
)
USER_FIELDS = ("id", "login", "disabled", "organisation_id")


yes_no = parsers.choice(
    {**dict.fromkeys(parsers.YES, True), **dict.fromkeys(parsers.NO, False)},
    shown="Y, N (also O/N, yes/no, 1/0)",
)


class _Link:
    """A many-to-many of ClassroomSession, written row by row in its through table with
    journal.writes. Works on the auto-created through tables and on explicit through models
    alike (their two foreign keys are found from the field, whatever their names)."""

    def __init__(self, name: str):
        f = ClassroomSession._meta.get_field(name)
        self.name = name
        self.model = f.remote_field.through
        meta = self.model._meta
        self.src = meta.get_field(f.m2m_field_name()).attname  # -> the session
        self.dst = meta.get_field(f.m2m_reverse_field_name()).attname  # -> the user or org
        self.fields = [x.attname for x in meta.concrete_fields]

    def load(self, session_ids) -> dict[int, dict[int, dict]]:
        """The links of these sessions: session id -> target id -> the link row (every column)."""
        out: dict[int, dict[int, dict]] = {}
        for part in lookups.chunks(session_ids):
            for row in self.model._base_manager.filter(**{f"{self.src}__in": part}).values(
                *self.fields
            ):
                out.setdefault(row[self.src], {})[row[self.dst]] = row
        return out


@cache
def _links() -> dict[str, _Link]:
    return {n: _Link(n) for n in ("extra_trainers", "organisations")}


def _shown(moment) -> str:
    """A moment as a person reads it, in the platform's time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _slot_key(lesson_id: int, start, end) -> tuple:
    return (lesson_id, start, end)


class ClassroomSessions(ImportKind):
    name = "classroom-sessions"
    domain = "catalogue"
    title = _("Classroom sessions")
    description = _(
        "Creates classroom (ILT) sessions of a course, or updates the session whose `session_extid` "
        "exists already (`created`, `updated`, or `unchanged` when the row says what the session "
        "already holds). The course must be a classroom course: course type classroom, or at least "
        "one classroom (T) lesson, as blended courses have (`not_classroom_course`); it may be "
        "unpublished (sessions are prepared before publication). A session stays on its course "
        "(`session_course_mismatch`). The row describes the session: a column the file has sets "
        "the field, and an empty cell sets its empty value (status N, no, no room, no manager, no "
        "extra trainers, no organisations, no slots) unless `update_info_if_present=yes`; a column "
        "the file lacks leaves the field as it is (a new session gets the empty value). In "
        "particular the session's lesson slots are replaced by the row's when the column is "
        "present (slots that stay the same keep their identity), and so are its extra trainers "
        "and organisations. Lowering max_participants below the seats already taken (booked, "
        "attended or absent; the waiting list does not count) rejects the row (`session_full`): "
        "seats are never removed by this import, free them first. Trainer, extra trainers and "
        "manager must be existing users (`user_not_found`); a disabled user cannot be newly put in "
        "one of those places (`user_disabled`), but one who already holds it is kept, so that past "
        "sessions of a trainer who has left can still be closed. With a scope, the session's "
        "organisations (at least one: a session for no organisation is for everyone) must be "
        "inside it, and so must an existing session's current organisations; trainers and "
        "manager newly put in place must belong to it too (`out_of_scope`)."
    )
    columns = [
        Column(
            "crsvname",
            parsers.text(100),
            required=True,
            aliases=("course_code", "course"),
            help=_("The course's code (its unique identifier): a classroom course."),
            example="SAFE-202",
        ),
        Column(
            "lesson_slots",
            parsers.compound(
                [parsers.text(100), parsers.datetime_(), parsers.datetime_()],
                shown=SLOTS_FORMAT,
            ),
            aliases=("slots", "session_slots", "lesson_sessions"),
            help=format_lazy(
                _(
                    "The time slot of each lesson, `{format}`: a lesson code of the course "
                    "(`lesson_not_found` otherwise), its start and its end (ISO 8601 or YYYY/MM/DD "
                    "HH:MM; the end after the start, the start not before the session's). Replaces "
                    "the session's slots."
                ),
                format=SLOTS_FORMAT,
            ),
            example="SAFE-202-L2|2030-03-04T09:00|2030-03-04T12:30",
        ),
        Column(
            "start",
            parsers.datetime_(),
            required=True,
            aliases=("session_start", "start_date", "start_datetime"),
            help=_(
                "When the session starts: YYYY/MM/DD (midnight), or with a time "
                "(2030-03-04T09:00, 2030/03/04 09:00)."
            ),
            example="2030/03/04",
        ),
        Column(
            "session_extid",
            parsers.text(100),
            required=True,
            aliases=("session_id", "session", "extid"),
            help=_(
                "The session's identifier: a new one creates the session, an existing one "
                "updates it."
            ),
            example="SAFE-202-2030-03-04",
        ),
        Column(
            "status",
            parsers.choice(STATUSES, shown="N, O, C, D, X"),
            aliases=("session_status",),
            help=_(
                "N in preparation (empty), O open (the seed's 0 is read as O), C closed, "
                "D closed (done), X cancelled."
            ),
            example="O",
        ),
        Column(
            "max_participants",
            parsers.integer(1, MAX_PARTICIPANTS),
            required=True,
            aliases=("max", "capacity", "max_seats"),
            help=_(
                "The number of seats, a positive whole number; not below the seats already "
                "taken (`session_full`)."
            ),
            example="12",
        ),
        Column(
            "immediate_confirmation",
            yes_no,
            aliases=("confirmation", "immediate_booking_confirmation"),
            help=_(
                "Y: a booking is confirmed at once; N (or empty): it waits for a confirmation. "
                "O/N (oui/non) are accepted too."
            ),
            example="Y",
        ),
        Column(
            "waiting_list",
            yes_no,
            help=_(
                "Y: learners go on a waiting list once the session is full; N (or empty): no "
                "waiting list."
            ),
            example="Y",
        ),
        Column(
            "trainer",
            parsers.text(150),
            required=True,
            aliases=("trainer_login", "trainer_id"),
            help=_("The trainer's login."),
            example="amartin",
        ),
        Column(
            "extra_trainers",
            parsers.multi(parsers.text(150), sep=","),
            aliases=("additional_trainers", "extra_trainer_logins"),
            help=_(
                "Further trainers' logins, separated by commas (the trainer, if repeated, is "
                "left out). Replaces the session's extra trainers."
            ),
            example="bdurand",
        ),
        Column(
            "room_extid",
            parsers.text(100),
            aliases=("room",),
            help=_("The room's (or virtual classroom's) external id, as text."),
            example="ROOM-LYON-2",
        ),
        Column(
            "manager",
            parsers.text(150),
            aliases=("manager_login", "session_manager"),
            help=_("The session manager's login."),
            example="bdurand",
        ),
        Column(
            "organisations",
            parsers.multi(parsers.text(100), sep="|"),
            aliases=("org_extids", "organisation_extids"),
            help=_(
                "The external ids of the organisations the session is for, separated by `|` "
                "(`org_not_found` otherwise). Replaces the session's organisations."
            ),
            example="ACME-EU|ACME-LOG",
        ),
    ]
    options = [
        Option(
            "update_info_if_present",
            False,
            _(
                "An empty cell never erases an existing session's value (slots, extra trainers, "
                "organisations, room, manager, status and Y/N switches are then kept)."
            ),
        ),
    ]
    key = ("session_extid",)
    template = [
        {
            "crsvname": "SAFE-202",
            "lesson_slots": "SAFE-202-L2|2030-03-04T09:00|2030-03-04T12:30"
            "$SAFE-202-L3|2030-03-04T13:30|2030-03-04T17:00",
            "start": "2030-03-04T09:00",
            "session_extid": "SAFE-202-2030-03-04",
            "status": "O",
            "max_participants": "12",
            "immediate_confirmation": "Y",
            "waiting_list": "Y",
            "trainer": "amartin",
            "extra_trainers": "bdurand",
            "room_extid": "ROOM-LYON-2",
            "manager": "bdurand",
            "organisations": "ACME-EU|ACME-LOG",
        },
        {
            "crsvname": "SAFE-202",
            "lesson_slots": "SAFE-202-L2|2030/03/11 14:00|2030/03/11 17:30",
            "start": "2030/03/11",
            "session_extid": "SAFE-202-2030-03-11",
            "status": "N",
            "max_participants": "8",
            "immediate_confirmation": "N",
            "waiting_list": "N",
            "trainer": "bdurand",
            "extra_trainers": "",
            "room_extid": "",
            "manager": "",
            "organisations": "ACME-EU",
        },
    ]

    # -- resolve: one query per table for the batch ------------------------------------------

    def resolve(self, rows, ctx):
        vals = [r.values for r in rows]
        courses = lookups.by_key(
            Course, "code", {v["crsvname"] for v in vals}, "id", "code", "course_type"
        )
        sessions = lookups.by_key(
            ClassroomSession, "extid", {v["session_extid"] for v in vals}, *SESSION_FIELDS
        )
        course_ids = {c["id"] for c in courses.values()} | {
            s["course_id"] for s in sessions.values()
        }
        lessons: dict[int, dict[str, dict]] = {}  # course -> lesson code -> lesson
        for part in lookups.chunks(course_ids):
            for row in Lesson._base_manager.filter(course_id__in=part).values(
                "id", "code", "course_id", "lesson_type"
            ):
                lessons.setdefault(row["course_id"], {})[row["code"]] = row
        logins = set()
        org_extids = set()
        for v in vals:
            logins.update((v["trainer"], v["manager"], *(v["extra_trainers"] or ())))
            org_extids.update(v["organisations"] or ())
        users = lookups.by_key(User, "login", logins, *USER_FIELDS)
        orgs = lookups.orgs_by_extid(org_extids)
        session_ids = [s["id"] for s in sessions.values()]
        slot_fields = [f.attname for f in SessionSlot._meta.concrete_fields]
        slots: dict[int, list[dict]] = {}
        for part in lookups.chunks(session_ids):
            for row in SessionSlot._base_manager.filter(session_id__in=part).values(*slot_fields):
                slots.setdefault(row["session_id"], []).append(row)
        links = {name: link.load(session_ids) for name, link in _links().items()}
        taken: dict[int, int] = {}  # seats that hold a place: the waiting list does not
        for part in lookups.chunks(session_ids):
            qs = (
                Seat._base_manager.filter(session_id__in=part)
                .exclude(status=Seat.Status.WAITING)
                .values("session_id")
                .annotate(n=Count("id"))
            )
            taken.update({x["session_id"]: x["n"] for x in qs})
        return {
            "courses": courses,
            "sessions": sessions,
            "lessons": lessons,
            "users": users,
            "orgs": orgs,
            "slots": slots,
            "links": links,
            "taken": taken,
        }

    # -- plan ----------------------------------------------------------------------------------

    def plan(self, rows, refs, ctx):
        for r in rows:
            self._plan_row(r, refs, ctx)

    def _course(self, r, refs) -> dict | None:
        code = r.values["crsvname"]
        course = refs["courses"].get(code)
        if course is None:
            r.reject("course_not_found", value=code)
            return None
        lessons = refs["lessons"].get(course["id"], {}).values()
        if course["course_type"] != Course.CourseType.CLASSROOM and not any(
            x["lesson_type"] == Lesson.LessonType.CLASSROOM for x in lessons
        ):
            r.reject("not_classroom_course", value=code)
        return course

    def _user(self, r, refs, ctx, column: str, login: str, holders: set) -> dict | None:
        """A user named in `column`. `holders` are the ids already in that place: they stay,
        even disabled or outside the scope (the row changes nothing about them)."""
        user = refs["users"].get(login)
        if user is None:
            r.reject("user_not_found", column=column, value=login)
            return None
        if user["id"] in holders:
            return user
        if user["disabled"]:
            r.reject("user_disabled", value=login)
        if not ctx.in_scope(user["organisation_id"]):
            r.reject("out_of_scope", what=f"User {login} ({column})")
        return user

    def _plan_row(self, r, refs, ctx):
        v = r.values
        extid = v["session_extid"]
        session = refs["sessions"].get(extid)
        course = self._course(r, refs)
        if session is not None and course is not None and session["course_id"] != course["id"]:
            r.reject(
                "session_course_mismatch",
                value=extid,
                actual=session["course__code"],
                course=course["code"],
            )
        sid = session["id"] if session else None
        old_links = {name: refs["links"][name].get(sid, {}) for name in _links()}
        keep = session is not None and ctx.options["update_info_if_present"]

        def given(column: str) -> bool:
            """Does the row set this column: present in the file, and not an empty cell kept."""
            return not keeps(column, v, ctx.present, keep)

        # People.
        trainer = self._user(
            r, refs, ctx, "trainer", v["trainer"], {session["trainer_id"]} if session else set()
        )
        extra_ids = None
        if given("extra_trainers"):
            extra_ids = []
            holders = set(old_links["extra_trainers"])
            for login in dict.fromkeys(v["extra_trainers"] or ()):
                if login == v["trainer"]:
                    continue
                u = self._user(r, refs, ctx, "extra_trainers", login, holders)
                if u is not None:
                    extra_ids.append(u["id"])
        manager_id = session["manager_id"] if session else None
        if given("manager"):
            manager_id = None
            if v["manager"] is not None:
                holders = {session["manager_id"]} if session else set()
                u = self._user(r, refs, ctx, "manager", v["manager"], holders)
                manager_id = u["id"] if u else None
        # Organisations, and the scope.
        org_ids = None
        if given("organisations"):
            org_ids = []
            for ext in dict.fromkeys(v["organisations"] or ()):
                org = refs["orgs"].get(ext)
                if org is None:
                    r.reject("org_not_found", value=ext)
                    continue
                org_ids.append(org["id"])
                if not ctx.in_scope(org["id"]):
                    r.reject("out_of_scope", what=f"Organisation {ext}")
        if ctx.scope_ids is not None:
            current = set(old_links["organisations"])
            if session is not None and (not current or not current <= ctx.scope_ids):
                r.reject("out_of_scope", what=f"Session {extid}")
            elif not (current if org_ids is None else org_ids):
                # A session for no organisation in particular is for everyone's learners.
                r.reject("out_of_scope", what=f"Session {extid} (for every organisation)")
        # Slots: lessons of the course, each ending after it starts, none before the session.
        slots = None
        if given("lesson_slots") and course is not None:
            slots = []
            lessons = refs["lessons"].get(course["id"], {})
            for code, start, end in v["lesson_slots"] or ():
                lesson = lessons.get(code)
                if lesson is None:
                    r.reject("lesson_not_found", value=code, course=course["code"])
                    continue
                if end <= start or start < v["start"]:
                    r.reject(
                        "invalid_slot",
                        lesson=code,
                        start=_shown(start),
                        end=_shown(end),
                        session_start=_shown(v["start"]),
                    )
                    continue
                slots.append(_slot_key(lesson["id"], start, end))
        # Capacity: never below the seats already taken.
        if session is not None and v["max_participants"] < refs["taken"].get(sid, 0):
            r.reject("session_full", value=extid)
        if not r.ok:
            return

        wanted = {
            "start": v["start"],
            "max_participants": v["max_participants"],
            "trainer_id": trainer["id"],
            "manager_id": manager_id,
        }
        for column, empty in (
            ("status", STATUS.PREPARATION),
            ("immediate_confirmation", False),
            ("waiting_list", False),
            ("room_extid", ""),
        ):
            if given(column):
                wanted[column] = empty if v[column] is None else v[column]
            elif session is None:
                wanted[column] = empty
        if session is None:
            r.result = CREATED
            r.data = {
                "session": {"course_id": course["id"], "extid": extid, **wanted},
                "slot_add": slots or [],
                "link_add": {"extra_trainers": extra_ids or [], "organisations": org_ids or []},
                "link_del": {},
                "slot_del": [],
            }
            return
        changes = differences(session, wanted)
        data = {"pk": sid, "changes": changes, "before": session, "slot_add": [], "slot_del": []}
        if slots is not None:
            # A multiset difference: slots that stay the same are left as they are.
            old = refs["slots"].get(sid, [])
            want = Counter(slots)
            for row in old:
                k = _slot_key(row["lesson_id"], row["start"], row["end"])
                if want[k] > 0:
                    want[k] -= 1
                else:
                    data["slot_del"].append(row)
            data["slot_add"] = list(want.elements())
        data["link_add"], data["link_del"] = {}, {}
        for name, ids in (("extra_trainers", extra_ids), ("organisations", org_ids)):
            if ids is None:
                continue
            old, keep_ids = old_links[name], set(ids)
            data["link_add"][name] = [i for i in ids if i not in old]
            data["link_del"][name] = [row for i, row in old.items() if i not in keep_ids]
        changed = (
            changes
            or data["slot_add"]
            or data["slot_del"]
            or any(data["link_add"].values())
            or any(data["link_del"].values())
        )
        r.result = UPDATED if changed else UNCHANGED
        r.data = data

    # -- apply ---------------------------------------------------------------------------------

    def apply(self, rows, refs, ctx):
        op = ctx.op
        new = [r for r in rows if "session" in r.data]
        ids = writes.allocate_ids(ClassroomSession, len(new))
        for pk, r in zip(ids, new, strict=True):
            r.data["pk"] = pk
        writes.insert(
            ClassroomSession,
            [{"id": r.data["pk"], **r.data["session"]} for r in new],
            op,
            [r.number for r in new],
        )
        writes.update(
            ClassroomSession,
            [
                (r.data["pk"], r.data["changes"], r.data["before"], r.number)
                for r in rows
                if r.data.get("changes")
            ],
            op,
        )
        writes.delete(
            SessionSlot, [(s["id"], s, r.number) for r in rows for s in r.data["slot_del"]], op
        )
        slot_rows, numbers = [], []
        for r in rows:
            for lesson_id, start, end in r.data["slot_add"]:
                slot_rows.append(
                    {"session_id": r.data["pk"], "lesson_id": lesson_id, "start": start, "end": end}
                )
                numbers.append(r.number)
        writes.insert(SessionSlot, slot_rows, op, numbers)
        for name, link in _links().items():
            gone = [
                (row["id"], row, r.number) for r in rows for row in r.data["link_del"].get(name, ())
            ]
            writes.delete(link.model, gone, op)
            added, numbers = [], []
            for r in rows:
                for target in r.data["link_add"].get(name, ()):
                    added.append({link.src: r.data["pk"], link.dst: target})
                    numbers.append(r.number)
            writes.insert(link.model, added, op, numbers)
