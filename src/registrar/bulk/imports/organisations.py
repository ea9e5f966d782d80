"""organisations (SPEC §4.5, seed 003): the organisation tree, matched on extid."""

from registrar.directory.models import Organisation, User
from registrar.journal import writes

from .. import lookups, parsers
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
    title = "Organisations"
    description = "Creates and updates the organisation tree, matched on org_extid. Parents may come later in the file than their children."
    columns = [
        Column(
            "org_label",
            parsers.text(255),
            required=True,
            aliases=("label", "organisation", "org_name"),
            help="The organisation's name.",
            example="Acme Europe",
        ),
        Column(
            "org_extid",
            parsers.text(100),
            required=True,
            aliases=("extid", "org_id"),
            help="Unique external id: the match key.",
            example="ACME-EU",
        ),
        Column(
            "parent_extid",
            parsers.text(100),
            aliases=("org_parent_extid", "parent"),
            help="External id of the parent, in the platform or anywhere in the file; empty for a top-level organisation.",
            example="ACME",
        ),
        Column("org_disabled", parsers.flag, help="1 disabled; 0 or empty active.", example="0"),
        Column(
            "org_description", parsers.text(5000), help="Free text.", example="European subsidiary"
        ),
        Column("org_language", parsers.culture, help="Language tag, e.g. fr-FR.", example="en-GB"),
        Column("org_address1", parsers.text(255), help="Address line 1.", example="1 Main Street"),
        Column("org_address2", parsers.text(255), help="Address line 2.", example=""),
        Column(
            "org_zipcode", parsers.text(20), aliases=("org_zip",), help="Postcode.", example="75001"
        ),
        Column("org_city", parsers.text(100), help="City.", example="Paris"),
        Column("org_country", parsers.text(100), help="Country.", example="France"),
        Column("org_code", parsers.text(100), help="An internal code.", example="EU01"),
        Column(
            "org_budget",
            parsers.decimal_(0),
            help="A number (decimal point or comma).",
            example="12000.50",
        ),
        Column(
            "org_supervisor_extid",
            parsers.text(100),
            aliases=("supervisor_extid",),
            help="External id of the supervising user (warning supervisor_not_found when unknown).",
            example="",
        ),
    ]
    options = [
        Option("update_names", False, "Rename existing organisations to the file's org_label."),
        Option(
            "update_hierarchy", False, "Move existing organisations under the file's parent_extid."
        ),
        Option("update_info_if_present", False, "An empty cell never erases an existing value."),
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
        present = ctx.present
        # What each file row would make its organisation's parent (an extid), or leave as is.
        wanted: dict[str, str | None] = {}
        for r in rows:
            v, old = r.values, existing.get(r.values["org_extid"])
            if old is None or (
                o["update_hierarchy"]
                and not (v["parent_extid"] is None and o["update_info_if_present"])
            ):
                wanted[v["org_extid"]] = v["parent_extid"]
        tree = refs["tree"]  # the whole organisation tree: id -> (parent id, extid)
        db_parent = {pk: parent for pk, (parent, _) in tree.items()}
        ids_by_extid = {extid: pk for pk, (_, extid) in tree.items()}

        def parent_of(extid: str) -> str | None:
            if extid in wanted:
                return wanted[extid]
            oid = ids_by_extid.get(extid)
            if oid is None:
                return None
            pid = db_parent.get(oid)
            return None if pid is None else tree[pid][1]

        changed = True
        while changed:  # a rejected row can orphan or un-cycle others: settle until stable
            changed = False
            for r in rows:
                if not r.ok:
                    continue
                extid, parent = r.values["org_extid"], wanted.get(r.values["org_extid"], "\0keep")
                if parent == "\0keep" or parent is None:
                    continue
                prow = in_file.get(parent)
                if parent not in ids_by_extid and (prow is None or not prow.ok):
                    r.reject("parent_not_found", value=parent)
                    changed = True
                    continue
                seen, cur = {extid}, parent
                while cur is not None:
                    if cur in seen:
                        r.reject("hierarchy_cycle", value=parent, key=extid)
                        changed = True
                        break
                    seen.add(cur)
                    cur = parent_of(cur)
                if not r.ok and extid in ids_by_extid:
                    wanted.pop(extid, None)  # a rejected move leaves the organisation where it is
        if ctx.scope_ids is not None:
            self._check_scope(rows, ctx, ids_by_extid, wanted, db_parent)
        for r in rows:
            if r.ok:
                self._plan_row(
                    r, existing.get(r.values["org_extid"]), supervisors, wanted, present, o
                )

    def _check_scope(self, rows, ctx, ids_by_extid, wanted, db_parent):
        """In scope: the organisation sits, after the import, inside the scope's subtree."""
        scope, memo = ctx.scope_ids, {}

        def inside(extid: str) -> bool:
            if extid in memo:
                return memo[extid]
            memo[extid] = False  # guards against cycles
            oid = ids_by_extid.get(extid)
            if oid is not None and oid not in scope:
                res = False
            elif extid not in wanted:
                res = oid is not None
            elif wanted[extid] is None:
                res = oid is not None and db_parent.get(oid) is None
            else:
                res = inside(wanted[extid])
            memo[extid] = res
            return res

        for r in rows:
            if r.ok and not inside(r.values["org_extid"]):
                r.reject("out_of_scope", what=f"Organisation {r.values['org_extid']}")

    def _plan_row(self, r, old, supervisors, wanted, present, o):
        v = r.values
        extid = v["org_extid"]
        new = {"label": v["org_label"]}
        sup = v["org_supervisor_extid"]
        if sup is not None:
            if sup in supervisors:
                new["supervisor_id"] = supervisors[sup]["id"]
            else:
                r.warn("supervisor_not_found", value=sup)
        for col, fld in INFO.items():
            if col not in present:
                continue
            val = v[col]
            if val is None:
                if old is not None and o["update_info_if_present"]:
                    continue
                val = EMPTY.get(fld, "")
            new[fld] = val
        r.data = {"new": new, "parent": wanted.get(extid, "\0keep")}
        if old is None:
            r.result = CREATED
            return
        if not o["update_names"]:
            new.pop("label")
        diff = {k: val for k, val in new.items() if old.get(k) != val}
        if "parent" in present and r.data["parent"] != "\0keep":
            r.data["parent_changes"] = True
        r.data["old"] = old
        r.data["diff"] = diff
        r.result = UPDATED if diff or r.data.get("parent_changes") else UNCHANGED

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
            if r.data.get("parent_changes"):
                new_parent = pid(r.data["parent"])
                if new_parent != old["parent_id"]:
                    diff["parent_id"] = new_parent
            if not diff:
                r.result = UNCHANGED
                continue
            updates.append((old["id"], diff, old, r.number))
        writes.update(Organisation, updates, ctx.op)
