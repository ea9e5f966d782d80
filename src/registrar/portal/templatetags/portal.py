"""Template filters of the portal."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def ticks(text) -> str:
    """`name` in the kinds' help texts (Markdown in docs/formats.md) as <code>name</code>."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(str(text))))
