"""registrar demo (SPEC §3): a realistic organisation, loaded through the engine, that every
import template imports into cleanly."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from registrar.bulk import engine, imports
from registrar.bulk.docs import write_template
from registrar.catalogue.models import Course, Curriculum, Lesson, Programme
from registrar.directory.models import Organisation, User
from registrar.journal.models import Operation
from registrar.learning.models import CourseAssignment, CourseRecord

from . import factories as f

TEMPLATES = ["organisations", "users", "catalogue", "completions"]


@pytest.fixture
def demo(db):
    out = io.StringIO()
    call_command("demo", users=200, stdout=out)
    return out.getvalue()


def test_demo_loads_an_organisation_through_the_engine(demo):
    assert Organisation.objects.count() > 25
    assert User.objects.exclude(login="admin").count() == 200
    assert (Programme.objects.count(), Curriculum.objects.count()) == (3, 10)
    assert Course.objects.count() >= 40 and Lesson.objects.count() >= 150
    assert Course.objects.get(code="SAFE-101").title == "Workplace safety"
    assert CourseAssignment.objects.count() > 200
    statuses = set(CourseRecord.objects.values_list("status", flat=True))
    assert statuses == {"N", "I", "C"}
    assert CourseRecord.objects.filter(source="import").exists()
    assert User.objects.filter(manager__isnull=False).count() > 150
    assert User.objects.filter(audiences__name="Managers").count() >= 30
    assert "admin / admin" in demo
    # The site administrator, in the root organisation.
    admin = User.objects.get(login="admin")
    assert admin.is_staff and admin.is_superuser and admin.check_password("admin")
    assert admin.organisation.extid == "ACME" and admin.organisation.parent is None
    # Built through the engine, without a rejected row, and journalled.
    import_ops = Operation.objects.filter(kind="import")
    assert set(import_ops.values_list("name", flat=True)) == set(TEMPLATES)
    assert all(op.status == "done" and op.rejected == 0 and op.rows > 0 for op in import_ops)
    assert Operation.objects.filter(kind="action", name="demo", status="done").exists()


def import_templates_twice(kinds, tmp_path):
    for kind in kinds:
        path = str(tmp_path / f"{kind}-template.csv")
        write_template(kind, path)
        first = engine.run_import(engine.Request(kind=kind, path=path))
        assert first.counts["rejected"] == 0, (kind, Path(first.log_path).read_text())
        again = engine.run_import(engine.Request(kind=kind, path=path))
        c = again.counts
        assert (c["created"], c["updated"], c["deleted"], c["rejected"]) == (0, 0, 0, 0), kind
        assert c["unchanged"] + c["skipped"] == c["rows"] > 0, kind


def test_every_template_imports_into_the_demo_and_again_changes_nothing(demo, tmp_path):
    import_templates_twice(TEMPLATES, tmp_path)


def test_the_other_kinds_templates_import_into_the_demo_too(demo, tmp_path):
    # In the order of the kinds, as someone trying them one after the other would: the demo
    # provides what every example file refers to (sessions, external references, UUIDs).
    import_templates_twice(list(imports.KINDS), tmp_path)


def test_demo_again_refuses_politely_and_changes_nothing(demo):
    before = (Operation.objects.count(), User.objects.count())
    out = io.StringIO()
    call_command("demo", users=200, stdout=out)
    assert "already loaded" in out.getvalue()
    assert (Operation.objects.count(), User.objects.count()) == before


def test_demo_refuses_a_database_that_holds_other_data(db):
    f.user("someone")
    with pytest.raises(CommandError, match="empty database") as e:
        call_command("demo", users=200, stdout=io.StringIO())
    assert e.value.returncode == 2
    assert not Organisation.objects.filter(extid="ACME").exists()
