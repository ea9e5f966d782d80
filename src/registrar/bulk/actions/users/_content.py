"""What the user actions on course and curriculum assignments share: their parameters, and one
plan for assign (new assignments only) and modify (existing ones only)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import Course, Curriculum
from registrar.core import lookups
from registrar.learning import assignments, progress
from registrar.learning.models import BillingMode, Source
from registrar.learning.models import Option as AssignmentOption

from ... import params as P
from ...action import Action, Param
from ...imports import _assignments as A
from ...kind import CREATED, UNCHANGED, UPDATED

OPTION = P.choice(
    {
        "free": AssignmentOption.FREE,
        "recommended": AssignmentOption.RECOMMENDED,
        "mandatory": AssignmentOption.MANDATORY,
    }
)
BILLING = P.choice(
    {
        "by_course": BillingMode.BY_COURSE,
        "by_hour": BillingMode.BY_HOUR,
        "not_billed": BillingMode.NOT_BILLED,
        "prepaid": BillingMode.PREPAID,
    }
)
DATES = ("start_date", "target_date", "end_date")
CONTENT = {"course": Course, "curriculum": Curriculum}


def content_params(what: str, modify: bool) -> list[Param]:
    """The keys of users.assign-courses / assign-curricula (and their modify- twins, where a date
    may be null: cleared)."""
    plural = "courses" if what == "course" else "curricula"
    out = [
        Param(
            plural,
            P.Ref(type_=what),
            required=True,
            help=_("The courses' codes.") if what == "course" else _("The curricula's codes."),
        ),
        Param("option", OPTION, help=_("free, recommended or mandatory.")),
        *(Param(d, P.Date(), nullable=modify, help=_("A date (YYYY-MM-DD).")) for d in DATES),
    ]
    if what == "course":
        out += [
            Param("billing_mode", BILLING, help=_("by_course, by_hour, not_billed or prepaid.")),
            Param(
                "billing_code", P.Text(max_length=100), help=_("Free text, e.g. a purchase order.")
            ),
            Param("unit_cost", P.Number(maximum=99_999_999), help=_("An amount, e.g. 350.00.")),
        ]
    if not modify:
        out.append(
            Param(
                "ignore_audiences",
                P.Boolean(),
                help=_("Assign users outside the content's audiences (audience_mismatch else)."),
            )
        )
    if what == "curriculum":
        out.append(
            Param(
                "propagate_to_courses",
                P.Boolean(),
                help=_("Carry the option and dates to the curriculum's courses."),
            )
        )
    return out


class ContentAssignment(Action):
    """users.assign-courses and friends: one result per user and course (or curriculum)."""

    what = "course"
    modify = False
    learners = True
    mail_fields = ("user", "assignment")  # and the row's course or curriculum

    def fields(self) -> tuple[str, ...]:
        return assignments.FIELDS if self.what == "course" else assignments.FIELDS[:4]

    def wanted(self, values: dict) -> dict:
        return {f: values[f] for f in self.fields() if f in values}

    def check(self, values):
        dates = {d: values.get(d) for d in DATES if values.get(d) is not None}
        ordered = [dates[d] for d in DATES if d in dates]
        if ordered != sorted(ordered):
            from registrar.core.errors import FileError

            raise FileError(
                "invalid_combination",
                first="start_date",
                second="end_date",
                detail=": dates must follow start_date ≤ target_date ≤ end_date",
            )

    def user_of(self, r) -> dict:
        """The row's user (a course action on selected users overrides the two)."""
        return r.values["user"]

    def content_of(self, r) -> dict:
        """The row's course or curriculum."""
        return r.values["object"]

    def resolve(self, rows, ctx):
        pairs = {(self.user_of(r)["id"], self.content_of(r)["id"]) for r in rows}
        model = assignments.MODELS[self.what]
        existing = lookups.exact_pairs(
            model, "user_id", f"{self.what}_id", pairs, *self.fields(), "op"
        )
        mismatches = set()
        if not self.modify and not ctx.options.get("ignore_audiences"):
            mismatches = A.audience_mismatches(CONTENT[self.what], pairs - existing.keys())
        return {"existing": existing, "mismatches": mismatches}

    def plan(self, rows, refs, ctx):
        wanted = self.wanted(ctx.options)
        now = ctx.state.setdefault("assigned_at", timezone.now())
        for r in rows:
            if r.result is not None:  # rejected before (a course action's users)
                continue
            obj = self.content_of(r)
            pair = (self.user_of(r)["id"], obj["id"])
            existing = refs["existing"].get(pair)
            if not self.modify:
                if existing is not None:
                    r.skip("already_assigned", value=obj["code"])
                elif pair in refs["mismatches"]:
                    r.reject("audience_mismatch", value=obj["code"])
                else:
                    r.data["create"] = {
                        "user_id": pair[0],
                        f"{self.what}_id": pair[1],
                        **wanted,
                        "source": Source.ACTION,
                        "assigned_at": now,
                    }
                    r.result = CREATED
                continue
            if existing is None:
                r.reject("not_assigned", value=obj["code"])
                continue
            diff = A.differences(existing, wanted)
            if len(diff) == len(wanted):
                diff = wanted  # one shared dict: the journal writes rows updated alike as one set
            if not diff:
                r.result = UNCHANGED
                continue
            if not A.check_dates(r, {**existing, **diff}, existing=True):
                continue
            r.data["update"] = (existing["id"], diff, existing, r.number)
            r.result = UPDATED

    def mail_item(self, r) -> dict:
        item = super().mail_item(r)
        if "create" in r.data:
            item["assignment"] = r.data["create"]
        elif "update" in r.data:
            _pk, diff, before, _row = r.data["update"]
            item["assignment"] = {**before, **diff}
        return item

    def apply(self, rows, refs, ctx):
        new = [r.data["create"] for r in rows if "create" in r.data]
        rows_new = [r.number for r in rows if "create" in r.data]
        changed = [r.data["update"] for r in rows if "update" in r.data]
        assignments.assign(self.what, new, changed, ctx.op, rows_new)
        if self.what == "curriculum" and ctx.options.get("propagate_to_courses"):
            self._propagate(rows, ctx)

    def _propagate(self, rows, ctx) -> None:
        """The curriculum's option and dates carried to its courses: new course assignments
        where there are none, existing ones set to them (SPEC §5 propagate_to_courses)."""
        carried = {f: ctx.options[f] for f in ("option", *DATES) if f in ctx.options}
        by_curriculum = progress.courses_of_curricula({self.content_of(r)["id"] for r in rows})
        targets = {
            (self.user_of(r)["id"], c): r.number
            for r in rows
            for c in by_curriculum.get(self.content_of(r)["id"], ())
        }
        existing = lookups.exact_pairs(
            assignments.MODELS["course"],
            "user_id",
            "course_id",
            set(targets),
            *DATES,
            "option",
            "op",
        )
        now = ctx.state["assigned_at"]
        new, rows_new, changed = [], [], []
        for (u, c), number in targets.items():
            ex = existing.get((u, c))
            if ex is None:
                new.append(
                    {
                        "user_id": u,
                        "course_id": c,
                        **carried,
                        "source": Source.ACTION,
                        "assigned_at": now,
                    }
                )
                rows_new.append(number)
            elif ex["op"] != ctx.op.pk:
                diff = A.differences(ex, carried)
                if diff:
                    changed.append((ex["id"], diff, ex, number))
        assignments.assign("course", new, changed, ctx.op, rows_new)
