"""courses.add-access-property and curricula.add-access-property (SPEC §5, seed 003 "Ajouter une
propriété d'accès"): a list access property per selected item and list, kept as data
(learning.models.AccessProperty) so that the rule keeps working: a user who enters the list
later is assigned then (learning.list_access)."""

from django.utils.translation import gettext_lazy as _

from registrar.core import lookups
from registrar.core.errors import FileError
from registrar.journal import writes
from registrar.learning import list_access
from registrar.learning.models import AccessEntry, AccessProperty
from registrar.learning.models import Option as AssignmentOption

from ... import params as P
from ...action import Action, Param, exclusive
from ...kind import CREATED, UNCHANGED, UPDATED
from ..users._content import OPTION
from ._content import KIND, item

DATES = list_access.DATES
DELAYS = list_access.DELAYS
MEMBER_KEYS = ("option", *DATES, *DELAYS.values(), "apply_to_courses")
DEFAULTS = {
    "restrict": True,
    "assign_members": False,
    "option": AssignmentOption.FREE,
    **dict.fromkeys(DATES),
    **dict.fromkeys(DELAYS.values()),
    "effective_now": True,
    "apply_to_courses": False,
}
STORED = tuple(DEFAULTS)
DAYS = P.Number(integer=True, minimum=0, maximum=3650)


def access_params(target: str) -> list[Param]:
    out = [
        Param(
            "lists",
            P.names("list"),
            required=True,
            help=_("The names of the lists (static or dynamic) whose members get access."),
        ),
        Param(
            "restrict_visibility",
            P.Boolean(),
            help=_("true (default): only the lists' members see it; false: they see it too."),
        ),
        Param(
            "assign_members",
            P.Boolean(),
            help=_("Assign the lists' members, and each user who enters a list later (false)."),
        ),
        Param("option", OPTION, help=_("free, recommended or mandatory.")),
        *(Param(d, P.Date(), help=_("A fixed date (YYYY-MM-DD).")) for d in DATES),
        *(
            Param(k, DAYS, help=_("Days after the day each member entered the list."))
            for k in DELAYS.values()
        ),
        Param(
            "effective_now",
            P.Boolean(),
            help=_(
                "true (default): the lists' current members are assigned now; false: only "
                "those who enter the lists from now on."
            ),
        ),
    ]
    if target == "curricula":
        out.append(
            Param(
                "apply_to_courses",
                P.Boolean(),
                help=_("Carry the option and dates to the curriculum's courses."),
            )
        )
    return out


def _ordered(values: dict, keys) -> bool:
    given = [values[k] for k in keys if values.get(k) is not None]
    return given == sorted(given)


class ContentAccess(Action):
    """One result per selected item and list: the property created, updated or unchanged, with
    members_assigned when members were assigned."""

    domain = "learning"
    per, per_type = "lists", "list"

    def check(self, values):
        for d, delay in DELAYS.items():
            exclusive(values, d, delay, detail=": a date is fixed or a delay, not both")
        if not values.get("assign_members"):
            for k in MEMBER_KEYS:
                if values.get(k) not in (None, False):
                    raise FileError(
                        "invalid_combination",
                        first=k,
                        second="assign_members",
                        detail=": the option and dates are for assigning the members",
                    )
        for keys in (DATES, tuple(DELAYS.values())):
            if not _ordered(values, keys):
                raise FileError(
                    "invalid_combination",
                    first=keys[0],
                    second=keys[2],
                    detail=": they must follow start ≤ target ≤ end",
                )

    def given(self, values: dict) -> dict:
        """The stored fields the parameters set (a fixed date clears its delay and back)."""
        out = {k: values[k] for k in STORED if k in values}
        if "restrict_visibility" in values:
            out["restrict"] = values["restrict_visibility"]
        for d, delay in DELAYS.items():
            if values.get(d) is not None:
                out[delay] = None
            if values.get(delay) is not None:
                out[d] = None
        return out

    def resolve(self, rows, ctx):
        own = f"{KIND[self.target]}_id"
        pairs = {(item(r)["id"], r.values["object"]["id"]) for r in rows}
        fields = list_access.FIELDS
        return {"have": lookups.exact_pairs(AccessProperty, own, "user_list_id", pairs, *fields)}

    def plan(self, rows, refs, ctx):
        own = f"{KIND[self.target]}_id"
        given = self.given(ctx.options)
        props = {}
        for r in rows:
            lst = r.values["object"]
            existing = refs["have"].get((item(r)["id"], lst["id"]))
            values = {**(existing or DEFAULTS), **given}
            prop = {
                **values,
                "id": existing["id"] if existing else None,
                "course_id": None,
                "curriculum_id": None,
                own: item(r)["id"],
                "user_list_id": lst["id"],
                "row": r.number,
            }
            props[r.number] = prop
            if existing is None:
                r.data["create"] = {k: prop[k] for k in (*STORED, own, "user_list_id")}
                r.result = CREATED
                continue
            diff = {k: v for k, v in given.items() if existing.get(k) != v}
            if diff:
                r.data["update"] = (existing["id"], diff, existing, r.number)
                r.result = UPDATED
            else:
                r.result = UNCHANGED
        self._plan_members(rows, props, ctx)

    def _plan_members(self, rows, props: dict, ctx) -> None:
        """The lists' current members: a dynamic list's are recorded as seen (they are in the
        list now); with assign_members and effective_now they are assigned (an assignment a
        list rule made gets the new values), each row told how many (members_assigned)."""
        live = [r for r in rows if props[r.number]["assign_members"]]
        if not live:
            return
        by_list = {props[r.number]["user_list_id"]: props[r.number]["id"] for r in live}
        members = list_access.members_of_lists(by_list, by_list)
        dynamic = list_access.is_dynamic(by_list)
        entrants = []
        for r in live:
            prop = props[r.number]
            here = members.get(prop["user_list_id"], {})
            if prop["user_list_id"] in dynamic and r.result != UNCHANGED:
                r.data["seen"] = here
            if prop["effective_now"]:
                entrants += [(prop, u, at) for u, at in here.items()]
        # A scoped administrator assigns the members inside their scope (SPEC §2.9).
        planned = list_access.plan_entrants(entrants, refresh=True, scope_ids=ctx.scope_ids)
        by_row: dict[int, list] = {}
        for x in planned:
            by_row.setdefault(x[3]["row"], []).append(x)
        for r in live:
            mine = by_row.get(r.number, [])
            if not mine:
                continue
            r.data["assign"] = mine
            if r.result == UNCHANGED:
                r.result = UPDATED
            r.warn("members_assigned", value=r.cells[-1] if r.cells else "", count=len(mine))

    def apply(self, rows, refs, ctx):
        new = [r for r in rows if "create" in r.data]
        ids = writes.insert(AccessProperty, [r.data["create"] for r in new], ctx.op)
        pk = {r.number: i for r, i in zip(new, ids, strict=True)}
        writes.update(
            AccessProperty, [r.data["update"] for r in rows if "update" in r.data], ctx.op
        )
        for r in rows:
            if "update" in r.data:
                pk[r.number] = r.data["update"][0]
        entries = [
            {"access_property_id": pk[r.number], "user_id": u, "entered_at": at}
            for r in rows
            for u, at in r.data.get("seen", {}).items()
        ]
        if entries:
            seen = lookups.exact_pairs(
                AccessEntry,
                "access_property_id",
                "user_id",
                {(e["access_property_id"], e["user_id"]) for e in entries},
            )
            entries = [e for e in entries if (e["access_property_id"], e["user_id"]) not in seen]
            writes.insert(AccessEntry, entries, ctx.op)
        list_access.write_planned(ctx.op, [x for r in rows for x in r.data.get("assign", ())])
