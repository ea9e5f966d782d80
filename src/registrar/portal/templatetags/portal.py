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


@register.filter
def first_sentence(text) -> str:
    """The opening sentence of a description (lists show it; the step's own page tells all)."""
    head, sep, _ = str(text).partition(". ")
    return head + "." if sep else str(text)
