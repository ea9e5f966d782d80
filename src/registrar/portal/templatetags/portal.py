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


@register.filter
def num(value) -> str:
    """A count with the reader's thousands separator (10,216; 10 216 in French)."""
    from django.utils.formats import number_format

    try:
        return number_format(int(value), force_grouping=True)
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def actor(label) -> str:
    """Who ran an operation, as stored; the command line's mark in the reader's language."""
    from django.utils.translation import gettext

    return gettext("command line") if label == "command line" else label


@register.filter
def cell(value):
    """A value of a table row as a reader reads it: yes/no in their language, nothing for none."""
    from django.utils.translation import pgettext

    if value is True:
        return pgettext("option value", "yes")
    if value is False:
        return pgettext("option value", "no")
    return "" if value is None else value


@register.filter
def yes_no(value) -> str:
    """An option's yes/no default in the reader's language (other values as they are)."""
    from django.utils.translation import pgettext

    if value == "yes":
        return pgettext("option value", "yes")
    if value == "no":
        return pgettext("option value", "no")
    return value
