"""The types of an action's parameters: each turns a value from JSON (the CLI's --params, the
API) or from a form (the portal's wizard: text) into a typed value, or raises ValueError with
the reason, which the engine reports as invalid_parameter naming the key."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from . import parsers, references
from .parsers import CellError

# The cells' yes and no (parsers), and what a form's checkbox or empty field sends.
TRUE, FALSE = (*parsers.YES, "on"), (*parsers.NO, "off", "")


@dataclass(frozen=True, kw_only=True)
class Type:
    """A parameter type: its widget in the wizard, and how a value is read."""

    widget: str = "text"  # text, textarea, boolean, date, datetime, number, choice, list
    choices: tuple[str, ...] = ()

    def parse(self, value):
        return value


@dataclass(frozen=True, kw_only=True)
class Boolean(Type):
    widget: str = "boolean"

    def parse(self, value):
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, str)) and str(value).strip().lower() in TRUE + FALSE:
            return str(value).strip().lower() in TRUE
        raise ValueError(f"expects true or false, not {value!r}")


def _cell(parse, value):
    if not isinstance(value, str):
        raise ValueError(f"expects text, not {value!r}")
    try:
        return parse(value.strip())
    except CellError as e:
        raise ValueError(_reason(e, value)) from None


def _reason(e: CellError, value) -> str:
    from .codes import CODES

    return CODES[e.code].format(column="", value=value, **e.params)


@dataclass(frozen=True, kw_only=True)
class Date(Type):
    widget: str = "date"

    def parse(self, value):
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return _cell(parsers.date_(), value)


@dataclass(frozen=True, kw_only=True)
class Moment(Type):
    widget: str = "datetime"

    def parse(self, value):
        if isinstance(value, datetime):
            return value
        return _cell(parsers.datetime_(), value)


@dataclass(frozen=True, kw_only=True)
class Text(Type):
    max_length: int = 255
    blank: bool = True

    def parse(self, value):
        if not isinstance(value, str):
            raise ValueError(f"expects text, not {value!r}")
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        value = value.strip() if self.widget != "textarea" else value
        if len(value) > self.max_length:
            raise ValueError(f"is longer than {self.max_length} characters")
        if not value and not self.blank:
            raise ValueError("is empty")
        return value


@dataclass(frozen=True, kw_only=True)
class Number(Type):
    widget: str = "number"
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    places: int = 2
    integer: bool = False

    def parse(self, value):
        if isinstance(value, bool):
            raise ValueError(f"expects a number, not {value!r}")
        if isinstance(value, (int, float)):
            value = str(value)
        n = _cell(parsers.integer() if self.integer else parsers.money(14, self.places), value)
        n = int(n) if self.integer else Decimal(n)
        if self.minimum is not None and n < self.minimum:
            raise ValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and n > self.maximum:
            raise ValueError(f"must be at most {self.maximum}")
        return n


@dataclass(frozen=True, kw_only=True)
class Choice(Type):
    """One of `mapping`'s keys (any case); the value is the mapping's."""

    widget: str = "choice"
    mapping: dict = field(default_factory=dict)

    def parse(self, value):
        if isinstance(value, str) and value.strip().lower() in self.mapping:
            return self.mapping[value.strip().lower()]
        raise ValueError(f"expects one of {', '.join(self.choices)}, not {value!r}")


def choice(mapping: dict, shown: tuple[str, ...] | None = None) -> Choice:
    return Choice(
        mapping={k.lower(): v for k, v in mapping.items()}, choices=shown or tuple(mapping)
    )


def _items(value) -> list[str]:
    """A list from JSON, or from a form's text (comma- or line-separated)."""
    if isinstance(value, str):
        value = [v for part in value.splitlines() for v in part.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expects a list of names, not {value!r}")
    items = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(items) > 1000:
        raise ValueError("names more than 1,000 items")
    return items


@dataclass(frozen=True, kw_only=True)
class Ref(Type):
    """Names of `type_` items (references.RULES), resolved once when the parameters are checked:
    the value is the list of the items found (or the one item when not `many`)."""

    type_: str = "course"
    many: bool = True
    extra: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "widget", "list" if self.many else "text")

    def parse(self, value):
        names = _items(value) if self.many else [Text(max_length=255, blank=False).parse(value)]
        if not names:
            raise ValueError("names nothing")
        found = references.find(self.type_, names, *self.extra)
        missing = [n for n in names if n not in found]
        if missing:
            raise ValueError(f"no {self.type_} is called {', '.join(map(repr, missing[:10]))}")
        items = list({found[n]["id"]: found[n] for n in names}.values())
        return items if self.many else items[0]


def courses(**kw) -> Ref:
    return Ref(type_="course", **kw)


def curricula(**kw) -> Ref:
    return Ref(type_="curriculum", **kw)


def names(type_: str, many: bool = True, **kw) -> Ref:
    return Ref(type_=type_, many=many, **kw)
