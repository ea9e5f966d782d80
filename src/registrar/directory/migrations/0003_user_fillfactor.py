"""PostgreSQL: leave room in the users table's pages, so that a bulk change of columns no index
covers (custom fields, dates) is a heap-only update instead of one entry in each of its nine
indexes per row. Rows written from now on get the room; `VACUUM FULL directory_user` gives it to
the rows already there. SQLite has no such setting."""

from django.db import migrations


def set_fillfactor(apps, schema_editor, value=50):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE directory_user SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE directory_user RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_defaults")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
