# Mail templates per culture, in Django's template language; outbox retries (issue 12, mail).
#
# A template existed once per code: it served every user, whatever its `language` said, so each
# becomes the default template of its code (culture ""). Bodies and subjects written for the old
# `{field}` syntax (the unenrolment template was the only one read) are rewritten in Django's
# syntax with the same meaning.

import re
import string

from django.db import migrations, models

# The unenrolment template's old fields and their new names.
OLD_FIELDS = {
    "first_name": "user.first_name",
    "last_name": "user.last_name",
    "login": "user.login",
    "email": "user.email",
    "activity": "activity.title",
    "activity_type": "activity.type",
    "activity_ref": "activity.ref",
    "course": "course.title",
    "session": "session.extid",
    "session_start": "session.start",
}
DJANGO = re.compile(r"\{%|\{#|\{\{\s*[A-Za-z_]+\.[A-Za-z_]")
BRACES = {"{": "{% templatetag openbrace %}", "}": "{% templatetag closebrace %}"}


def from_format_syntax(text: str) -> str:
    """`Dear {first_name}, {{x}}` -> `Dear {{ user.first_name }}, {% templatetag … %}x…`; text
    without an old field, that does not parse as the old syntax, or that reads as Django's
    already (a tag, a comment, a dotted field), is left as it is."""
    if DJANGO.search(text):
        return text
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        return text
    if not any(name for _, name, _, _ in parts):
        return text
    out = []
    for literal, name, _spec, _conversion in parts:
        # Every literal brace becomes a tag of its own, so none can start a Django token.
        out.append("".join(BRACES.get(ch, ch) for ch in literal))
        if name is not None:
            out.append("{{ " + OLD_FIELDS.get(name, name) + " }}")
    return "".join(out)


def convert(apps, schema_editor):
    MailTemplate = apps.get_model("notify", "MailTemplate")
    for t in MailTemplate.objects.all():
        subject, body = from_format_syntax(t.subject), from_format_syntax(t.body)
        if (subject, body) != (t.subject, t.body):
            MailTemplate.objects.filter(pk=t.pk).update(subject=subject[:255], body=body)


class Migration(migrations.Migration):
    dependencies = [("notify", "0100_calendar_feed")]

    operations = [
        migrations.AddField(
            model_name="mailtemplate",
            name="culture",
            field=models.CharField(blank=True, default="", max_length=10),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
        migrations.RemoveField(model_name="mailtemplate", name="language"),
        migrations.AlterField(
            model_name="mailtemplate",
            name="code",
            field=models.CharField(max_length=100),
        ),
        migrations.AddConstraint(
            model_name="mailtemplate",
            constraint=models.UniqueConstraint(
                fields=("code", "culture"), name="mailtemplate_code_culture"
            ),
        ),
        migrations.AddField(
            model_name="outboxmail",
            name="attempts",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="outboxmail",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="outboxmail",
            index=models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
        ),
    ]
