"""The Default list folder and the built-in administrator roles."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("directory", "ListFolder").objects.get_or_create(name="Default", parent=None)
    Role = apps.get_model("directory", "Role")
    Role.objects.get_or_create(name="Site administrator", defaults={"site_admin": True, "content_admin": True, "permissions": ["*"]})
    Role.objects.get_or_create(name="Content administrator", defaults={"content_admin": True, "permissions": ["catalogue.*"]})
    Role.objects.get_or_create(name="Organisation administrator", defaults={"permissions": ["directory.*", "learning.*", "bulk.import"]})


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
