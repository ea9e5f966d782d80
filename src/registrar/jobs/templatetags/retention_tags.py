"""Template tags on what the retention deleted: `{% load retention_tags %}`."""

from django import template

from registrar.jobs import retention

register = template.Library()


@register.simple_tag
def purged_files(op):
    """The record of the operation's purged files (purged_at, files, bytes), or None."""
    return retention.files_purged(op.pk) if op is not None and op.pk else None
