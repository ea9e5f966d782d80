"""Mail templates in Django's template language, sandboxed (SPEC §2.13, §5 Mail).

A dedicated Engine knows only a few tags and filters (no loaders, nothing to `{% load %}`, no
autoescaping: mails are plain text). A template may name only the fields of FIELDS, and is
rendered against plain dicts built from them, so it can reach nothing else: no model instance, no
method, no setting. `fields_of` lists what a template uses by walking its compiled nodes; `check`
refuses a template that uses a field an operation cannot fill, naming it.
"""

import functools
import re
from datetime import date, datetime
from decimal import Decimal

from django.template import (
    Context,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import (
    FilterExpression,
    TextNode,
    Variable,
    VariableNode,
    render_value_in_context,
)
from django.template.defaulttags import (
    CommentNode,
    FirstOfNode,
    IfNode,
    TemplateLiteral,
    TemplateTagNode,
    VerbatimNode,
)
from django.template.engine import Engine
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# Every field a template may name, with what it holds (the docs list them from here).
FIELDS = {
    "user.first_name": _("the user's first name"),
    "user.last_name": _("the user's last name"),
    "user.login": _("the user's login"),
    "user.email": _("the user's email address"),
    "course.title": _("the course's title"),
    "course.code": _("the course's code"),
    "curriculum.title": _("the curriculum's title"),
    "curriculum.code": _("the curriculum's code"),
    "assignment.start_date": _("the assignment's start date"),
    "assignment.target_date": _("the assignment's target date"),
    "assignment.end_date": _("the assignment's end date"),
    "portal_url": _("the address of the portal"),
    # The unenrolments import: the activity is a course or a classroom session.
    "activity.title": _("the activity's title (a session: its course's title and start)"),
    "activity.type": _("course or classroom session"),
    "activity.ref": _("the activity's external reference"),
    "session.extid": _("the classroom session's external id"),
    "session.start": _("the classroom session's start"),
    # The welcome mail of the users import (body only): made when the mail is sent.
    "password_link": _("a link to choose a password (welcome mail, body only)"),
}
KNOWN = frozenset(FIELDS)
# A link goes into a body only (registrar.notify.password_links fills bodies).
SUBJECT_FIELDS = KNOWN - {"password_link"}
# Names Django's context always holds: harmless literals, used in conditions.
CONSTANTS = frozenset({"True", "False", "None"})

# The tags and filters a template may use; everything else is unknown to the parser.
TAGS = ("if", "firstof", "comment", "verbatim", "templatetag")
FILTERS = (
    "default",
    "default_if_none",
    "upper",
    "lower",
    "title",
    "capfirst",
    "date",
    "time",
    "truncatechars",
    "truncatewords",
    "yesno",
)
register = Library()
for _name in TAGS:
    register.tag(_name, defaulttags.register.tags[_name])
for _name in FILTERS:
    register.filter(_name, defaultfilters.register.filters[_name])


def fields(*groups: str) -> frozenset[str]:
    """The fields of the named groups (`user`, `course`, `curriculum`, `assignment`,
    `activity`, `session`), plus portal_url, which every mail can fill: an operation's
    `available` set."""
    wanted = {f"{g}." for g in groups}
    return frozenset({"portal_url", *(f for f in KNOWN if any(f.startswith(w) for w in wanted))})


class TemplateError(ValueError):
    """A template the operation cannot use: `field` names the field it cannot fill, the tag or
    filter it may not use, or what is wrong with its syntax; `template` is its code."""

    def __init__(self, field: str, template: str = ""):
        super().__init__(field)
        self.field = field
        self.template = template


class _SandboxEngine(Engine):
    """An engine without Django's default tags and filters: only this module's `register`."""

    default_builtins: list[str] = []


@functools.cache
def _engine() -> Engine:
    # Built on first use: the engine imports this module for its `register`.
    return _SandboxEngine(
        builtins=[__name__],
        libraries={},
        loaders=[],
        autoescape=False,
        debug=False,
        string_if_invalid="",
    )


_BAD_TAG = re.compile(r"Invalid block tag on line \d+: '([^']*)'")
_BAD_FILTER = re.compile(r"Invalid filter: '([^']*)'")


def _refusal(e: TemplateSyntaxError) -> str:
    """A short name for what the parser refused: `{% load %}`, `|escape`, or its message."""
    text = str(e)
    if m := _BAD_TAG.search(text):
        return "{% " + m.group(1) + " %}"
    if m := _BAD_FILTER.search(text):
        return f"|{m.group(1)}"
    return text.split("\n", 1)[0][:200]


class Compiled:
    """A compiled template: Django's Template, the fields it names, and for a template of text
    and plain `{{ field }}`s (the common case) the parts that render it without Django's
    machinery, ten times faster: a bulk action renders a mail per user."""

    __slots__ = ("template", "names", "unknown", "parts")

    def __init__(self, template: Template, names: frozenset[str]):
        self.template, self.names = template, names
        self.unknown = sorted(names - KNOWN)
        self.parts = _parts(template.nodelist)

    def render(self, values: dict, language: str | None = None) -> str:
        """The template filled from `values` (see context_of); TemplateError when it names an
        unknown field. Dates are formatted in `language` (the active one when None)."""
        if self.unknown:
            raise TemplateError(self.unknown[0])
        if self.parts is not None:
            out = []
            for part in self.parts:
                if part.__class__ is str:
                    out.append(part)
                    continue
                group, leaf = part
                value = values.get(group)
                if leaf is not None:
                    value = value.get(leaf) if isinstance(value, dict) else None
                if value is None:
                    continue
                if value.__class__ is not str:  # a date or a number: as Django writes it
                    try:
                        value = _formatted(value, language or translation.get_language())
                    except TypeError:  # not hashable: not a plain value, Django renders it
                        break
                out.append(value)
            else:
                return "".join(out)
        ctx = Context(context_of(values), autoescape=False)
        if language is None:
            return self.template.render(ctx)
        with translation.override(language):
            return self.template.render(ctx)


@functools.lru_cache(maxsize=4096)
def _formatted(value, language: str | None) -> str:
    """A date, time or number as a template writes it in `language` (cached: a bulk action's
    mails carry the same few dates)."""
    ctx = Context(autoescape=False)
    if language is None:
        return render_value_in_context(value, ctx)
    with translation.override(language):
        return render_value_in_context(value, ctx)


def _parts(nodelist) -> list | None:
    """Text and (group, leaf) lookups, when the template has nothing else; else None."""
    parts: list = []
    for node in nodelist:
        if isinstance(node, TextNode):
            parts.append(node.s)
            continue
        if not isinstance(node, VariableNode):
            return None
        expression = node.filter_expression
        var = expression.var
        if expression.filters or not isinstance(var, Variable) or var.lookups is None:
            return None
        if var.translate or len(var.lookups) > 2 or ".".join(var.lookups) not in KNOWN:
            return None
        parts.append((var.lookups[0], var.lookups[1] if len(var.lookups) == 2 else None))
    return parts


@functools.lru_cache(maxsize=512)
def compiled(text: str) -> Compiled:
    """The template compiled once (cached); TemplateError when it cannot be used."""
    try:
        template = Template(text, engine=_engine())
    except TemplateSyntaxError as e:
        raise TemplateError(_refusal(e)) from None
    names: set[str] = set()
    _walk(template.nodelist, names)
    return Compiled(template, frozenset(names))


def _walk(nodelist, names: set[str]) -> None:
    for node in nodelist:
        if isinstance(node, (TextNode, CommentNode, VerbatimNode, TemplateTagNode)):
            continue
        if isinstance(node, VariableNode):
            _expression(node.filter_expression, names)
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                if condition is not None:
                    _condition(condition, names)
                _walk(body, names)
        elif isinstance(node, FirstOfNode):
            if node.asvar:  # a name of its own would be a field nobody declared
                raise TemplateError("{% firstof … as %}")
            for expression in node.vars:
                _expression(expression, names)
        else:  # only the whitelisted tags parse; anything else is a surprise: refused
            raise TemplateError(type(node).__name__)


def _condition(cond, names: set[str]) -> None:
    """The operands of an {% if %} condition (smartif's operator tree)."""
    if isinstance(cond, TemplateLiteral):
        _expression(cond.value, names)
        return
    for part in (getattr(cond, "first", None), getattr(cond, "second", None)):
        if part is not None:
            _condition(part, names)


def _expression(expression: FilterExpression, names: set[str]) -> None:
    _variable(expression.var, names)
    for _func, args in expression.filters:
        for lookup, arg in args:
            if lookup:
                _variable(arg, names)


def _variable(var, names: set[str]) -> None:
    if isinstance(var, Variable) and var.lookups is not None:
        name = ".".join(var.lookups)
        if name not in CONSTANTS:
            names.add(name)


def fields_of(text: str) -> set[str]:
    """The dotted field names a template uses (known or not); TemplateError when it does not
    parse or uses a tag or filter outside the whitelist."""
    return set(compiled(text).names)


def check(template_code: str, texts, available) -> None:
    """Refuse texts that cannot be compiled or that use a field outside `available` (SPEC
    §2.13): TemplateError naming the first such field, in alphabetical order."""
    for text in texts:
        try:
            used = compiled(text).names
        except TemplateError as e:
            raise TemplateError(e.field, template_code) from None
        for name in sorted(used):
            if name not in available:
                raise TemplateError(name, template_code)


def _plain(value):
    """A context value that cannot be called: text, numbers and dates as they are."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float, Decimal, date, datetime)):
        return value
    return str(value)


def context_of(values: dict) -> dict:
    """Only the known fields of `values` ({"user": {...}, "course": {...}, "portal_url": ...}),
    as plain dicts of plain values: what a template is rendered against."""
    out: dict = {}
    for name in KNOWN:
        group, dot, leaf = name.partition(".")
        if not dot:
            if group in values:
                out[group] = _plain(values[group])
            continue
        part = values.get(group)
        if isinstance(part, dict) and leaf in part:
            out.setdefault(group, {})[leaf] = _plain(part[leaf])
    return out


def render(text: str, context: dict, language: str | None = None) -> str:
    """The template filled from `context` ({"user": {...}, "course": {...}, "portal_url": ...}:
    only the known fields are read, as plain values), dates in `language`'s format. A template
    naming an unknown field is refused (TemplateError); a known field without a value is empty."""
    return compiled(text).render(context, language)
