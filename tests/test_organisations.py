"""organisations import (SPEC §4.5, seed 003): one test per rule."""

from decimal import Decimal

import pytest

from registrar.directory.models import Organisation

from . import factories as f

H = [
    "org_label",
    "org_extid",
    "parent_extid",
    "org_disabled",
    "org_description",
    "org_language",
    "org_address1",
    "org_address2",
    "org_zipcode",
    "org_city",
    "org_country",
    "org_code",
    "org_budget",
    "org_supervisor_extid",
]


def row(label, extid, parent="", **info) -> list[str]:
    """A full 14-column row; info keys are the column names without the `org_` prefix."""
    cells = dict.fromkeys(H, "")
    cells.update(org_label=label, org_extid=extid, parent_extid=parent)
    for k, v in info.items():
        name = k if k in cells else f"org_{k}"
        assert name in cells, k
        cells[name] = v
    return [cells[h] for h in H]


def results(report) -> list[tuple[str, str]]:
    return [(r["result"], r["codes"]) for r in report.rows]


def parent_of(extid: str) -> str | None:
    o = Organisation.objects.select_related("parent").get(extid=extid)
    return o.parent.extid if o.parent else None


def test_create_tree(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [
            row("Acme Group", "ACME", city="Paris", country="France", code="GRP"),
            row("Acme Europe", "ACME-EU", "ACME", language="fr-FR", budget="12000,50"),
            row(
                "Acme Logistics",
                "ACME-LOG",
                "ACME-EU",
                disabled="0",
                description="Warehouses and transport",
                address1="1 Main Street",
                address2="Building B",
                zipcode="69001",
            ),
        ],
    )
    assert results(rep) == [("created", "")] * 3
    assert rep.counts["created"] == 3 and rep.counts["rejected"] == 0
    assert [parent_of(x) for x in ("ACME", "ACME-EU", "ACME-LOG")] == [None, "ACME", "ACME-EU"]
    acme = Organisation.objects.get(extid="ACME")
    assert (acme.label, acme.city, acme.country, acme.code) == (
        "Acme Group",
        "Paris",
        "France",
        "GRP",
    )
    eu = Organisation.objects.get(extid="ACME-EU")
    assert (eu.language, eu.budget) == ("fr-FR", Decimal("12000.50"))
    log = Organisation.objects.get(extid="ACME-LOG")
    assert (log.disabled, log.description, log.address1, log.address2, log.zipcode) == (
        False,
        "Warehouses and transport",
        "1 Main Street",
        "Building B",
        "69001",
    )


def test_parents_may_come_later_in_the_file_than_their_children(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("Leaf", "LEAF", "MID"), row("Mid", "MID", "TOP"), row("Top", "TOP")],
    )
    assert results(rep) == [("created", "")] * 3
    assert [parent_of(x) for x in ("LEAF", "MID", "TOP")] == ["MID", "TOP", None]


def test_parent_in_the_platform_is_found(run_import, db):
    f.org("ROOT")
    rep = run_import("organisations", H, [row("Child", "CHILD", "ROOT")])
    assert results(rep) == [("created", "")]
    assert parent_of("CHILD") == "ROOT"


def test_parent_not_found_rejects_the_row_and_its_descendants(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("Child", "CHILD", "NOWHERE"), row("Grandchild", "GRAND", "CHILD"), row("Ok", "OK")],
    )
    assert results(rep) == [
        ("rejected", "parent_not_found"),
        ("rejected", "parent_not_found"),
        ("created", ""),
    ]
    assert set(Organisation.objects.values_list("extid", flat=True)) == {"OK"}


def test_hierarchy_cycle_within_the_file_is_rejected(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("A", "A", "B"), row("B", "B", "C"), row("C", "C", "A"), row("Self", "SELF", "SELF")],
    )
    assert results(rep) == [("rejected", "hierarchy_cycle")] * 4
    assert not Organisation.objects.exists()


def test_a_row_below_a_cycle_is_rejected_and_the_rest_created(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("Below", "BELOW", "A"), row("A", "A", "B"), row("B", "B", "A"), row("Fine", "FINE")],
    )
    assert results(rep) == [
        ("rejected", "parent_not_found"),
        ("rejected", "hierarchy_cycle"),
        ("rejected", "hierarchy_cycle"),
        ("created", ""),
    ]
    assert list(Organisation.objects.values_list("extid", flat=True)) == ["FINE"]


def test_hierarchy_cycle_with_existing_organisations_when_update_hierarchy(run_import, db):
    top = f.org("TOP")
    mid = f.org("MID", parent=top)
    f.org("LOW", parent=mid)
    # TOP under LOW would make TOP its own ancestor through the platform's tree.
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["TOP", "TOP", "LOW"]],
        options={"update_hierarchy": "yes"},
    )
    assert results(rep) == [("rejected", "hierarchy_cycle")]
    assert [parent_of(x) for x in ("TOP", "MID", "LOW")] == [None, "TOP", "MID"]


def test_existing_organisation_is_not_moved_without_update_hierarchy(run_import, db):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    f.org("OTHER")
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["LOW", "LOW", "OTHER"], ["TOP", "TOP", "LOW"]],
    )
    assert results(rep) == [("unchanged", ""), ("unchanged", "")]
    assert [parent_of(x) for x in ("LOW", "TOP")] == ["TOP", None]


def test_update_hierarchy_moves_existing_organisations(run_import, db):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    f.org("OTHER")
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["LOW", "LOW", "NEW"], ["New", "NEW", "OTHER"], ["TOP", "TOP", "OTHER"]],
        options={"update_hierarchy": "yes"},
    )
    assert results(rep) == [("updated", ""), ("created", ""), ("updated", "")]
    assert [parent_of(x) for x in ("LOW", "NEW", "TOP")] == ["NEW", "OTHER", "OTHER"]


def test_update_hierarchy_with_an_empty_parent_moves_to_the_top(run_import, db):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["LOW", "LOW", ""]],
        options={"update_hierarchy": "yes"},
    )
    assert results(rep) == [("updated", "")]
    assert parent_of("LOW") is None


def test_update_hierarchy_with_update_info_if_present_keeps_the_parent_of_an_empty_cell(
    run_import, db
):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["LOW", "LOW", ""]],
        options={"update_hierarchy": "yes", "update_info_if_present": "yes"},
    )
    assert results(rep) == [("unchanged", "")]
    assert parent_of("LOW") == "TOP"


def test_update_hierarchy_without_a_parent_column_moves_nothing(run_import, db):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "org_city"],
        [["LOW", "LOW", "Lyon"]],
        options={"update_hierarchy": "yes"},
    )
    assert results(rep) == [("updated", "")]
    assert parent_of("LOW") == "TOP"
    assert Organisation.objects.get(extid="LOW").city == "Lyon"


def test_restating_the_current_parent_is_unchanged(run_import, db):
    top = f.org("TOP")
    f.org("LOW", parent=top)
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["LOW", "LOW", "TOP"]],
        options={"update_hierarchy": "yes"},
    )
    assert results(rep) == [("unchanged", "")]


def test_update_names_off_keeps_the_label(run_import, db):
    f.org("ACME", label="Acme")
    rep = run_import("organisations", H, [row("Acme Renamed", "ACME")])
    assert results(rep) == [("unchanged", "")]
    assert Organisation.objects.get(extid="ACME").label == "Acme"


def test_update_names_on_renames(run_import, db):
    f.org("ACME", label="Acme")
    rep = run_import(
        "organisations", H, [row("Acme Renamed", "ACME")], options={"update_names": "yes"}
    )
    assert results(rep) == [("updated", "")]
    assert Organisation.objects.get(extid="ACME").label == "Acme Renamed"


def test_without_update_info_if_present_an_empty_cell_erases(run_import, db):
    sup = f.user("boss", extid="BOSS")
    f.org(
        "ACME",
        city="Paris",
        code="GRP",
        budget=Decimal("10"),
        description="Head office",
        language="fr-FR",
        disabled=True,
        supervisor=sup,
    )
    rep = run_import("organisations", H, [row("ACME", "ACME", country="France")])
    assert results(rep) == [("updated", "")]
    o = Organisation.objects.get(extid="ACME")
    assert (o.city, o.code, o.budget, o.description, o.language, o.country, o.disabled) == (
        "",
        "",
        None,
        "",
        "",
        "France",
        False,
    )
    assert o.supervisor_id is None


def test_update_info_if_present_an_empty_cell_never_erases(run_import, db):
    sup = f.user("boss", extid="BOSS")
    f.org(
        "ACME",
        city="Paris",
        code="GRP",
        budget=Decimal("10"),
        description="Head office",
        disabled=True,
        supervisor=sup,
    )
    rep = run_import(
        "organisations",
        H,
        [row("ACME", "ACME", country="France", code="NEW")],
        options={"update_info_if_present": "yes"},
    )
    assert results(rep) == [("updated", "")]
    o = Organisation.objects.get(extid="ACME")
    assert (o.city, o.code, o.budget, o.description, o.country, o.disabled) == (
        "Paris",
        "NEW",
        Decimal("10"),
        "Head office",
        "France",
        True,
    )
    assert o.supervisor_id == sup.pk


def test_columns_absent_from_the_file_are_left_alone(run_import, db):
    f.org("ACME", city="Paris", budget=Decimal("10"), disabled=True)
    rep = run_import(
        "organisations", ["org_label", "org_extid", "org_code"], [["ACME", "ACME", "X"]]
    )
    assert results(rep) == [("updated", "")]
    o = Organisation.objects.get(extid="ACME")
    assert (o.city, o.budget, o.disabled, o.code) == ("Paris", Decimal("10"), True, "X")


@pytest.mark.parametrize("cell,disabled", [("1", True), ("0", False), ("", False)])
def test_org_disabled_1_disabled_0_or_empty_active(run_import, db, cell, disabled):
    rep = run_import("organisations", H, [row("New", "NEW", disabled=cell)])
    assert results(rep) == [("created", "")]
    assert Organisation.objects.get(extid="NEW").disabled is disabled


def test_org_disabled_0_enables_an_existing_organisation(run_import, db):
    f.org("OLD", disabled=True)
    rep = run_import("organisations", H, [row("OLD", "OLD", disabled="0")])
    assert results(rep) == [("updated", "")]
    assert Organisation.objects.get(extid="OLD").disabled is False


def test_invalid_org_disabled_is_rejected(run_import, db):
    rep = run_import("organisations", H, [row("New", "NEW", disabled="maybe")])
    assert results(rep) == [("rejected", "invalid_choice")]
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("budget", ["lots", "-5", "12.5.3"])
def test_invalid_budget_is_rejected_invalid_number(run_import, db, budget):
    rep = run_import("organisations", H, [row("New", "NEW", budget=budget), row("Ok", "OK")])
    assert results(rep) == [("rejected", "invalid_number"), ("created", "")]
    assert rep.rows[0]["message"].startswith("Column org_budget")
    assert not Organisation.objects.filter(extid="NEW").exists()


def test_budget_beyond_the_field_precision_is_rejected(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("A", "A", budget="1.234"), row("B", "B", budget="1e20"), row("C", "C", budget="7.5")],
    )
    assert results(rep) == [
        ("rejected", "invalid_number"),
        ("rejected", "invalid_number"),
        ("created", ""),
    ]
    assert Organisation.objects.get(extid="C").budget == Decimal("7.50")


def test_invalid_language_is_rejected(run_import, db):
    rep = run_import("organisations", H, [row("New", "NEW", language="French!")])
    assert results(rep) == [("rejected", "invalid_choice")]


def test_missing_label_or_extid_is_rejected(run_import, db):
    rep = run_import("organisations", H, [row("", "NOLABEL"), row("No extid", "")])
    assert results(rep) == [("rejected", "missing_value")] * 2
    assert "org_label" in rep.rows[0]["message"] and "org_extid" in rep.rows[1]["message"]
    assert not Organisation.objects.exists()


def test_supervisor_is_linked(run_import, db):
    boss = f.user("boss", extid="BOSS")
    rep = run_import("organisations", H, [row("New", "NEW", supervisor_extid="BOSS")])
    assert results(rep) == [("created", "")]
    assert Organisation.objects.get(extid="NEW").supervisor_id == boss.pk


def test_supervisor_not_found_is_a_warning_and_the_rest_is_applied(run_import, db):
    rep = run_import(
        "organisations",
        H,
        [row("New", "NEW", city="Lyon", code="N1", supervisor_extid="GHOST")],
    )
    assert results(rep) == [("created", "supervisor_not_found")]
    assert rep.counts["warnings"] == 1 and rep.counts["created"] == 1
    o = Organisation.objects.get(extid="NEW")
    assert (o.city, o.code, o.supervisor_id) == ("Lyon", "N1", None)


def test_supervisor_not_found_on_an_existing_organisation_still_updates_it(run_import, db):
    f.org("OLD", city="Paris")
    rep = run_import("organisations", H, [row("OLD", "OLD", city="Lyon", supervisor_extid="GHOST")])
    assert results(rep) == [("updated", "supervisor_not_found")]
    assert Organisation.objects.get(extid="OLD").city == "Lyon"


def test_scope_rejects_organisations_outside_the_subtree(run_import, db):
    eu = f.org("EU")
    f.org("FR", parent=eu)
    f.org("US", city="Boston")
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid", "org_city"],
        [
            ["US", "US", "", "Chicago"],
            ["France", "FR", "EU", "Paris"],
            ["Lyon", "LYON", "FR", ""],
            ["Paris", "PARIS", "LYON", ""],
            ["Texas", "TX", "US", ""],
            ["Top", "TOPNEW", "", ""],
        ],
        scope="EU",
    )
    assert results(rep) == [
        ("rejected", "out_of_scope"),
        ("updated", ""),
        ("created", ""),
        ("created", ""),
        ("rejected", "out_of_scope"),
        ("rejected", "out_of_scope"),
    ]
    assert Organisation.objects.get(extid="US").city == "Boston"
    assert Organisation.objects.get(extid="FR").city == "Paris"
    assert parent_of("PARIS") == "LYON" and parent_of("LYON") == "FR"
    assert not Organisation.objects.filter(extid__in=["TX", "TOPNEW"]).exists()


def test_scope_refuses_moving_an_organisation_out_of_the_subtree(run_import, db):
    world = f.org("WORLD")
    eu = f.org("EU", parent=world)
    f.org("FR", parent=eu)
    f.org("US", parent=world)
    rep = run_import(
        "organisations",
        ["org_label", "org_extid", "parent_extid"],
        [["FR", "FR", "US"], ["EU", "EU", "WORLD"]],
        options={"update_hierarchy": "yes"},
        scope="EU",
    )
    # The scope's root restating its own place is not a move out of the scope.
    assert results(rep) == [("rejected", "out_of_scope"), ("unchanged", "")]
    assert parent_of("FR") == "EU"


def test_unchanged_on_reimport(run_import, db):
    f.user("boss", extid="BOSS")
    rows = [
        row("Acme Group", "ACME", city="Paris", budget="12000.5", supervisor_extid="BOSS"),
        row("Acme Europe", "ACME-EU", "ACME", language="fr-FR", disabled="1"),
        row("Broken", "BROKEN", "NOWHERE"),
    ]
    path = run_import.file(H, rows)
    opts = {"update_names": "yes", "update_hierarchy": "yes"}
    first = run_import.run("organisations", path, options=opts)
    assert results(first) == [
        ("created", ""),
        ("created", ""),
        ("rejected", "parent_not_found"),
    ]
    before = list(Organisation.objects.order_by("pk").values())
    second = run_import.run("organisations", path, options=opts)
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "parent_not_found"),
    ]
    assert list(Organisation.objects.order_by("pk").values()) == before


def test_duplicate_row_rejects_the_later_row(run_import, db):
    rep = run_import("organisations", H, [row("First", "DUP"), row("Second", "dup")])
    assert results(rep) == [("created", ""), ("rejected", "duplicate_row")]
    assert list(Organisation.objects.values_list("label", flat=True)) == ["First"]


def test_verify_only_writes_nothing_and_gives_the_same_results(run_import, db):
    f.org("OLD", city="Paris")
    path = run_import.file(
        H,
        [
            row("Child", "CHILD", "NEW"),
            row("New", "NEW", "OLD"),
            row("OLD", "OLD", city="Lyon"),
            row("Bad", "BAD", "GHOST"),
        ],
    )
    verified = run_import.run("organisations", path, verify_only=True)
    assert Organisation.objects.count() == 1
    assert Organisation.objects.get(extid="OLD").city == "Paris"
    real = run_import.run("organisations", path)
    assert results(verified) == results(real)
    assert results(real) == [
        ("created", ""),
        ("created", ""),
        ("updated", ""),
        ("rejected", "parent_not_found"),
    ]
    assert Organisation.objects.count() == 3
