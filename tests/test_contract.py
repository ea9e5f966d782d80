"""The contract every step keeps (SPEC §2.3, §2.6, §2.7), run against every import kind (its
example file) and every action (its declared examples) on the demo organisation: verify-only
gives the same per-row results as the run and writes nothing; the second run changes nothing;
undo restores every row the run touched."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from registrar.bulk import engine
from registrar.bulk.actions import ACTIONS
from registrar.bulk.docs import write_template
from registrar.bulk.imports import KINDS
from registrar.bulk.selection import Selection
from registrar.directory.models import User
from registrar.journal.models import Change, Operation
from registrar.journal.undo import undo

from .conftest import read_results

WRITES = ("created", "updated", "deleted")


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo organisation, loaded once for the module inside a transaction that is rolled
    back at its end (as Django's TestCase does for a class); each test's changes roll back."""
    data = tmp_path_factory.mktemp("contract-data")
    aliases = ("default", "jobs")
    with django_db_blocker.unblock():
        atomics = [transaction.atomic(using=a) for a in aliases]
        for a in atomics:
            a.__enter__()
        with override_settings(DATA_DIR=data):
            call_command("demo", users=60, stdout=io.StringIO())
    yield
    with django_db_blocker.unblock():
        for alias, a in zip(reversed(aliases), reversed(atomics), strict=True):
            transaction.set_rollback(True, using=alias)
            a.__exit__(None, None, None)


def _results(report) -> list[tuple]:
    return [
        tuple(v for k, v in row.items() if k != "message")
        for row in read_results(report.results_path)
    ]


@pytest.mark.parametrize("kind", list(KINDS))
def test_contract_of_every_import_kind(demo_world, db, kind, tmp_path):
    path = str(tmp_path / f"{kind}.csv")
    write_template(kind, path)

    def run(verify_only):
        return engine.run_import(engine.Request(kind=kind, path=path, verify_only=verify_only))

    verified = run(True)
    first = run(False)
    assert _results(verified) == _results(first), f"{kind}: verify-only and the run differ"
    assert first.counts["rejected"] == 0, kind
    tables = set(Change.objects.filter(operation=first.operation).values_list("table", flat=True))
    again = run(False)
    assert all(again.counts[k] == 0 for k in WRITES), (kind, again.counts)
    if tables:  # the demo holds some templates' rows already: their run changes nothing
        _undo_restores(first.operation, tables)


def _undo_restores(op: Operation, tables) -> None:
    """Undo the operation: what it created is gone, what it deleted is back, and every row it
    updated holds its before values again (the journal's)."""
    assert tables, "the run journalled nothing"
    before = {}
    for ch in Change.objects.filter(operation=op, action="update").order_by("-id"):
        for pk, values, _, _ in ch.entries():  # the first change of a row comes last
            before[(ch.table, pk)] = values
    created = {
        (ch.table, pk)
        for ch in Change.objects.filter(operation=op, action="create")
        for pk in ch.pks or ()
    }
    deleted = {
        (ch.table, ch.pk_value) for ch in Change.objects.filter(operation=op, action="delete")
    }
    _, conflicts = undo(op.pk)
    assert not conflicts, conflicts[:3]
    for table, pk in created:
        assert not apps.get_model(table)._base_manager.filter(pk=pk).exists(), (table, pk)
    for table, pk in deleted:
        assert apps.get_model(table)._base_manager.filter(pk=pk).exists(), (table, pk)
    for (table, pk), values in before.items():
        if (table, pk) in created:
            continue
        row = apps.get_model(table)._base_manager.filter(pk=pk).values(*values).first()
        assert row is not None, (table, pk)
        for k, v in values.items():
            if k == "op":
                continue
            got = row[k]
            got = got.isoformat() if hasattr(got, "isoformat") else got
            assert str(got) == str(v) or got == v, (table, pk, k, got, v)


def _selection(action) -> Selection:
    """The action's example selection, else twenty learners of the demo (enabled, with
    training access), by login."""
    if action.example_selection:
        return Selection.from_json(action.target, action.example_selection)
    logins = list(
        User.objects.filter(disabled=False, training_access=True, is_superuser=False)
        .order_by("login")
        .values_list("login", flat=True)[:20]
    )
    return Selection(target=action.target, ids=logins)


ACTION_EXAMPLES = [(name, i) for name, a in ACTIONS.items() for i in range(len(a.examples))]


@pytest.mark.parametrize(("name", "example"), ACTION_EXAMPLES)
def test_contract_of_every_action(demo_world, db, name, example):
    action = ACTIONS[name]
    params = action.examples[example]
    sel = _selection(action)

    def run(verify_only):
        return engine.run(
            engine.Request(kind=name, selection=sel, params=params, verify_only=verify_only)
        )

    verified = run(True)
    assert not Change.objects.filter(operation=verified.operation).exists(), name
    first = run(False)
    assert _results(verified) == _results(first), f"{name}: verify-only and the run differ"
    assert any(first.counts[k] for k in WRITES), (name, first.counts)
    tables = set(Change.objects.filter(operation=first.operation).values_list("table", flat=True))
    if not getattr(action, "repeatable", False):
        again = run(False)
        assert all(again.counts[k] == 0 for k in WRITES), (name, again.counts)
    if tables or not action.repeatable:  # a mail sent is journalled nowhere: nothing to undo
        _undo_restores(first.operation, tables)
