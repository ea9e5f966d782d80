"""unenrolments (SPEC §4.4, seed 004): remove course assignments and classroom seats, found by
the activity's external reference, keeping completions; optionally tell the user through the outbox."""

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import ClassroomSession, Course
from registrar.directory.models import User
from registrar.journal import writes
from registrar.learning import assignments
from registrar.learning.models import CourseAssignment, CourseRecord, CourseStatus, Seat
from registrar.notify import mail, templates

from .. import lookups, parsers
from ..kind import DELETED, UNCHANGED, Column, ImportKind

MAIL_TEMPLATE = "unenrolment"  # the MailTemplate code used when it exists
# Fields a template can fill; the session's exist for session rows only.
MAIL_FIELDS = templates.fields("user", "course", "activity")
SESSION_FIELDS = templates.fields("user", "course", "activity", "session")
BUILTIN_SUBJECT = "Unenrolment: {{ activity.title }}"
BUILTIN_BODY = (
    "Hello {{ user.first_name }} {{ user.last_name }},\n\n"
    'You have been unenrolled from the {{ activity.type }} "{{ activity.title }}" '
    "(reference {{ activity.ref }}).\n\n"
    "If you think this is a mistake, please contact your training administrator.\n"
)


def _listed(names) -> str:
    return ", ".join(f"`{{{{ {n} }}}}`" for n in sorted(names))


def _fields(model, *skip: str) -> list[str]:
    """Every concrete column but `skip`: a deleted row's full snapshot, so undo re-creates it."""
    return [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", *skip)]


class Unenrolments(ImportKind):
    name = "unenrolments"
    title = _("Unenrolments")
    description = format_lazy(
        _(
            "Removes a user's course assignment, or their seat in a classroom session, the activity "
            "being found by its external reference (a course's extref, or a session's extid; a "
            "reference that names two items is rejected, `ambiguous_activity`). A completed course "
            "keeps its completion record, only the assignment goes (`completion_kept`); an attended "
            "session keeps its seat, marked attended, and the row is `unchanged` (`completion_kept`). "
            "A user not enrolled is skipped (`not_enrolled`), and gets no mail. With send_email, the "
            "unenrolled user is told through the outbox, with the mail template `{template}` in the "
            "user's culture when it exists (fields: {fields}; for sessions also {session_fields}), "
            "otherwise a built-in English text. Undo re-creates the assignments and seats; mails "
            "already sent stay sent."
        ),
        template=MAIL_TEMPLATE,
        fields=_listed(MAIL_FIELDS),
        session_fields=_listed(SESSION_FIELDS - MAIL_FIELDS),
    )
    columns = [
        Column(
            "username",
            parsers.text(150),
            required=True,
            aliases=("user_login", "login"),
            help=_("The user's login; the account must exist."),
            example="amartin",
        ),
        Column(
            "activity_extref",
            parsers.text(100),
            required=True,
            aliases=(
                "activity external reference",
                "activity_external_reference",
                "extref",
            ),
            help=_("The course's external reference, or the classroom session's external id."),
            example="EXT-101",
        ),
        Column(
            "send_email",
            parsers.flag,
            aliases=("send unenrolment email", "send_unenrolment_email"),
            help=_(
                "Yes to tell the user by mail (only when something was removed); No by default."
            ),
            example="No",
        ),
    ]
    key = ("username", "activity_extref")
    template = [
        {"username": "amartin", "activity_extref": "EXT-101", "send_email": "No"},
        {"username": "bdurand", "activity_extref": "EXT-101", "send_email": "Yes"},
    ]

    def resolve(self, rows, ctx):
        logins = {r.values["username"] for r in rows}
        extrefs = {r.values["activity_extref"] for r in rows}
        users = lookups.by_key(
            User,
            "login",
            logins,
            "id",
            "email",
            "first_name",
            "last_name",
            "culture",
            "organisation_id",
        )
        courses: dict[str, list[dict]] = {}  # course extrefs are not unique
        for part in lookups.chunks(extrefs):
            for c in Course._base_manager.filter(extref__in=part).values(
                "id", "code", "title", "extref"
            ):
                courses.setdefault(c["extref"], []).append(c)
        sessions = lookups.by_key(
            ClassroomSession,
            "extid",
            extrefs,
            "id",
            "extid",
            "start",
            "course__code",
            "course__title",
        )
        # Only the (user, activity) pairs the rows name: no cross product of users and activities.
        course_pairs, seat_pairs = set(), set()
        for r in rows:
            user = users.get(r.values["username"])
            if user is None:
                continue
            ref = r.values["activity_extref"]
            course_pairs.update((user["id"], c["id"]) for c in courses.get(ref, ()))
            if ref in sessions:
                seat_pairs.add((user["id"], sessions[ref]["id"]))
        assigned = lookups.exact_pairs(
            CourseAssignment,
            "user_id",
            "course_id",
            course_pairs,
            *_fields(CourseAssignment, "user_id", "course_id"),
        )
        records = lookups.exact_pairs(CourseRecord, "user_id", "course_id", course_pairs, "status")
        seats = lookups.exact_pairs(
            Seat, "user_id", "session_id", seat_pairs, *_fields(Seat, "user_id", "session_id")
        )
        template = refusals = None
        if any(r.values["send_email"] for r in rows):
            # Every culture of the template, checked once per kind of row, not once per row.
            template = mail.load(MAIL_TEMPLATE) or mail.builtin(BUILTIN_SUBJECT, BUILTIN_BODY)
            refusals = {
                "course": mail.refusal(template, MAIL_FIELDS),
                "session": mail.refusal(template, SESSION_FIELDS),
            }
        return {
            "users": users,
            "courses": courses,
            "sessions": sessions,
            "assigned": assigned,
            "records": records,
            "seats": seats,
            "template": template,
            "refusals": refusals,
        }

    def plan(self, rows, refs, ctx):
        users, courses, sessions = refs["users"], refs["courses"], refs["sessions"]
        for r in rows:
            v = r.values
            login, ref = v["username"], v["activity_extref"]
            user = users.get(login)
            if user is None:
                r.reject("user_not_found", column="username", value=login)
            elif not ctx.in_scope(user["organisation_id"]):
                r.reject("out_of_scope", what=f"User {login}")
            found = [("course", c) for c in courses.get(ref, ())]
            if ref in sessions:
                found.append(("session", sessions[ref]))
            if not found:
                r.reject("activity_not_found", value=ref)
            elif len(found) > 1:
                items = ", ".join(
                    f"course {x['code']}" if kind == "course" else f"session {ref}"
                    for kind, x in found
                )
                r.reject("ambiguous_activity", value=ref, count=len(found), items=items)
            if not r.ok:
                continue
            kind, item = found[0]
            if kind == "course":
                self._plan_course(r, user, item, refs)
            else:
                self._plan_session(r, user, item, refs)
            if r.result == DELETED and v["send_email"]:
                self._plan_mail(r, user, kind, item, refs["refusals"][kind])

    def _plan_course(self, r, user, course, refs):
        pair = (user["id"], course["id"])
        assignment = refs["assigned"].get(pair)
        if assignment is None:
            r.skip("not_enrolled", value=course["code"])
            return
        r.result = DELETED
        r.data = {"what": "course", "before": assignment}
        record = refs["records"].get(pair)
        if record is not None and record["status"] == CourseStatus.COMPLETED:
            r.warn("completion_kept")

    def _plan_session(self, r, user, session, refs):
        seat = refs["seats"].get((user["id"], session["id"]))
        if seat is None:
            r.skip("not_enrolled", value=r.values["activity_extref"])
            return
        if seat["status"] == Seat.Status.ATTENDED:
            # The seat is the attendance record: it stays, so reports still show it attended.
            r.warn("completion_kept")
            r.result = UNCHANGED
            return
        r.result = DELETED
        r.data = {"what": "seat", "before": seat}

    def _plan_mail(self, r, user, kind, item, refusal):
        if not user["email"]:
            r.warn("no_email", value=user["login"])
            r.result = DELETED  # the unenrolment is the row's change; the mail only its extra
            return
        if refusal is not None:
            r.reject("mail_template_field", template=MAIL_TEMPLATE, field=refusal.field)
            r.data = {}
            return
        ref = r.values["activity_extref"]
        person = {k: user[k] for k in ("id", "email", "first_name", "last_name", "culture")}
        values = {"user": {**person, "login": r.values["username"]}}
        if kind == "course":
            values |= {
                "course": {"title": item["title"], "code": item["code"]},
                "activity": {"title": item["title"], "type": "course", "ref": ref},
            }
        else:
            start = timezone.localtime(item["start"]).strftime("%Y-%m-%d %H:%M")
            values |= {
                "course": {"title": item["course__title"], "code": item["course__code"]},
                "activity": {
                    "title": f"{item['course__title']} ({start})",
                    "type": "classroom session",
                    "ref": ref,
                },
                "session": {"extid": item["extid"], "start": start},
            }
        r.data["mail"] = values

    def apply(self, rows, refs, ctx):
        by_what: dict[str, list] = {}
        mails = []
        for r in rows:
            by_what.setdefault(r.data["what"], []).append(
                (r.data["before"]["id"], r.data["before"], r.number)
            )
            if "mail" in r.data:
                mails.append(r.data["mail"])
        for what, items in by_what.items():
            if what == "seat":
                writes.delete(Seat, items, ctx.op)  # a seat has no verb: nothing follows from it
            else:
                assignments.remove(what, items, ctx.op)
        if mails:
            # Queued in the import's transaction: a verify-only or aborted import leaves none.
            mail.queue(ctx.op, refs["template"], mails)
