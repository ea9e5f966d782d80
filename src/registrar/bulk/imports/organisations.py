"""organisations (SPEC §4.5, seed 003): the organisation tree, matched on extid."""

from django.utils.translation import gettext_lazy as _

from registrar.directory.models import Organisation, User
from registrar.journal import writes

from .. import lookups, parsers
from ..diff import differences, incoming, keeps
from ..kind import CREATED, UNCHANGED, UPDATED, Column, ImportKind, Option

INFO = {  # column -> model field, the "additional information" of the seed
    "org_disabled": "disabled",
    "org_description": "description",
    "org_language": "language",
    "org_address1": "address1",
    "org_address2": "address2",
    "org_zipcode": "zipcode",
    "org_city": "city",
    "org_country": "country",
    "org_code": "code",
    "org_budget": "budget",
}
EMPTY = {"disabled": False, "budget": None}


class Organisations(ImportKind):
    name = "organisations"
    domain = "directory"
    title = _("Organisations")
    description = _(
        "Creates and updates the organisation tree, matched on org_extid. Parents may come later in the file than their children."
    )
    columns = [
        Column(
            "org_label",
            parsers.text(255),
            required=True,
            aliases=("label", "organisation", "org_name"),
            help=_("The organisation's name."),
            example="Acme Europe",
        ),
        Column(
            "org_extid",
            parsers.text(100),
            required=True,
            aliases=("extid", "org_id"),
            help=_("Unique external id: the match key."),
            example="ACME-EU",
        ),
        Column(
            "parent_extid",
            parsers.text(100),
            aliases=("org_parent_extid", "parent"),
            help=_(
                "External id of the parent, in the platform or anywhere in the file; empty for a top-level organisation."
            ),
            example="ACME",
        ),
        Column("org_disabled", parsers.flag, help=_("1 disabled; 0 or empty active."), example="0"),
        Column(
            "org_description",
            parsers.text(5000),
            help=_("Free text."),
            example="European subsidiary",
        ),
        Column(
            "org_language", parsers.culture, help=_("Language tag, e.g. fr-FR."), example="en-GB"
        ),
        Column(
            "org_address1", parsers.text(255), help=_("Address line 1."), example="1 Main Street"
        ),
        Column("org_address2", parsers.text(255), help=_("Address line 2."), example=""),
        Column(
            "org_zipcode",
            parsers.text(20),
            aliases=("org_zip",),
            help=_("Postcode."),
            example="75001",
        ),
        Column("org_city", parsers.text(100), help=_("City."), example="Paris"),
        Column("org_country", parsers.text(100), help=_("Country."), example="France"),
        Column("org_code", parsers.text(100), help=_("An internal code."), example="EU01"),
        Column(
            "org_budget",
            parsers.money(14),
            help=_("A number with at most 2 decimals (decimal point or comma)."),
            example="12000.50",
        ),
        Column(
            "org_supervisor_extid",
            parsers.text(100),
            aliases=("supervisor_extid",),
            help=_(
                "External id of the supervising user (warning supervisor_not_found when unknown)."
            ),
            example="",
        ),
    ]
    options = [
        Option("update_names", False, _("Rename existing organisations to the file's org_label.")),
        Option(
            "update_hierarchy",
            False,
            _("Move existing organisations under the file's parent_extid."),
        ),
        Option("update_info_if_present", False, _("An empty cell never erases an existing value.")),
    ]
    key = ("org_extid",)
    whole_file = True
    template = [
        {
            "org_label": "Acme Group",
            "org_extid": "ACME",
            "org_city": "Paris",
            "org_country": "France",
            "org_code": "GRP",
        },
        {
            "org_label": "Acme Europe",
            "org_extid": "ACME-EU",
            "parent_extid": "ACME",
            "org_language": "fr-FR",
            "org_city": "Lyon",
            "org_country": "France",
            "org_budget": "12000.50",
        },
        {
            "org_label": "Acme Logistics",
            "org_extid": "ACME-LOG",
            "parent_extid": "ACME-EU",
            "org_disabled": "0",
            "org_description": "Warehouses and transport",
        },
    ]

    def resolve(self, rows, ctx):
        extids = {r.values["org_extid"] for r in rows} | {r.values["parent_extid"] for r in rows}
        fields = ["label", "parent_id", *INFO.values(), "supervisor_id", "op"]
        existing = {}
        for part in lookups.chunks(extids):
            for o in Organisation.objects.filter(extid__in=part).values("id", "extid", *fields):
                existing[o["extid"]] = o
        tree = {
            pk: (parent, extid)
            for pk, parent, extid in Organisation.objects.values_list("id", "parent_id", "extid")
        }
        supervisors = lookups.by_key(
            User, "extid", {r.values["org_supervisor_extid"] for r in rows}, "id"
        )
        return {"existing": existing, "tree": tree, "supervisors": supervisors}

    def plan(self, rows, refs, ctx):
        o = ctx.options
        existing, supervisors = refs["existing"], refs["supervisors"]
        in_file = {r.values["org_extid"]: r for r in rows}
        tree = refs["tree"]  # the whole organisation tree: id -> (parent id, extid)
        ids_by_extid = {extid: pk for pk, (_, extid) in tree.items()}

        def platform_parent(extid: str) -> str | None:
            oid = ids_by_extid.get(extid)
            pid = None if oid is None else tree[oid][0]
            return None if pid is None else tree[pid][1]

        # The parent (an extid, None for the top level) each row gives its organisation: new
        # organisations always; existing ones only when they move (update_hierarchy).
        wanted: dict[str, str | None] = {}
        moves = o["update_hierarchy"] and "parent_extid" in ctx.present
        for r in rows:
            extid, parent = r.values["org_extid"], r.values["parent_extid"]
            if extid not in ids_by_extid or (
                moves
                and not (parent is None and o["update_info_if_present"])
                and parent != platform_parent(extid)
            ):
                wanted[extid] = parent

        def parent_of(extid: str) -> str | None:
            return wanted[extid] if extid in wanted else platform_parent(extid)

        def hierarchy_issue(extid: str) -> str | None:
            parent = wanted[extid]
            prow = in_file.get(parent)
            if parent not in ids_by_extid and (prow is None or not prow.ok):
                return "parent_not_found"
            seen, cur = set(), parent
            while cur is not None and cur not in seen:
                if cur == extid:
                    return "hierarchy_cycle"
                seen.add(cur)
                cur = parent_of(cur)
            return None  # a cycle higher up is rejected on its own rows, then this one settles

        # A rejected row can orphan, un-cycle or (by staying where it is) cycle others: each pass
        # judges every row against the same state, so the outcome does not depend on row order.
        while True:
            rejects = []
            for r in rows:
                extid = r.values["org_extid"]
                if r.ok and wanted.get(extid) is not None:
                    issue = hierarchy_issue(extid)
                    if issue:
                        rejects.append((r, issue, {"value": wanted[extid], "key": extid}))
            if not rejects and ctx.scope_ids is not None:
                rejects = [
                    (r, "out_of_scope", {"what": f"Organisation {r.values['org_extid']}"})
                    for r in self._outside_scope(rows, ctx.scope_ids, ids_by_extid, wanted)
                ]
            if not rejects:
                break
            for r, code, params in rejects:
                r.reject(code, **params)
                if r.values["org_extid"] in ids_by_extid:
                    wanted.pop(r.values["org_extid"], None)  # a refused move stays where it is
        for r in rows:
            if r.ok:
                self._plan_row(r, existing.get(r.values["org_extid"]), supervisors, wanted, ctx)

    def _outside_scope(self, rows, scope, ids_by_extid, wanted) -> list:
        """Rows whose organisation is, or would be after the import, outside the scope's subtree."""
        memo: dict[str, bool] = {}

        def inside(extid: str) -> bool:
            if extid in memo:
                return memo[extid]
            memo[extid] = False  # guards against cycles
            oid = ids_by_extid.get(extid)
            if oid is not None and oid not in scope:
                res = False  # an organisation outside the scope is never changed
            elif extid not in wanted:
                res = oid is not None  # stays where it is, inside
            elif wanted[extid] is None:
                res = False  # the top level is outside every subtree
            else:
                res = inside(wanted[extid])
            memo[extid] = res
            return res

        return [r for r in rows if r.ok and not inside(r.values["org_extid"])]

    def _plan_row(self, r, old, supervisors, wanted, ctx):
        v, o, present = r.values, ctx.options, ctx.present
        extid = v["org_extid"]
        keep_empty = old is not None and o["update_info_if_present"]
        new = {"label": v["org_label"]}
        sup = v["org_supervisor_extid"]
        if sup is not None:
            if sup in supervisors:
                new["supervisor_id"] = supervisors[sup]["id"]
            else:
                r.warn("supervisor_not_found", value=sup)
        elif not keeps("org_supervisor_extid", v, present, keep_empty):
            new["supervisor_id"] = None
        new.update(incoming(v, INFO, present, keep_empty, EMPTY))
        r.data = {"new": new, "parent": wanted.get(extid)}
        if old is None:
            r.result = CREATED
            return
        if not o["update_names"]:
            new.pop("label")
        changes = differences(old, new)
        r.data["parent_changes"] = extid in wanted
        r.data["old"] = old
        r.data["diff"] = changes
        r.result = UPDATED if changes or r.data["parent_changes"] else UNCHANGED

    def apply(self, rows, refs, ctx):
        existing = refs["existing"]
        creating = [r for r in rows if r.result == CREATED]
        new_ids = dict(
            zip(
                (r.values["org_extid"] for r in creating),
                writes.allocate_ids(Organisation, len(creating)),
                strict=True,
            )
        )

        def pid(extid):
            if extid is None:
                return None
            return new_ids.get(extid) or existing[extid]["id"]

        inserts = []
        for r in creating:
            inserts.append(
                {
                    "id": new_ids[r.values["org_extid"]],
                    "extid": r.values["org_extid"],
                    **r.data["new"],
                    "parent_id": pid(r.data["parent"]),
                }
            )
        writes.insert(Organisation, inserts, ctx.op, [r.number for r in creating])
        updates = []
        for r in rows:
            if r.result != UPDATED:
                continue
            old, diff = r.data["old"], dict(r.data["diff"])
            if r.data["parent_changes"]:
                diff["parent_id"] = pid(r.data["parent"])
            updates.append((old["id"], diff, old, r.number))
        writes.update(Organisation, updates, ctx.op)
