"""Journal and undo (SPEC §2.7, §1 Operation): one test per rule."""

import hashlib

import pytest
from django.apps import apps
from django.db import connection

from registrar.catalogue.models import Course, CourseCredit, Curriculum, Folder, Lesson, Programme
from registrar.directory.models import (
    Audience,
    ListMember,
    Organisation,
    Role,
    RoleGrant,
    User,
    UserAudience,
    UserList,
)
from registrar.journal.models import Change, Operation
from registrar.journal.service import refresh_statistics
from registrar.journal.undo import UndoRefused, undo
from registrar.learning.models import CourseAssignment, CourseRecord

from . import factories as f

APPS = ("directory", "catalogue", "learning", "notify")


def snapshot() -> dict:
    """Every learner-data table (journal aside), in pk order, without the `op` column."""
    out = {}
    for app in APPS:
        for m in apps.get_app_config(app).get_models(include_auto_created=True):
            pk = m._meta.pk.attname
            rows = [{k: v for k, v in x.items() if k != "op"} for x in m._base_manager.values()]
            out[m._meta.label] = sorted(rows, key=lambda x: x[pk])
    return out


def undo_ok(op_id: int, **kw) -> Operation:
    """Undo with no conflict, and check no row is left pointing at a deleted one."""
    op, conflicts = undo(op_id, **kw)
    assert conflicts == []
    connection.check_constraints()
    return op


ORG_H = ["org_label", "org_extid", "parent_extid", "org_city", "org_budget"]
USER_H = [
    "user_lname",
    "user_fname",
    "user_login",
    "user_password",
    "org_extid",
    "user_email",
    "user_extid",
    "user_city",
    "user_manager_extid",
    "user_audiences",
    "user_roles",
    "list_name",
]
COMPLETION_H = ["course_id", "user_email", "completion_date"]
CAT_H = ["type", "code", "title", "parent_codes", "lesson_type", "folder", "category", "credits"]


@pytest.fixture
def world(db):
    root = f.org("ROOT", city="Paris")
    f.org("SALES", parent=root, city="Lyon")
    return root


def test_every_import_creates_an_operation_with_counts(run_import, world):
    f.user("alice")
    f.course("K")
    path = run_import.file(
        COMPLETION_H,
        [["K", "alice@example.com", "2024-06-15"], ["NOPE", "alice@example.com", "2024-06-15"]],
    )
    rep = run_import.run("completions", path)
    op = Operation.objects.get(pk=rep.operation.pk)
    assert (op.kind, op.name, op.status, op.verify_only) == ("import", "completions", "done", False)
    assert op.counts() == {
        "rows": 2,
        "created": 1,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "rejected": 1,
        "warnings": 0,
    }
    assert op.counts() == rep.counts
    with open(path, "rb") as fh:
        assert op.file_checksum == hashlib.sha256(fh.read()).hexdigest()
    assert op.file_name == path.rsplit("/", 1)[-1]
    assert op.finished_at is not None and op.finished_at >= op.started_at
    assert op.actor_label == "command line"
    assert op.results_path == rep.results_path and op.log_path and op.rejects_path
    rec = CourseRecord.objects.get()
    assert rec.op == op.pk  # every written row is stamped with its operation
    verified = run_import.run("completions", path, verify_only=True)
    v = Operation.objects.get(pk=verified.operation.pk)
    assert (v.status, v.verify_only, v.rows, v.rejected) == ("verified", True, 2, 1)
    aborted = run_import.run("completions", path, all_or_nothing=True)
    a = Operation.objects.get(pk=aborted.operation.pk)
    assert (a.status, a.rows, a.rejected) == ("aborted", 2, 1)
    assert Operation.objects.filter(kind="import").count() == 3


def test_changes_hold_created_pks_and_before_after_values_of_updates(run_import, world):
    rep = run_import(
        "organisations",
        ORG_H,
        [
            ["Child", "CHILD", "NEW", "", ""],
            ["New", "NEW", "ROOT", "", "12.50"],
            ["Root", "ROOT", "", "Marseille", ""],
        ],
    )
    assert [r["result"] for r in rep.rows] == ["created", "created", "updated"]
    op = rep.operation
    created = Change.objects.filter(operation=op, action="create")
    assert {(c.table, pk) for c in created for pk in c.pks} == {
        ("directory.Organisation", Organisation.objects.get(extid="CHILD").pk),
        ("directory.Organisation", Organisation.objects.get(extid="NEW").pk),
    }
    upd = Change.objects.get(operation=op, action="update")
    root = Organisation.objects.get(extid="ROOT")
    assert (upd.table, upd.pk_value, upd.row) == ("directory.Organisation", root.pk, 4)
    assert upd.after == {"city": "Marseille"}
    assert upd.before["city"] == "Paris" and upd.before.keys() == {"city", "op"}
    assert Change.objects.filter(operation=op).count() == 2


def test_undo_of_an_organisations_import_restores_the_database(run_import, world):
    before = snapshot()
    rep = run_import(
        "organisations",
        ORG_H,
        [
            ["Grandchild", "GC", "CHILD", "", ""],
            ["Child", "CHILD", "ROOT", "Nice", "100"],
            ["Root", "ROOT", "", "Marseille", "5"],
            ["Sales", "SALES", "ROOT", "", ""],
        ],
    )
    assert [r["result"] for r in rep.rows] == ["created", "created", "updated", "updated"]
    assert snapshot() != before
    op = undo_ok(rep.operation.pk)
    assert snapshot() == before
    assert (op.kind, op.status, op.undo_of_id, op.created, op.updated, op.deleted) == (
        "undo",
        "done",
        rep.operation.pk,
        0,
        2,
        2,
    )
    assert Operation.objects.get(pk=rep.operation.pk).undone_by_id == op.pk


@pytest.fixture
def directory_world(world):
    Audience.objects.create(name="A1")
    Audience.objects.create(name="A2")
    Role.objects.create(name="Tutor")
    Role.objects.create(name="Reviewer")
    UserList.objects.create(name="Existing", folder_id=_default_folder())
    old = f.user("old", organisation=world, extid="E-OLD", city="Paris")
    UserAudience.objects.create(user=old, audience=Audience.objects.get(name="A1"))
    RoleGrant.objects.create(user=old, role=Role.objects.get(name="Reviewer"), scope=world)
    return world


def _default_folder() -> int:
    from registrar.directory.models import ListFolder

    return ListFolder.objects.get(name="Default", parent=None).pk


def test_undo_of_a_users_import_restores_the_database(run_import, directory_world):
    before = snapshot()
    rep = run_import(
        "users",
        USER_H,
        [
            # alice's manager is defined later in the file; NEWLIST does not exist yet
            [
                "Martin",
                "Alice",
                "alice",
                "pw-Alice-1",
                "SALES",
                "alice@example.com",
                "E-A",
                "Lyon",
                "E-B",
                "A1||A2",
                "Tutor:ROOT",
                "Existing||NEWLIST",
            ],
            [
                "Durand",
                "Bob",
                "bob",
                "pw-Bob-123",
                "ROOT",
                "bob@example.com",
                "E-B",
                "",
                "",
                "",
                "",
                "NEWLIST",
            ],
            # an existing user: updated, audiences and roles replaced, added to a list
            [
                "Old",
                "Test",
                "old",
                "",
                "ROOT",
                "old@example.com",
                "E-OLD",
                "Nantes",
                "E-A",
                "A2",
                "Tutor:SALES",
                "Existing",
            ],
        ],
        options={"replace_audiences": "yes", "replace_roles": "yes"},
    )
    assert [r["result"] for r in rep.rows] == ["created", "created", "updated"]
    assert rep.rows[0]["codes"] == "list_created"
    alice = User.objects.get(login="alice")
    assert alice.manager.login == "bob"
    assert set(alice.audiences.values_list("name", flat=True)) == {"A1", "A2"}
    old = User.objects.get(login="old")
    assert (old.city, old.manager_id) == ("Nantes", alice.pk)
    assert list(old.audiences.values_list("name", flat=True)) == ["A2"]
    assert list(RoleGrant.objects.filter(user=old).values_list("role__name", "scope__extid")) == [
        ("Tutor", "SALES")
    ]
    assert ListMember.objects.count() == 4 and UserList.objects.count() == 2
    undo_ok(rep.operation.pk)
    assert snapshot() == before


def test_undo_of_a_catalogue_import_restores_the_database(run_import, db):
    k = f.course("K", "Old title")
    f.curriculum("CUR", courses=[k])
    Folder.objects.create(name="Compliance", path="Compliance")
    before = snapshot()
    rep = run_import(
        "catalogue",
        CAT_H,
        [
            ["programme", "PRG", "P", "", "", "", "", ""],
            ["curriculum", "CUR", "CUR", "PRG", "", "", "", ""],
            ["curriculum", "CUR2", "C2", "PRG", "", "Compliance/Safety/Fire", "Safety", ""],
            ["course", "K", "New title", "CUR||CUR2", "", "Compliance/Safety", "Safety", "CPD:1.5"],
            ["course", "K2", "K2", "CUR2", "", "HR", "", "CPD:2"],
            ["lesson", "L1", "L1", "K", "L", "", "", ""],
            ["lesson", "L2", "L2", "K2", "W", "", "", ""],
        ],
    )
    assert [r["result"] for r in rep.rows] == [
        "created",
        "updated",
        "created",
        "updated",
        "created",
        "created",
        "created",
    ]
    assert Folder.objects.count() == 4 and CourseCredit.objects.count() == 2
    undo_ok(rep.operation.pk)
    assert snapshot() == before
    assert Course.objects.get(code="K").title == "Old title"


def test_undo_of_a_completions_import_restores_the_database(run_import, world):
    alice, bob = f.user("alice"), f.user("bob")
    k1, k2 = f.course("K1"), f.course("K2")
    CourseRecord.objects.create(user=bob, course=k1, status="N")
    CourseAssignment.objects.create(user=bob, course=k1, source="action")
    before = snapshot()
    rep = run_import(
        "completions",
        COMPLETION_H,
        [
            ["K1", "alice@example.com", "2024-06-15"],
            ["K2", "alice@example.com", "2024-06-16T10:00:00+02:00"],
            ["K1", "bob@example.com", "2024-06-17"],
        ],
    )
    assert [r["result"] for r in rep.rows] == ["created", "created", "updated"]
    assert CourseRecord.objects.filter(status="C").count() == 3
    assert CourseAssignment.objects.count() == 3
    assert alice and k2
    undo_ok(rep.operation.pk)
    assert snapshot() == before


def test_undo_of_an_import_that_updated_rows_restores_their_before_values(run_import, world):
    f.course("K", "Old", published=True, provider="Acme")
    rep = run_import(
        "catalogue",
        ["type", "code", "title", "published", "provider"],
        [["course", "K", "New", "0", ""]],
    )
    assert [r["result"] for r in rep.rows] == ["updated"]
    rep2 = run_import("organisations", ORG_H, [["Root", "ROOT", "", "Lyon", "42"]])
    assert [r["result"] for r in rep2.rows] == ["updated"]
    op = undo_ok(rep.operation.pk)
    assert op.updated == 1
    k = Course.objects.get(code="K")
    assert (k.title, k.published, k.provider) == ("Old", True, "Acme")
    undo_ok(rep2.operation.pk)
    root = Organisation.objects.get(extid="ROOT")
    assert (root.city, root.budget) == ("Paris", None)


def test_a_row_changed_since_by_another_operation_is_a_conflict_and_left(run_import, world):
    rep = run_import(
        "organisations",
        ORG_H,
        [
            ["Root", "ROOT", "", "Marseille", ""],
            ["Sales", "SALES", "ROOT", "Bordeaux", ""],
            ["New", "NEW", "ROOT", "Brest", ""],
            ["New2", "NEW2", "ROOT", "Brest", ""],
        ],
    )
    later = run_import(
        "organisations",
        ORG_H,
        [["Root", "ROOT", "", "Nice", ""], ["New", "NEW", "ROOT", "Lille", ""]],
    )
    assert [r["result"] for r in later.rows] == ["updated", "updated"]
    op, conflicts = undo(rep.operation.pk)
    root, new = Organisation.objects.get(extid="ROOT"), Organisation.objects.get(extid="NEW")
    assert sorted((c["table"], c["pk"]) for c in conflicts) == sorted(
        [("directory.Organisation", root.pk), ("directory.Organisation", new.pk)]
    )
    assert next(c["row"] for c in conflicts if c["pk"] == root.pk) == 2
    assert (root.city, root.op) == ("Nice", later.operation.pk)  # left as it is
    assert (new.city, new.op) == ("Lille", later.operation.pk)
    assert Organisation.objects.get(extid="SALES").city == "Lyon"  # restored
    assert not Organisation.objects.filter(extid="NEW2").exists()  # deleted
    assert (op.conflicts, op.rejected, op.updated, op.deleted) == (2, 0, 1, 1)
    connection.check_constraints()


def test_a_created_row_referenced_by_a_later_operation_is_a_conflict_and_left(run_import, world):
    rep = run_import(
        "organisations",
        ORG_H,
        [["A", "A", "ROOT", "", ""], ["B", "B", "ROOT", "", ""], ["C", "C", "B", "", ""]],
    )
    users = run_import(
        "users",
        USER_H[:6],
        [["Martin", "Alice", "alice", "pw-Alice-1", "A", "alice@example.com"]],
    )
    assert [r["result"] for r in users.rows] == ["created"]
    op, conflicts = undo(rep.operation.pk)
    a = Organisation.objects.get(extid="A")
    assert conflicts == [
        {"table": "directory.Organisation", "pk": a.pk, "row": None, "label": a.extid}
    ]
    assert set(Organisation.objects.values_list("extid", flat=True)) == {"ROOT", "SALES", "A"}
    assert User.objects.get(login="alice").organisation_id == a.pk
    assert (op.deleted, op.conflicts, op.rejected) == (2, 1, 0)
    connection.check_constraints()


def test_a_created_user_named_supervisor_since_is_a_conflict_and_left(run_import, world):
    users = run_import(
        "users",
        USER_H[:7],
        [
            ["Martin", "Alice", "alice", "pw-Alice-1", "ROOT", "alice@example.com", "E-A"],
            ["Durand", "Bob", "bob", "pw-Bob-123", "ROOT", "bob@example.com", "E-B"],
        ],
    )
    orgs = run_import(
        "organisations",
        ["org_label", "org_extid", "org_supervisor_extid"],
        [["Root", "ROOT", "E-A"]],
    )
    assert [r["result"] for r in orgs.rows] == ["updated"]
    op, conflicts = undo(users.operation.pk)
    alice = User.objects.get(login="alice")
    assert conflicts == [{"table": "directory.User", "pk": alice.pk, "row": None, "label": "alice"}]
    assert not User.objects.filter(login="bob").exists()
    assert Organisation.objects.get(extid="ROOT").supervisor_id == alice.pk
    connection.check_constraints()


def test_undo_verify_only_changes_nothing(run_import, world):
    rep = run_import(
        "organisations", ORG_H, [["New", "NEW", "ROOT", "", ""], ["Root", "ROOT", "", "Nice", ""]]
    )
    after_import = snapshot()
    op, conflicts = undo(rep.operation.pk, verify_only=True)
    assert conflicts == []
    assert (op.status, op.verify_only, op.deleted, op.updated) == ("verified", True, 1, 1)
    assert snapshot() == after_import
    assert not Change.objects.filter(operation=op).exists()
    assert Operation.objects.get(pk=rep.operation.pk).undone_by_id is None
    undo_ok(rep.operation.pk)  # the real undo is still possible
    assert not Organisation.objects.filter(extid="NEW").exists()


def test_a_second_undo_of_the_same_operation_is_refused(run_import, world):
    rep = run_import("organisations", ORG_H, [["New", "NEW", "ROOT", "", ""]])
    undo_ok(rep.operation.pk)
    state = snapshot()
    with pytest.raises(UndoRefused):
        undo(rep.operation.pk)
    assert snapshot() == state
    assert Operation.objects.filter(kind="undo").count() == 1


def test_an_undo_can_itself_be_undone(run_import, db):
    f.org("ROOT", city="Paris")
    k = f.course("K", "Old title")
    f.curriculum("CUR", courses=[k])
    before = snapshot()
    rep = run_import(
        "catalogue",
        CAT_H,
        [
            ["programme", "PRG", "P", "", "", "", "", ""],
            ["curriculum", "CUR", "CUR", "PRG", "", "", "", ""],
            ["course", "K", "New title", "CUR", "", "A/B", "Cat", "CPD:1"],
            ["lesson", "L1", "L1", "K", "L", "", "", ""],
        ],
    )
    assert [r["result"] for r in rep.rows] == ["created", "updated", "updated", "created"]
    after = snapshot()
    first = undo_ok(rep.operation.pk)
    assert snapshot() == before
    redo = undo_ok(first.pk)
    assert snapshot() == after
    assert Course.objects.get(code="K").title == "New title"
    assert Lesson.objects.get(code="L1").course_id == k.pk
    assert list(Programme.objects.get(code="PRG").curricula.values_list("code", flat=True)) == [
        "CUR"
    ]
    assert (redo.undo_of_id, Operation.objects.get(pk=first.pk).undone_by_id) == (first.pk, redo.pk)
    assert Curriculum.objects.count() == 1


def test_a_verify_only_import_cannot_be_undone(run_import, world):
    rep = run_import("organisations", ORG_H, [["New", "NEW", "ROOT", "", ""]], verify_only=True)
    with pytest.raises(UndoRefused):
        undo(rep.operation.pk)
    aborted = run_import(
        "organisations",
        ORG_H,
        [["New", "NEW", "ROOT", "", ""], ["Bad", "BAD", "NOPE", "", ""]],
        all_or_nothing=True,
    )
    assert Operation.objects.get(pk=aborted.operation.pk).status == "aborted"
    with pytest.raises(UndoRefused):
        undo(aborted.operation.pk)
    assert not Operation.objects.filter(kind="undo").exists()


def test_a_row_edited_outside_the_journal_since_is_a_conflict_and_left(run_import, world):
    rep = run_import(
        "organisations",
        ORG_H,
        [["Root", "ROOT", "", "Marseille", ""], ["Sales", "SALES", "ROOT", "Nice", ""]],
    )
    Organisation.objects.filter(extid="ROOT").update(city="Edited by hand")  # `op` untouched
    op, conflicts = undo(rep.operation.pk)
    root = Organisation.objects.get(extid="ROOT")
    assert conflicts == [
        {"table": "directory.Organisation", "pk": root.pk, "row": 2, "label": "ROOT"}
    ]
    assert root.city == "Edited by hand"
    assert Organisation.objects.get(extid="SALES").city == "Lyon"


def test_created_rows_referring_to_each_other_are_all_undone(run_import, world, monkeypatch):
    from registrar.journal import writes

    monkeypatch.setattr(writes, "CHUNK", 2)  # as with thousands of rows: several delete chunks
    before = snapshot()
    rows = [[f"L{i}", f"L{i}", f"L{i - 1}" if i else "ROOT", "", ""] for i in range(7)]
    rep = run_import("organisations", ORG_H, rows)
    assert [r["result"] for r in rep.rows] == ["created"] * 7
    op = undo_ok(rep.operation.pk)
    assert op.deleted == 7
    assert snapshot() == before


def test_a_later_operation_run_by_a_created_user_keeps_its_label(run_import, world):
    users = run_import(
        "users",
        USER_H[:6],
        [["Martin", "Alice", "alice", "pw-Alice-1", "ROOT", "alice@example.com"]],
    )
    alice = User.objects.get(login="alice")
    later = run_import("organisations", ORG_H, [["New", "NEW", "ROOT", "", ""]], actor=alice)
    undo_ok(users.operation.pk)
    assert not User.objects.filter(login="alice").exists()
    op = Operation.objects.get(pk=later.operation.pk)
    assert (op.actor_id, op.actor_label) == (None, "alice")  # the journal still says who


def test_undoing_an_operation_again_after_a_redo_is_refused(run_import, world):
    rep = run_import("organisations", ORG_H, [["New", "NEW", "ROOT", "", ""]])
    first = undo_ok(rep.operation.pk)
    redo = undo_ok(first.pk)
    with pytest.raises(UndoRefused, match=f"undo #{redo.pk}"):
        undo(rep.operation.pk)
    undo_ok(redo.pk)  # the way to undo it again
    assert not Organisation.objects.filter(extid="NEW").exists()


def test_a_before_value_the_writer_did_not_load_is_journalled_from_the_database(world):
    from registrar.journal import service, writes

    root = Organisation.objects.get(extid="ROOT")
    op = service.start_operation("action", "test")
    writes.update(Organisation, [(root.pk, {"city": "Brest"}, {"op": root.op}, None)], op)
    service.finish_operation(op, Operation.Status.DONE, updated=1)
    ch = Change.objects.get(operation=op)
    assert (ch.before, ch.after) == ({"city": "Paris", "op": None}, {"city": "Brest"})
    undo_ok(op.pk)
    assert Organisation.objects.get(extid="ROOT").city == "Paris"


def test_a_created_row_kept_for_a_conflict_keeps_its_parents(run_import, world):
    rep = run_import(
        "organisations",
        ORG_H,
        [
            ["C", "C", "B", "", ""],
            ["B", "B", "A", "", ""],
            ["A", "A", "ROOT", "", ""],
            ["D", "D", "ROOT", "", ""],
        ],
    )
    run_import(
        "users", USER_H[:6], [["Martin", "Bob", "bob", "pw-Bob-123", "C", "bob@example.com"]]
    )
    op, conflicts = undo(rep.operation.pk)
    left = {o.extid: o.pk for o in Organisation.objects.all()}
    assert set(left) == {"ROOT", "SALES", "A", "B", "C"}  # C has a user; B and A hold C
    assert sorted(c["pk"] for c in conflicts) == sorted([left["A"], left["B"], left["C"]])
    assert (op.deleted, op.conflicts, op.rejected) == (1, 3, 0)
    connection.check_constraints()


def test_rows_updated_alike_are_one_journal_row_and_undo_restores_each(world):
    from datetime import date

    from registrar.journal import service, writes

    root = Organisation.objects.get(extid="ROOT")
    users = [f.user(f"alike{i}", root, custom1=f"was {i}") for i in range(3)]
    rows = User.objects.filter(pk__in=[u.pk for u in users]).values("pk", "op", "custom1")
    before = {r["pk"]: r for r in rows}
    new = {"custom1": "same", "expiration_date": date(2030, 1, 31)}
    op = service.start_operation("action", "test")
    items = [
        (pk, new, {"op": b["op"], "custom1": b["custom1"]}, n)
        for n, (pk, b) in enumerate(before.items(), 1)
    ]
    writes.update(User, items, op)
    service.finish_operation(op, Operation.Status.DONE, updated=3)
    ch = Change.objects.get(operation=op)
    assert ch.pk_value is None and ch.pks == list(before) and ch.rows == [1, 2, 3]
    assert ch.after == {"custom1": "same", "expiration_date": "2030-01-31"}
    assert ch.before["custom1"] == ["was 0", "was 1", "was 2"]
    assert ch.before["expiration_date"] == [None, None, None]
    assert [e[3] for e in ch.entries()] == [1, 2, 3]
    # A row changed since is a conflict named by its input row; the others are restored.
    User.objects.filter(pk=users[2].pk).update(custom1="edited by hand")
    _, conflicts = undo(op.pk)
    assert conflicts == [
        {"table": "directory.User", "pk": users[2].pk, "row": 3, "label": "alike2"}
    ]
    got = dict(User.objects.filter(pk__in=before).values_list("pk", "custom1"))
    assert got == {users[0].pk: "was 0", users[1].pk: "was 1", users[2].pk: "edited by hand"}
    assert User.objects.get(pk=users[0].pk).expiration_date is None


def test_inserted_values_read_back_as_written_whatever_their_characters(world):
    from decimal import Decimal

    from registrar.journal import service, writes

    root = Organisation.objects.get(extid="ROOT")
    texts = ["back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", "'quote\"", "été ✓", ""]
    rows = [
        {
            "label": text,
            "extid": f"ODD{i}",
            "parent_id": root.pk,
            "disabled": i % 2 == 0,
            "description": text * 2,
            "budget": Decimal("1234.50") if i % 3 else None,
        }
        for i, text in enumerate(texts)
    ]
    op = service.start_operation("action", "test")
    writes.insert(Organisation, rows, op)
    got = {o.extid: o for o in Organisation.objects.filter(extid__startswith="ODD")}
    for i, text in enumerate(texts):
        o = got[f"ODD{i}"]
        assert (o.label, o.description, o.disabled) == (text, text * 2, i % 2 == 0)
        assert o.budget == (Decimal("1234.50") if i % 3 else None)
        assert o.op == op.pk


def test_a_large_operation_refreshes_the_planner_statistics_of_the_tables_it_changed(run_import):
    """PostgreSQL: a table filled by an operation is ANALYZEd as it ends (pg_class.reltuples
    counts its rows), so the next query is not planned for an empty table. SQLite: nothing."""
    header = ["org_label", "org_extid"]
    rep = run_import("organisations", header, [[f"Org {i}", f"O{i}"] for i in range(1100)])
    assert rep.counts["created"] == 1100
    small = run_import("organisations", header, [["One more", "X1"]])
    assert small.counts["created"] == 1
    if connection.vendor != "postgresql":
        assert refresh_statistics(rep.operation) == []
        return
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'directory_organisation'")
        assert cur.fetchone()[0] >= 1100
    assert refresh_statistics(small.operation) == []  # 1 row: under the threshold


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_rows_updated_one_by_one_store_what_django_stores_whatever_the_values_type(world):
    """writes.update's own adapters give the database the values Django's save gives it, for
    values of the field's type and for others (a date as text, a moment without a zone...)."""
    from datetime import date, datetime, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from registrar.journal import service, writes

    root = Organisation.objects.get(extid="ROOT")
    moment = timezone.make_aware(datetime(2024, 10, 27, 2, 30))
    cases = [
        {"city": "Lyon", "hourly_cost": Decimal("35.50"), "birth_date": date(1985, 4, 12)},
        {"city": "", "hourly_cost": "12.5", "birth_date": "1990-01-02", "disabled": True},
        {"hourly_cost": 7, "birth_date": datetime(1991, 3, 4, 23, 0), "date_joined": moment},
        {"date_joined": datetime(2024, 1, 2, 3, 4, 5), "organisation_id": root.pk},
        {"date_joined": "2024-05-06T07:08:09+02:00", "training_access": 0, "custom1": 5},
        {"date_joined": moment + timedelta(microseconds=7), "hourly_cost": None},
    ]
    users = [f.user(f"typed{i}", root) for i in range(len(cases))]
    twins = [f.user(f"twin{i}", root) for i in range(len(cases))]
    op = service.start_operation("action", "test")
    writes.update(
        User,
        [
            (u.pk, new, {"op": u.op}, n)
            for n, (u, new) in enumerate(zip(users, cases, strict=True), 1)
        ],
        op,
    )
    for twin, new in zip(twins, cases, strict=True):  # the same values through Django's save
        for k, v in new.items():
            setattr(twin, k, v)
        twin.save(update_fields=list(new))
    with connection.cursor() as c:

        def stored(u, names):
            cols = ", ".join(f'"{User._meta.get_field(k).column}"' for k in names)
            c.execute(f'SELECT {cols} FROM "{User._meta.db_table}" WHERE id = %s', [u.pk])
            return c.fetchone()

        for u, twin, new in zip(users, twins, cases, strict=True):
            assert stored(u, list(new)) == stored(twin, list(new)), new


def test_a_moment_is_stored_as_django_stores_it_whatever_its_zone(db):
    """The bulk writer's SQLite text for a moment (a default's now() each row, a date read from
    a file, a moment in another zone) is Django's own."""
    from datetime import UTC, datetime, timedelta, timezone

    from django.utils import timezone as dj_timezone

    from registrar.journal import writes

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL adapts moments itself")
    moments = [
        dj_timezone.now(),
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
        datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 6, 1, 12, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ]
    for v in moments:
        writes._DT_CACHE.clear()
        assert writes._sqlite_datetime(v) == connection.ops.adapt_datetimefield_value(v)
