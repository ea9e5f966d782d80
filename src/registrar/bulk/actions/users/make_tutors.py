"""users.make-tutors (SPEC §5, seed 003 "Définir comme tuteur pour les cours sélectionnés"): the
selected users become tutors of the chosen courses for the members of a static list.

In data: an assignment's `tutors` is the list of the users who tutor that learner on that course.
Each (course C, list L) pair has one tutor list, "Tutors of C for L" in the Tutors folder: the
selected users are added to it, and the course-C assignments of L's members point at it."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registrar.core import lookups
from registrar.core.errors import FileError
from registrar.directory import lists
from registrar.directory.models import ListMember, UserList
from registrar.learning import assignments
from registrar.learning.models import CourseAssignment

from ... import params as P
from ...action import Action, Param
from ...kind import CREATED, UNCHANGED, UPDATED

TUTOR_FOLDER = "Tutors"


def tutor_list_name(course: dict, lst: dict) -> str:
    """The name of the tutor list of course `course` for list `lst`: readable, and by ids when
    the codes would not fit a list name. Not translated: the name is the list's identity."""
    name = f"Tutors of {course['code']} for {lst['name']}"
    if len(name) <= lists.MAX_NAME:
        return name
    return f"Tutors of course #{course['id']} for list #{lst['id']}"


def tutor_list_description(course: dict, lst: dict) -> str:
    return (
        f"The tutors of course {course['code']} for the members of list {lst['name']} "
        "(users.make-tutors)."
    )


class MakeTutors(Action):
    verb = "make-tutors"
    title = _("Make tutors")
    description = _(
        "Makes each selected user a tutor of the courses named by `courses` for the members of "
        "the static list `list`: one result per user and course. The tutors of course C for "
        "list L are a static list, 'Tutors of C for L' in the Tutors folder (created when "
        "needed): the user is added to it (`created`; `unchanged` when a tutor already), and the "
        "course assignments of L's members point at it as their tutor list. Members not "
        "assigned to a course are left as they are; run the action again after assigning them "
        "(the first row of each course then links them, `updated`). An assignment has one "
        "tutor list: a learner in two tutored lists keeps the tutors of the last action. "
        "Members outside the organisations the operation runs on are not touched. A dynamic "
        "list refuses the action (`not_tutor_list`)."
    )
    domain = "learning"
    per, per_type = "courses", "course"
    params = [
        Param("courses", P.courses(), required=True, help=_("The codes of the courses.")),
        Param(
            "list",
            P.names("list", many=False),
            required=True,
            help=_("The name of the static list whose members are tutored."),
        ),
    ]
    examples = [{"courses": ["ONB-101"], "list": "Newcomers"}]

    def check(self, values):
        lst = values.get("list")
        if lst is not None and lst["kind"] != UserList.Kind.STATIC:
            raise FileError("not_tutor_list", value=lst["name"], key="list")

    def resolve(self, rows, ctx):
        lst = ctx.options["list"]
        courses = {r.values["object"]["id"]: r.values["object"] for r in rows}
        names = {cid: tutor_list_name(c, lst) for cid, c in courses.items()}
        found = lookups.by_key(UserList, "name", set(names.values()), "id", "name", "kind")
        tutor_lists = {cid: found.get(n) for cid, n in names.items()}
        pairs = set()
        for r in rows:
            tl = tutor_lists[r.values["object"]["id"]]
            if tl is not None:
                pairs.add((tl["id"], r.values["user"]["id"]))
        members = lookups.exact_pairs(ListMember, "user_list_id", "user_id", pairs)
        done = ctx.state.get("linked", set())
        todo = [cid for cid in courses if cid not in done]
        return {
            "names": names,
            "lists": tutor_lists,
            "members": members,
            "links": self.unlinked(todo, tutor_lists, lst, ctx) if todo else {},
        }

    def unlinked(self, course_ids, tutor_lists, lst, ctx) -> dict[int, list[dict]]:
        """The course assignments of the list's members (inside the scope) that do not point at
        their course's tutor list yet, by course: one query."""
        q = Q()
        for cid in course_ids:
            tl = tutor_lists[cid]
            q |= (Q(course_id=cid) & ~Q(tutors_id=tl["id"])) if tl else Q(course_id=cid)
        members = ListMember.objects.filter(user_list_id=lst["id"]).values("user_id")
        qs = CourseAssignment.objects.filter(q, user_id__in=members).order_by("id")
        out: dict[int, list[dict]] = {}
        for a in qs.values("id", "course_id", "tutors_id", "op", "user__organisation_id"):
            if ctx.in_scope(a.pop("user__organisation_id")):
                out.setdefault(a["course_id"], []).append(a)
        return out

    def plan(self, rows, refs, ctx):
        done = ctx.state.get("linked", set())
        # The courses whose members' assignments a row of this batch links (kept only if the
        # batch is): the first planned row of each course in the run carries them.
        linking = ctx.pending.setdefault("linked", set())
        for r in rows:
            cid, uid = r.values["object"]["id"], r.values["user"]["id"]
            tl = refs["lists"][cid]
            if tl is not None and tl["kind"] != UserList.Kind.STATIC:
                r.reject("not_tutor_list", value=tl["name"])
                continue
            if tl is None or (tl["id"], uid) not in refs["members"]:
                r.data["member"] = True
                r.result = CREATED
            if cid not in done and cid not in linking:
                linking.add(cid)
                if refs["links"].get(cid):
                    r.data["links"] = refs["links"][cid]
                    r.result = r.result or UPDATED
            r.result = r.result or UNCHANGED

    def apply(self, rows, refs, ctx):
        lst = ctx.options["list"]
        ids = {cid: tl["id"] for cid, tl in refs["lists"].items() if tl is not None}
        todo = {
            r.values["object"]["id"]: r.values["object"]
            for r in rows
            if r.values["object"]["id"] not in ids
        }
        if todo:
            names = {cid: refs["names"][cid] for cid in todo}
            made = lists.find_or_create_lists(
                ctx.op,
                names.values(),
                {names[cid]: tutor_list_description(c, lst) for cid, c in todo.items()},
                folder=TUTOR_FOLDER,
            )
            ids.update((cid, made[n]["id"]) for cid, n in names.items())
        lists.add_memberships(
            ctx.op,
            [
                (ids[r.values["object"]["id"]], r.values["user"]["id"])
                for r in rows
                if "member" in r.data
            ],
            ctx.op.started_at,
            planned=True,
        )
        changed = [
            (a["id"], {"tutors_id": ids[a["course_id"]]}, a, r.number)
            for r in rows
            for a in r.data.get("links", ())
        ]
        assignments.assign("course", [], changed, ctx.op)
