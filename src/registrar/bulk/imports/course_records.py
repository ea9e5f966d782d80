"""course-records (SPEC §4.2, seed 001): historical course records with their credits, one row per
credit type; course-level (accredited) or global (legacy) importer. Never changes what exists."""

from datetime import datetime, time

from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import CertificateTemplate, Course, CreditType
from registrar.directory.models import User
from registrar.journal import writes
from registrar.learning import assignments as learning_assignments
from registrar.learning import progress
from registrar.learning.models import (
    Certificate,
    CourseAssignment,
    CourseRecord,
    CourseStatus,
    CreditAward,
    Source,
)

from .. import checks, lookups, parsers, references
from ..io.readers import FileError
from ..kind import CREATED, UNCHANGED, Column, ImportKind, Option

USER_FIELDS = ("id", "login", "disabled", "training_access", "organisation_id")
EARLIER = "(an earlier one)"  # a row of an earlier batch, whose number is not kept


def _credit_types(names) -> dict[str, list[dict]]:
    """Credit types by lower-cased name (one query per chunk): a list, in case two differ by case."""
    out: dict[str, list[dict]] = {}
    lowered = {n.lower() for n in names if n}
    for part in lookups.chunks(lowered):
        qs = CreditType.objects.annotate(lname=Lower("name")).filter(lname__in=part)
        for row in qs.values("id", "name", "lname"):
            out.setdefault(row["lname"], []).append(row)
    return out


def _awards(user_ids, course_ids) -> dict[tuple[int, int, int], dict]:
    """Credit awards keyed by (user, course, credit type) for the given users and courses."""
    out = {}
    users = {u for u in user_ids if u is not None}
    courses = list({c for c in course_ids if c is not None})
    if not users or not courses:
        return out
    for upart in lookups.chunks(users, lookups.IN_CHUNK // 2):
        for cpart in lookups.chunks(courses, lookups.IN_CHUNK // 2):
            for row in CreditAward._base_manager.filter(
                user_id__in=upart, course_id__in=cpart
            ).values(
                "id",
                "user_id",
                "course_id",
                "credit_type_id",
                "amount",
                "awarded_on",
                "legacy",
                "op",
            ):
                out[(row["user_id"], row["course_id"], row["credit_type_id"])] = row
    return out


def _differs(record: dict, wanted: dict) -> str | None:
    """The first column on which an existing record disagrees with what a row says, or None.

    A row with complete=0 agrees with any record that is not completed (not started or in
    progress); an empty enrolled_date says nothing about the record's.
    """
    if wanted["status"] == CourseStatus.COMPLETED:
        if record["status"] != CourseStatus.COMPLETED:
            return "complete"
        if record["status_date"] != wanted["status_date"]:
            return "completion_date"
    elif record["status"] == CourseStatus.COMPLETED:
        return "complete"
    if wanted["enrolled_date"] is not None and record["enrolled_date"] != wanted["enrolled_date"]:
        return "enrolled_date"
    if record["legacy"] != wanted["legacy"]:
        return "legacy"
    return None


class CourseRecords(ImportKind):
    name = "course-records"
    title = _("Course records and credits")
    description = _(
        "Imports course records (enrolments and completions) with their credit awards: one row per "
        "credit type, so a learner awarded two credit types has two rows for the same course. The "
        "first row of a user and course creates the assignment and the record, the next ones add "
        "their credit award. Nothing that exists is ever changed: an assignment, record or credit "
        "award that differs from the row rejects it (`record_exists`; change it with an action), "
        "one that says the same is `unchanged`. With `course=CODE` (the course-level importer) every "
        "row is for that course and the records count in accreditation reports; without it (the "
        "global importer) records and credit awards are flagged legacy and left out of them. "
        "Completions roll up to curricula and programmes. No certificate unless `certificates=yes`."
    )
    columns = [
        Column(
            "user",
            parsers.text(254),
            required=True,
            aliases=("user_login", "username", "user_email"),
            help=_(
                "The user's login, or else their email (compared case-insensitively; it must match exactly one user)."
            ),
            example="amartin",
        ),
        Column(
            "course",
            parsers.text(100),
            aliases=("course_code",),
            header_required=lambda options: not options.get("course"),
            help=_(
                "The course's code. Required by the global importer; with `course=CODE` it may be "
                "left out or empty, and a row naming another course is rejected (`course_mismatch`)."
            ),
            example="SAFE-102",
        ),
        Column(
            "complete",
            parsers.flag,
            required=True,
            help=_("1 completed, 0 enrolled and not completed."),
            example="1",
        ),
        Column(
            "completion_date",
            parsers.datetime_(past=True),
            help=_(
                "Required when complete=1, empty when complete=0: ISO 8601 or YYYY/MM/DD, not in the future."
            ),
            example="2024-03-15",
        ),
        Column(
            "credit_type",
            parsers.text(150),
            help=_(
                "The credit type awarded by this row (an existing one, e.g. CPD); one row per credit type. "
                "Only with complete=1, and together with credits."
            ),
            example="CPD",
        ),
        Column(
            "credits",
            parsers.money(8, 2),
            help=_("The amount of credit_type awarded, a number (e.g. 1.5); only with complete=1."),
            example="1",
        ),
        Column(
            "enrolled_date",
            parsers.date_(past=True),
            aliases=("enrollment_date", "enrolment_date"),
            help=_(
                "When the learner enrolled (the record's enrolment date and the assignment's start date); not in the future."
            ),
            example="2024-03-01",
        ),
    ]
    options = [
        Option(
            "course",
            "",
            _(
                "Course-level importer: the code of the course every row is for; its records count in "
                "accreditation reports. Empty: the global importer, whose records and credits are legacy"
            ),
        ),
        Option(
            "certificates",
            False,
            _(
                "Issue a certificate (with the course's current template version) for each completed "
                "record the import creates, when the course has a certificate template"
            ),
        ),
    ]
    key = ("user", "course", "credit_type")
    # No enrolled_date: an assignment the platform already has (the demo's) then never contradicts it.
    template = [
        {
            "user": "amartin",
            "course": "SAFE-102",
            "complete": "1",
            "completion_date": "2024/03/15",
            "credit_type": "CPD",
            "credits": "1",
            "enrolled_date": "",
        },
        {
            "user": "bob.durand@example.com",
            "course": "SAFE-101",
            "complete": "0",
            "completion_date": "",
            "credit_type": "",
            "credits": "",
            "enrolled_date": "",
        },
    ]

    def _option_course(self, ctx) -> dict | None:
        """The course-level importer's course (looked up once per import), None if unknown."""
        if "course" not in ctx.state:
            ctx.state["course"] = references.find_one("course", ctx.options["course"])
        return ctx.state["course"]

    def resolve(self, rows, ctx):
        names = {r.values["user"] for r in rows}
        by_login = lookups.by_key(User, "login", names, *USER_FIELDS)
        by_email = lookups.users_by_email(n for n in names if n not in by_login and "@" in n)
        if ctx.options["course"]:
            course = self._option_course(ctx)
            courses = {course["code"]: course} if course else {}
        else:
            courses = lookups.by_key(
                Course,
                "code",
                {r.values["course"] for r in rows},
                "id",
                "code",
                "certificate_template_id",
            )
        user_ids = [u["id"] for u in by_login.values()]
        user_ids += [u["id"] for us in by_email.values() for u in us]
        course_ids = [c["id"] for c in courses.values()]
        record_fields = ("status", "status_date", "enrolled_date", "legacy", "op")
        templates = {}
        if ctx.options["certificates"]:
            templates = lookups.by_key(
                CertificateTemplate,
                "id",
                {c["certificate_template_id"] for c in courses.values()},
                "version",
            )
        return {
            "by_login": by_login,
            "by_email": by_email,
            "courses": courses,
            "credit_types": _credit_types(r.values["credit_type"] for r in rows),
            "records": lookups.pairs(
                CourseRecord, "user_id", "course_id", user_ids, course_ids, *record_fields
            ),
            "assignments": lookups.pairs(
                CourseAssignment, "user_id", "course_id", user_ids, course_ids, "start_date", "op"
            ),
            "awards": _awards(user_ids, course_ids),
            "templates": templates,
        }

    def _values(self, r) -> None:
        """The rules between a row's own cells."""
        v = r.values
        if v["complete"]:
            if v["completion_date"] is None:
                r.reject("missing_value", column="completion_date")
            if v["credits"] is not None and v["credit_type"] is None:
                r.reject("missing_value", column="credit_type")
            if v["credit_type"] is not None and v["credits"] is None:
                r.reject("missing_value", column="credits")
        else:
            if v["completion_date"] is not None:
                r.reject("completion_on_incomplete")
            if v["credits"] is not None or v["credit_type"] is not None:
                r.reject("credits_on_incomplete")

    def _user(self, r, refs, ctx) -> dict | None:
        name = r.values["user"]
        user = refs["by_login"].get(name)
        found = [user] if user else refs["by_email"].get(name.lower(), []) if "@" in name else []
        return checks.learner(r, found, name, "user", ctx)

    def check_options(self, options):
        code = options["course"]
        if code and references.find_one("course", code) is None:
            raise FileError(
                "invalid_option", option="course", reason=f"no course has the code {code!r}"
            )

    def _course(self, r, refs, ctx) -> dict | None:
        given = r.values["course"]
        wanted = ctx.options["course"]
        if wanted:
            course = self._option_course(ctx)
            if course is None:
                r.reject("course_not_found", column="course", value=wanted)
            elif given is not None and given.lower() != course["code"].lower():
                r.reject("course_mismatch", value=given, course=course["code"])
            return course
        if given is None:
            r.reject("missing_value", column="course")
            return None
        course = refs["courses"].get(given)
        if course is None:
            r.reject("course_not_found", column="course", value=given)
        return course

    def _credit_type(self, r, refs) -> dict | None:
        name = r.values["credit_type"]
        if name is None:
            return None
        found = refs["credit_types"].get(name.lower(), [])
        exact = [c for c in found if c["name"] == name]
        if exact or len(found) == 1:
            return (exact or found)[0]
        r.reject("credit_type_not_found", value=name)
        return None

    def plan(self, rows, refs, ctx):
        legacy = not ctx.options["course"]
        certificates = ctx.options["certificates"]
        records, assignments, awards = refs["records"], refs["assignments"], refs["awards"]
        pairs: dict[tuple[int, int], tuple[dict, int]] = {}  # this batch's records, first row
        keys: dict[tuple, int] = {}  # (user, course, credit type) -> first row of this batch
        for r in rows:
            v = r.values
            self._values(r)
            user = self._user(r, refs, ctx)
            course = self._course(r, refs, ctx)
            ctype = self._credit_type(r, refs)
            if not r.ok:
                continue
            pair = (user["id"], course["id"])
            key = (*pair, ctype["id"] if ctype else None)
            if key in keys:
                r.reject("duplicate_row", key="/".join(self.key), first=keys[key])
                continue
            keys[key] = r.number
            complete = v["complete"]
            wanted = {
                "status": CourseStatus.COMPLETED if complete else CourseStatus.NOT_STARTED,
                "status_date": v["completion_date"] if complete else None,
                "enrolled_date": v["enrolled_date"],
                "legacy": legacy,
            }
            data: dict = {}
            # The record and the assignment: created by the first row of the user and course.
            first = pairs.get(pair)
            record = records.get(pair)
            if record is not None:
                column = _differs(record, wanted)
                if column and record["op"] == ctx.op.pk:  # written by an earlier batch
                    r.reject("record_mismatch", column=column, first=EARLIER)
                    continue
                if column:
                    r.reject("record_exists")
                    continue
            elif first is not None:
                column = _differs(first[0], wanted)
                if column:
                    r.reject("record_mismatch", column=column, first=first[1])
                    continue
            else:
                data["record"] = {
                    "user_id": pair[0],
                    "course_id": pair[1],
                    **wanted,
                    "completion_percent": 100 if complete else 0,
                    "source": Source.IMPORT,
                }
            assignment = assignments.get(pair)
            if assignment is None:
                if first is None:
                    enrolled = v["enrolled_date"]
                    data["assignment"] = {
                        "user_id": pair[0],
                        "course_id": pair[1],
                        "start_date": enrolled,
                        "source": Source.IMPORT,
                        "assigned_at": timezone.make_aware(datetime.combine(enrolled, time.min))
                        if enrolled
                        else timezone.now(),
                    }
            elif (
                assignment["op"] != ctx.op.pk
                # an assignment without a start date says nothing against the row's date
                and None not in (v["enrolled_date"], assignment["start_date"])
                and assignment["start_date"] != v["enrolled_date"]
            ):
                r.reject("record_exists")
                continue
            # The credit award of this row's credit type.
            if ctype is not None:
                award = awards.get(key)
                amount, day = v["credits"], timezone.localtime(v["completion_date"]).date()
                if award is not None and award["op"] == ctx.op.pk:
                    r.reject("duplicate_row", key="/".join(self.key), first=EARLIER)
                    continue
                if award is not None:
                    if (award["amount"], award["awarded_on"], award["legacy"]) != (
                        amount,
                        day,
                        legacy,
                    ):
                        r.reject("record_exists")
                        continue
                else:
                    data["award"] = {
                        "user_id": pair[0],
                        "course_id": pair[1],
                        "credit_type_id": ctype["id"],
                        "amount": amount,
                        "awarded_on": day,
                        "source": Source.IMPORT,
                        "legacy": legacy,
                    }
            template = course["certificate_template_id"]
            if certificates and complete and "record" in data and template:
                data["certificate"] = {
                    "user_id": pair[0],
                    "course_id": pair[1],
                    "template_id": template,
                    "template_version": refs["templates"][template]["version"],
                    "issued_at": v["completion_date"],
                    "source": Source.IMPORT,
                }
            if first is None:
                pairs[pair] = (wanted, r.number)
            r.data = data
            r.result = CREATED if data else UNCHANGED

    def apply(self, rows, refs, ctx):
        out: dict[str, tuple[list, list]] = {
            k: ([], []) for k in ("assignment", "record", "award", "certificate")
        }
        for r in rows:
            for what, values in r.data.items():
                out[what][0].append(values)
                out[what][1].append(r.number)
        (assign, assign_rows), (record, record_rows) = out["assignment"], out["record"]
        learning_assignments.assign("course", assign, [], ctx.op, assign_rows)
        # The verb writes the records and rolls the completed ones up to curricula and programmes.
        progress.write_course_records(record, record_rows, [], ctx.op)
        (award, award_rows), (certificate, certificate_rows) = out["award"], out["certificate"]
        writes.insert(CreditAward, award, ctx.op, award_rows)
        writes.insert(Certificate, certificate, ctx.op, certificate_rows)
