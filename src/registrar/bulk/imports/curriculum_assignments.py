"""curriculum-assignments (SPEC §4.9, seed 003): assign curricula to users, with dates and option,
optionally carried down to the course assignments of the curriculum's courses."""

from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Curriculum
from registrar.learning import assignments, progress
from registrar.learning.models import CourseAssignment, CurriculumAssignment, Source
from registrar.learning.models import Option as AssignmentOption

from .. import lookups, parsers
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind, Option
from . import _assignments as A

FIELDS = ("option", "start_date", "target_date", "end_date")  # also what is carried to courses


def _curricula(names) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """Curricula by code, and by external reference for the names that are no code (a list:
    external references are not unique)."""
    names = {n for n in names if n}
    by_code = lookups.by_key(Curriculum, "code", names, "id", "code")
    by_ref: dict[str, list[dict]] = {}
    for part in lookups.chunks(names - by_code.keys()):
        for c in Curriculum._base_manager.filter(extref__in=part).values("id", "code", "extref"):
            by_ref.setdefault(c["extref"], []).append(c)
    return by_code, by_ref


class CurriculumAssignments(ImportKind):
    name = "curriculum-assignments"
    title = _("Curriculum assignments")
    description = _(
        "Assigns curricula to users (source import), with start, target and end dates and the "
        "option (free, recommended, mandatory). The curriculum is named by its code, or failing "
        "that by its external reference (`curriculum_not_found`; a reference shared by several "
        "curricula: `ambiguous_content`). An existing assignment that the row would change is "
        "skipped (`already_assigned`) unless `update_existing=yes`, which changes the fields whose "
        "cells are not empty (an empty cell never erases); a row that says what is there already is "
        "`unchanged`. With `respect_audiences` (the default), a new assignment to a curriculum that "
        "has audiences needs the user in one of them (`audience_mismatch`). With "
        "`propagate_to_courses`, the curriculum assignment's option and three dates (as they are "
        "once the row is applied) are carried to the curriculum's courses: a course the user is not "
        "assigned to gets a course assignment with them, and an existing course assignment is set "
        "to them when `update_existing=yes` (left as it is otherwise); the courses' audiences are "
        "not checked, the curriculum's assignment stands for them."
    )
    columns = [
        A.user_column(),
        Column(
            "curriculum_extid",
            parsers.text(100),
            required=True,
            aliases=("curriculum_code", "curriculum", "curriculum_id"),
            help=_(
                "The curriculum's code (its unique identifier), or failing that its external "
                "reference (extref). Unpublished and disabled curricula can be assigned."
            ),
            example="CUR-SAFETY",
        ),
        *A.date_columns("curriculum"),
        A.option_column(),
    ]
    options = [
        *A.common_options(),
        Option(
            "propagate_to_courses",
            False,
            _(
                "Carry the curriculum assignment's option and dates to its courses: create their "
                "course assignments, or (with update_existing) set the existing ones to them"
            ),
        ),
    ]
    key = ("user_loginid", "curriculum_extid")
    template = [
        {
            "user_loginid": "amartin",
            "curriculum_extid": "CUR-SAFETY",
            "start_date": "2025-01-06",
            "end_date": "2025-12-31",
            "target_date": "2025-06-30",
            "assignment_option": "mandatory",
        },
        {
            "user_loginid": "bdurand",
            "curriculum_extid": "ACME-CUR-ETHICS",
            "start_date": "2025-02-03",
            "end_date": "",
            "target_date": "2025-09-30",
            "assignment_option": "recommandé",
        },
    ]

    def resolve(self, rows, ctx):
        users = A.users_by_login(rows)
        by_code, by_ref = _curricula(r.values["curriculum_extid"] for r in rows)
        pairs = set()
        for r in rows:  # only the pairs the rows name
            user = users.get(r.values["user_loginid"])
            name = r.values["curriculum_extid"]
            found = [by_code[name]] if name in by_code else by_ref.get(name, [])
            if user and len(found) == 1:
                pairs.add((user["id"], found[0]["id"]))
        assignments = lookups.exact_pairs(
            CurriculumAssignment, "user_id", "curriculum_id", pairs, *FIELDS, "op"
        )
        mismatches = set()
        if ctx.options["respect_audiences"]:
            mismatches = A.audience_mismatches(Curriculum, pairs - assignments.keys())
        courses, course_assignments = {}, {}
        if ctx.options["propagate_to_courses"]:
            courses = progress.courses_of_curricula({c for _, c in pairs})
            course_pairs = {(u, x) for u, c in pairs for x in courses.get(c, ())}
            course_assignments = lookups.exact_pairs(
                CourseAssignment, "user_id", "course_id", course_pairs, *FIELDS, "op"
            )
        return {
            "users": users,
            "by_code": by_code,
            "by_ref": by_ref,
            "assignments": assignments,
            "mismatches": mismatches,
            "courses": courses,
            "course_assignments": course_assignments,
        }

    def _curriculum(self, r, refs) -> dict | None:
        name = r.values["curriculum_extid"]
        if name in refs["by_code"]:
            return refs["by_code"][name]
        found = refs["by_ref"].get(name, [])
        if not found:
            r.reject("curriculum_not_found", value=name)
            return None
        if len(found) > 1:
            items = ", ".join(sorted(c["code"] for c in found))
            r.reject("ambiguous_content", value=name, count=len(found), items=items)
            return None
        return found[0]

    def plan(self, rows, refs, ctx):
        planned: dict[tuple[int, int], int] = {}
        # Course assignments as this batch leaves them: (user, course) -> pending write.
        pending = refs["pending"] = {}
        quiet = []  # rows that leave their curriculum assignment as it is
        propagate = ctx.options["propagate_to_courses"]
        for r in rows:
            v = r.values
            user = A.check_user(r, refs["users"], ctx)
            curriculum = self._curriculum(r, refs)
            A.check_dates(r, v)
            if not r.ok:
                continue
            pair = (user["id"], curriculum["id"])
            if pair in planned:
                r.reject("duplicate_row", key="/".join(self.key), first=planned[pair])
                continue
            planned[pair] = r.number
            existing = refs["assignments"].get(pair)
            wanted = A.given({**v, "option": v["assignment_option"]}, FIELDS)
            courses = refs["courses"].get(curriculum["id"], ()) if propagate else ()
            if existing is not None and existing["op"] == ctx.op.pk:
                r.reject("duplicate_row", key="/".join(self.key), first=A.EARLIER)
                continue
            # A row that says what the curriculum assignment says may still add (or, with
            # update_existing, change) course assignments: whatever update_existing says.
            if existing is not None and not A.differences(existing, wanted):
                current = {f: existing[f] for f in FIELDS}
                self._carry(r, user["id"], courses, current, refs, pending, ctx)
                r.result = UNCHANGED  # until the batch's net course changes are known
                quiet.append(r)
                continue
            changes = A.compare(r, existing, wanted, ctx, curriculum["code"], "/".join(self.key))
            if changes is None:
                continue
            if existing is None and pair in refs["mismatches"]:
                r.reject("audience_mismatch", value=curriculum["code"])
                continue
            if existing is None:
                r.data["create"] = {
                    "user_id": pair[0],
                    "curriculum_id": pair[1],
                    **changes,
                    "source": Source.IMPORT,
                    "assigned_at": A.now(ctx),
                }
                current = {"option": AssignmentOption.FREE, **dict.fromkeys(FIELDS[1:]), **changes}
                r.result = CREATED
            else:
                r.data["update"] = (existing["id"], changes, existing)
                current = {**{f: existing[f] for f in FIELDS}, **changes}
                r.result = UPDATED
            self._carry(r, user["id"], courses, current, refs, pending, ctx)
        # Net effect on the course assignments: a row changed something when it created one, or
        # was the last to set one that ends up different. Two curricula sharing a course then
        # leave a re-imported file `unchanged` instead of setting the course back and forth.
        changed = set()
        for p in pending.values():
            if p["pk"] is None:
                changed.add(p["creator"])
            else:
                p["changes"] = A.differences(p["before"], p["values"])
                if p["changes"]:
                    changed.add(p["writer"])
        for r in quiet:
            if r.number in changed:
                r.result = UPDATED

    def _carry(self, r, user_id, courses, values, refs, pending, ctx) -> None:
        """Carry the curriculum assignment's values to its courses' pending assignments."""
        for course_id in courses:
            key = (user_id, course_id)
            p = pending.get(key)
            if p is None:
                existing = refs["course_assignments"].get(key)
                pending[key] = {
                    "pk": existing["id"] if existing else None,
                    "before": existing,
                    "values": {f: existing[f] for f in FIELDS} if existing else dict(values),
                    "creator": r.number,
                    "writer": r.number,
                }
                if existing is None:
                    continue
                p = pending[key]
            if not ctx.options["update_existing"]:
                continue  # an assignment there already, or made by an earlier row: left
            diff = A.differences(p["values"], values)
            if diff:
                p["values"].update(diff)
                p["writer"] = r.number

    def apply(self, rows, refs, ctx):
        new, new_rows, changed = [], [], []
        for r in rows:
            if "create" in r.data:
                new.append(r.data["create"])
                new_rows.append(r.number)
            if "update" in r.data:
                pk, values, before = r.data["update"]
                changed.append((pk, values, before, r.number))
        assignments.assign("curriculum", new, changed, ctx.op, new_rows)
        pending = refs.get("pending", {})
        now = A.now(ctx)
        courses_new, courses_new_rows, courses_changed = [], [], []
        for (user_id, course_id), p in pending.items():
            if p["pk"] is None:
                courses_new.append(
                    {
                        "user_id": user_id,
                        "course_id": course_id,
                        **p["values"],
                        "source": Source.IMPORT,
                        "assigned_at": now,
                    }
                )
                courses_new_rows.append(p["creator"])
            elif p["changes"]:
                courses_changed.append((p["pk"], p["changes"], p["before"], p["writer"]))
        assignments.assign("course", courses_new, courses_changed, ctx.op, courses_new_rows)
