"""courses.modify-settings (SPEC §5, seed 003 "Modifier les réglages et les options des cours"):
set any course setting of SPEC §1 on the selected courses; sequential lessons and lesson
prerequisites stay mutually exclusive (exactly one is on)."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from registrar.catalogue.models import CertificateTemplate, Course, CourseCredit, CreditType
from registrar.core import lookups
from registrar.core.errors import FileError
from registrar.journal import writes

from ... import params as P
from ...action import Param
from ...kind import REJECTED, UPDATED
from ._content import ContentValues, item

YES_NO = P.Boolean()
PIXELS = P.Number(integer=True, minimum=100, maximum=10_000)
SWITCHES = {
    "self_enrolment": _("Learners may enrol themselves."),
    "self_unenrolment": _("Learners may unenrol themselves."),
    "learners_may_clear": _("Learners may clear their statistics."),
    "learners_may_recompute": _("Learners may recompute their status."),
    "sequential_lessons": _("Lessons in order (exclusive with lesson_prerequisites)."),
    "lesson_prerequisites": _("Prerequisites on lessons (exclusive with sequential_lessons)."),
    "full_screen": _("Open the course full screen."),
}
CHOICES = {
    "course_type": (Course.CourseType, _("aicc_scorm, aicc, scorm or classroom.")),
    "launch_protocol": (Course.Protocol, _("hacp or scorm_api.")),
    "cmi_review": (Course.CmiMode, _("CMI review mode: allowed, not_allowed or suspend.")),
    "cmi_browse": (Course.CmiMode, _("CMI browse mode: allowed, not_allowed or suspend.")),
}
EXCLUSIVE = ("sequential_lessons", "lesson_prerequisites")


@dataclass(frozen=True, kw_only=True)
class Template(P.Type):
    """A certificate template, by its exact name."""

    def parse(self, value):
        name = P.Text(max_length=150, blank=False).parse(value)
        found = CertificateTemplate.objects.filter(name=name).values("id", "name").first()
        if found is None:
            raise ValueError(f"no certificate template is called {name!r}")
        return found


AMOUNT = P.Number(minimum=Decimal(0), maximum=Decimal("999999.99"))


@dataclass(frozen=True, kw_only=True)
class Credits(P.Type):
    """Credits offered per credit type: {"TYPE": amount or null} (null: no longer offered), or
    a form's text "TYPE:AMOUNT" separated by || or lines. The value: credit type id -> amount."""

    def parse(self, value):
        if isinstance(value, str):
            pairs = {}
            for part in (p for line in value.splitlines() for p in line.split("||")):
                if part.strip():
                    name, sep, amount = part.rpartition(":")
                    if not sep:
                        raise ValueError(f"{part.strip()!r} is not TYPE:AMOUNT")
                    pairs[name.strip()] = None if amount.strip().lower() == "null" else amount
            value = pairs
        if not isinstance(value, dict) or not value:
            raise ValueError('expects {"CREDIT TYPE": amount or null, ...}')
        types = lookups.by_key(CreditType, "name", set(value), "id")
        missing = [n for n in value if n not in types]
        if missing:
            raise ValueError(f"no credit type is called {', '.join(map(repr, missing[:10]))}")
        return {types[n]["id"]: None if a is None else AMOUNT.parse(a) for n, a in value.items()}


def _choice(choices) -> P.Choice:
    return P.choice({v: v for v in choices.values})


class ModifySettings(ContentValues):
    target = "courses"
    verb = "modify-settings"
    title = _("Modify settings and options")
    description = _(
        "Sets the given settings of each selected course (a key left out is not changed): "
        "enrolment and statistics switches, `sequential_lessons` and `lesson_prerequisites`, "
        "`course_type`, `launch_protocol`, the CMI modes, the window's `window_width`, "
        "`window_height` (pixels; null: the player's default) and `full_screen`, the "
        "`certificate_template` (its name; null: none), the `credits` offered per credit type "
        "(null: no longer offered). Sequential lessons and lesson "
        "prerequisites are mutually exclusive, exactly one on: giving both the same value is "
        "refused, and so is a course whose other setting would end the same "
        "(`invalid_combination`)."
    )
    params = [
        *(Param(k, YES_NO, help=h) for k, h in SWITCHES.items()),
        *(Param(k, _choice(c), help=h) for k, (c, h) in CHOICES.items()),
        Param("window_width", PIXELS, nullable=True, help=_("Pixels; null clears it.")),
        Param("window_height", PIXELS, nullable=True, help=_("Pixels; null clears it.")),
        Param(
            "certificate_template",
            Template(),
            nullable=True,
            help=_("The certificate template's name; null: no certificate."),
        ),
        Param(
            "credits",
            Credits(),
            help=_('Credits offered per credit type: {"CPD": 1.5}; null: no longer offered.'),
        ),
    ]
    item_fields = (
        *SWITCHES,
        *CHOICES,
        "window_width",
        "window_height",
        "certificate_template_id",
        "op",
    )
    examples = [{"self_enrolment": True, "sequential_lessons": False, "lesson_prerequisites": True}]
    example_selection = {"ids": ["ETH-101", "DATA-101"]}

    def check(self, values):
        super().check(values)
        a, b = (values.get(k) for k in EXCLUSIVE)
        if a is not None and a == b:
            raise FileError(
                "invalid_combination",
                first=EXCLUSIVE[0],
                second=EXCLUSIVE[1],
                detail=_g(": exactly one of them is on"),
            )

    def wanted(self, values):
        out = {k: v for k, v in values.items() if k not in ("certificate_template", "credits")}
        if "certificate_template" in values:
            tpl = values["certificate_template"]
            out["certificate_template_id"] = tpl["id"] if tpl else None
        return out

    def check_row(self, r, before, after):
        if after[EXCLUSIVE[0]] == after[EXCLUSIVE[1]]:
            if after[EXCLUSIVE[0]]:
                detail = _g(": both would be on for course %(code)s (exactly one is on)")
            else:
                detail = _g(": both would be off for course %(code)s (exactly one is on)")
            r.reject(
                "invalid_combination",
                first=EXCLUSIVE[0],
                second=EXCLUSIVE[1],
                detail=detail % {"code": before["code"]},
            )
            return False
        return True

    def resolve(self, rows, ctx):
        credits = ctx.options.get("credits")
        if not credits:
            return {"credits": {}}
        have = {}
        for part in lookups.chunks([item(r)["id"] for r in rows]):
            qs = CourseCredit.objects.filter(course_id__in=part, credit_type_id__in=list(credits))
            for c in qs.values("id", "course_id", "credit_type_id", "amount", "op"):
                have[(c["course_id"], c["credit_type_id"])] = c
        return {"credits": have}

    def plan(self, rows, refs, ctx):
        super().plan(rows, refs, ctx)
        for r in rows:
            if r.result != REJECTED and ctx.options.get("credits"):
                self._plan_credits(r, ctx.options["credits"], refs["credits"])

    @staticmethod
    def _plan_credits(r, credits: dict, have: dict) -> None:
        """The course's credit offers made as asked: added, changed, or gone (null)."""
        cid = item(r)["id"]
        add, change, drop = [], [], []
        for type_id, amount in credits.items():
            ex = have.get((cid, type_id))
            if amount is None:
                if ex:
                    drop.append((ex["id"], ex, r.number))
            elif ex is None:
                add.append({"course_id": cid, "credit_type_id": type_id, "amount": amount})
            elif Decimal(str(ex["amount"])) != amount:
                change.append((ex["id"], {"amount": amount}, ex, r.number))
        if add or change or drop:
            r.data["credits"] = (add, change, drop)
            r.result = UPDATED

    def apply(self, rows, refs, ctx):
        super().apply([r for r in rows if "update" in r.data], refs, ctx)
        staged = [r.data["credits"] for r in rows if "credits" in r.data]
        writes.insert(CourseCredit, [x for add, _, _ in staged for x in add], ctx.op)
        writes.update(CourseCredit, [x for _, change, _ in staged for x in change], ctx.op)
        writes.delete(CourseCredit, [x for _, _, drop in staged for x in drop], ctx.op)
