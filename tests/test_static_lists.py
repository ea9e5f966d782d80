"""static-lists import (SPEC §4.12, seed 003): one test per rule."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registrar.bulk.docs import write_template
from registrar.directory.models import ListFolder, ListMember, UserList
from registrar.journal.undo import undo

from . import factories as f

H = ["USER", "LIST_NAME"]


@pytest.fixture
def world(db):
    acme = f.org("ACME-EU")
    f.user("amartin", organisation=acme, extid="E1001", last_name="Martin", first_name="Alice")
    f.user("bdurand", organisation=acme, extid="E1002", last_name="Durand", first_name="Bob")
    default = ListFolder.objects.get(name="Default", parent=None)
    UserList.objects.create(name="Newcomers", folder=default)
    return default


def results(report):
    return [(r["result"], r["codes"]) for r in report.rows]


def members(name: str) -> set[str]:
    return set(
        ListMember.objects.filter(user_list__name=name).values_list("user__login", flat=True)
    )


def test_user_found_by_extid_is_added_to_the_list_at_the_import_time(run_import, world):
    rep = run_import("static-lists", H, [["E1001", "Newcomers"]])
    assert results(rep) == [("created", "")]
    m = ListMember.objects.get(user__login="amartin", user_list__name="Newcomers")
    assert m.entered_at == rep.operation.started_at
    assert rep.counts["created"] == 1


def test_match_on_login_finds_users_by_login(run_import, world):
    rep = run_import(
        "static-lists",
        H,
        [["bdurand", "Newcomers"], ["E1001", "Newcomers"]],
        options={"match_on": "login"},
    )
    assert results(rep) == [("created", ""), ("rejected", "user_not_found")]
    assert members("Newcomers") == {"bdurand"}


def test_unknown_user_is_rejected_with_user_not_found(run_import, world):
    rep = run_import("static-lists", H, [["amartin", "Newcomers"], ["E9999", "Newcomers"]])
    assert results(rep) == [("rejected", "user_not_found"), ("rejected", "user_not_found")]
    assert "USER (extid) 'amartin'" in rep.rows[0]["message"]
    assert not ListMember.objects.exists()


def test_missing_list_is_created_static_in_the_default_folder_with_one_list_created_warning(
    run_import, world
):
    rep = run_import("static-lists", H, [["E1001", "Fire wardens"], ["E1002", "Fire wardens"]])
    assert results(rep) == [("created", "list_created"), ("created", "")]
    assert rep.counts["warnings"] == 1
    lst = UserList.objects.get(name="Fire wardens")
    assert (lst.kind, lst.folder_id) == (UserList.Kind.STATIC, world.pk)
    assert members("Fire wardens") == {"amartin", "bdurand"}


def test_list_created_warning_comes_once_per_list_across_batches(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    rep = run_import(
        "static-lists",
        H,
        [["E1001", "Fire wardens"], ["E1002", "Fire wardens"], ["E1002", "Drivers"]],
    )
    assert results(rep) == [
        ("created", "list_created"),
        ("created", ""),
        ("created", "list_created"),
    ]
    assert UserList.objects.filter(name="Fire wardens").count() == 1


def test_a_list_is_created_only_by_an_applied_row(run_import, world):
    rep = run_import("static-lists", H, [["E9999", "Ghosts"], ["E1001", "Ghosts"]])
    assert results(rep) == [("rejected", "user_not_found"), ("created", "list_created")]
    rep = run_import("static-lists", H, [["E9999", "Nobody's list"]])
    assert results(rep) == [("rejected", "user_not_found")]
    assert not UserList.objects.filter(name="Nobody's list").exists()


def test_list_names_are_matched_exactly(run_import, world):
    rep = run_import("static-lists", H, [["E1001", "newcomers"]])
    assert results(rep) == [("created", "list_created")]
    assert set(UserList.objects.values_list("name", flat=True)) == {"Newcomers", "newcomers"}


def test_user_already_in_the_list_is_unchanged(run_import, world):
    m = ListMember.objects.create(
        user=f.user("carol", extid="E3"), user_list=UserList.objects.get(name="Newcomers")
    )
    rep = run_import("static-lists", H, [["E3", "Newcomers"]])
    assert results(rep) == [("unchanged", "")]
    assert ListMember.objects.get().entered_at == m.entered_at


def test_import_only_adds_members(run_import, world):
    carol = f.user("carol", extid="E3")
    ListMember.objects.create(user=carol, user_list=UserList.objects.get(name="Newcomers"))
    rep = run_import("static-lists", H, [["E1001", "Newcomers"]])
    assert results(rep) == [("created", "")]
    assert members("Newcomers") == {"carol", "amartin"}


def test_dynamic_list_is_rejected_with_list_not_static(run_import, world):
    UserList.objects.create(name="Managers", folder=world, kind=UserList.Kind.DYNAMIC)
    rep = run_import("static-lists", H, [["E1001", "Managers"]])
    assert results(rep) == [("rejected", "list_not_static")]
    assert not ListMember.objects.exists()


def test_header_line_is_skipped_by_default(run_import, world):
    # A header in the vendor's own spelling (LISTE_NAME) and any case: read as a header, not a row.
    rep = run_import("static-lists", ["user", "LISTE_NAME"], [["E1001", "Newcomers"]])
    assert results(rep) == [("created", "")]
    assert rep.counts["rows"] == 1


def test_header_no_reads_the_columns_in_the_documented_order(run_import, world):
    path = run_import.file(["E1001", "Newcomers"], [["E1002", "Newcomers"]])
    rep = run_import.run("static-lists", path, options={"header": "no"})
    assert results(rep) == [("created", ""), ("created", "")]
    assert [r["row"] for r in rep.rows] == ["1", "2"]
    assert members("Newcomers") == {"amartin", "bdurand"}


@pytest.mark.parametrize(
    "row,code",
    [
        (["", "Newcomers"], "missing_value"),
        (["E1001", ""], "missing_value"),
        (["E1001", "x" * 151], "value_too_long"),
    ],
)
def test_invalid_values_are_rejected(run_import, world, row, code):
    rep = run_import("static-lists", H, [row])
    assert results(rep) == [("rejected", code)]
    assert not ListMember.objects.exists() and UserList.objects.count() == 1


def test_duplicate_row_rejects_the_later_row(run_import, world, settings):
    settings.REGISTRAR_BATCH_SIZE = 2
    rep = run_import(
        "static-lists",
        H,
        [["E1001", "Newcomers"], ["E1002", "Newcomers"], ["E1001", "Newcomers"]],
    )
    assert results(rep) == [("created", ""), ("created", ""), ("rejected", "duplicate_row")]
    assert "row 2" in rep.rows[2]["message"]


def test_out_of_scope_user_is_rejected(run_import, world):
    other = f.org("OTHER")
    f.user("zed", organisation=other, extid="E9")
    rep = run_import(
        "static-lists", H, [["E9", "Newcomers"], ["E1001", "Newcomers"]], scope="ACME-EU"
    )
    assert results(rep) == [("rejected", "out_of_scope"), ("created", "")]
    assert members("Newcomers") == {"amartin"}


def test_verify_only_gives_the_same_results_and_writes_nothing(run_import, world):
    path = run_import.file(
        H, [["E1001", "Newcomers"], ["E1002", "Fire wardens"], ["E9999", "Newcomers"]]
    )
    verified = run_import.run("static-lists", path, verify_only=True)
    assert not ListMember.objects.exists()
    assert not UserList.objects.filter(name="Fire wardens").exists()
    real = run_import.run("static-lists", path)
    assert (
        results(verified)
        == results(real)
        == [
            ("created", ""),
            ("created", "list_created"),
            ("rejected", "user_not_found"),
        ]
    )


def test_importing_the_same_file_twice_changes_nothing(run_import, world):
    path = run_import.file(
        H, [["E1001", "Newcomers"], ["E1002", "Fire wardens"], ["E9999", "Newcomers"]]
    )
    run_import.run("static-lists", path)
    before = list(ListMember.objects.values().order_by("pk"))
    second = run_import.run("static-lists", path)
    assert results(second) == [
        ("unchanged", ""),
        ("unchanged", ""),
        ("rejected", "user_not_found"),
    ]
    assert list(ListMember.objects.values().order_by("pk")) == before
    assert UserList.objects.count() == 2


def test_undo_removes_the_members_and_the_lists_the_import_added(run_import, world):
    carol = f.user("carol", extid="E3")
    ListMember.objects.create(user=carol, user_list=UserList.objects.get(name="Newcomers"))
    rep = run_import("static-lists", H, [["E1001", "Newcomers"], ["E1002", "Fire wardens"]])
    assert rep.counts["created"] == 2
    op, conflicts = undo(rep.operation.pk)
    assert (op.status, conflicts) == ("done", [])
    assert members("Newcomers") == {"carol"}
    assert set(UserList.objects.values_list("name", flat=True)) == {"Newcomers"}


def test_template_imports_cleanly(run_import, world, tmp_path):
    path = str(tmp_path / "static-lists-template.csv")
    write_template("static-lists", path)
    first = run_import.run("static-lists", path)
    assert first.counts["rejected"] == 0
    assert [r["result"] for r in first.rows] == ["created", "created"]
    again = run_import.run("static-lists", path)
    assert [r["result"] for r in again.rows] == ["unchanged", "unchanged"]


def test_queries_do_not_grow_with_the_number_of_rows(run_import, world):
    def queries(n: int, prefix: str) -> int:
        rows = []
        for i in range(n):
            f.user(f"{prefix}{i}", extid=f"{prefix}-E{i}")
            rows += [[f"{prefix}-E{i}", "Newcomers"], [f"{prefix}-E{i}", f"{prefix} list"]]
        rows.append(["nobody", "Newcomers"])
        path = run_import.file(H, rows)
        with CaptureQueriesContext(connection) as ctx:
            rep = run_import.run("static-lists", path)
        assert rep.counts["created"] == 2 * n
        return len(ctx.captured_queries)

    assert queries(5, "small") == queries(40, "large")
