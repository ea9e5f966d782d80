"""PostgreSQL: the course records' and course assignments' foreign keys checked once per
statement (registrar.core.keys) instead of once per row at commit. Nothing on SQLite."""

from django.db import migrations

from registrar.core import keys

SPECS = [
    ("learning.CourseRecord", "user"),
    ("learning.CourseRecord", "course"),
    ("learning.CourseAssignment", "user"),
    ("learning.CourseAssignment", "course"),
    ("learning.CourseAssignment", "tutors"),
]


def forward(apps, schema_editor):
    keys.install(schema_editor, keys.keys_of(apps, SPECS))


def backward(apps, schema_editor):
    keys.uninstall(schema_editor, keys.keys_of(apps, SPECS))


class Migration(migrations.Migration):
    dependencies = [("learning", "0004_tutors_partial_index")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
