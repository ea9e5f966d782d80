"""The portal's users list (issue 12): users in name order, the disabled ones last, a page at a
time, without sorting the whole table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("directory", "0003_user_fillfactor"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                fields=["disabled", "last_name", "first_name", "login"], name="user_name_order"
            ),
        ),
    ]
