"""Schema choices that lower the cost of every write (docs/decisions.md), kept correct."""

import pytest
from django.db import connection

from registrar.directory.models import ListFolder, UserList
from registrar.learning.models import CourseAssignment, CurriculumAssignment, ProgrammeAssignment

from . import factories as f


@pytest.mark.parametrize("model", [CourseAssignment, CurriculumAssignment, ProgrammeAssignment])
def test_assignments_index_their_tutors_only_where_set(db, model):
    with connection.cursor() as c:
        found = connection.introspection.get_constraints(c, model._meta.db_table)
    on_tutors = [n for n, v in found.items() if v["columns"] == ["tutors_id"] and v["index"]]
    assert len(on_tutors) == 1  # the partial index only, no index of every NULL
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", on_tutors)
        else:
            c.execute("SELECT sql FROM sqlite_master WHERE name = %s", on_tutors)
        (sql,) = c.fetchone()
    assert "WHERE" in sql and "NOT NULL" in sql.upper()


def test_a_tutors_list_deleted_leaves_its_assignments_without_tutors(db):
    folder = ListFolder.objects.create(name="Default")
    tutors = UserList.objects.create(name="Tutors", folder=folder)
    a = CourseAssignment.objects.create(
        user=f.user("alice"), course=f.course("SAFE-101"), tutors=tutors
    )
    assert CourseAssignment.objects.filter(tutors=tutors).count() == 1
    tutors.delete()
    a.refresh_from_db()
    assert a.tutors is None
