"""Cell parsers: a trimmed, non-empty string in, a typed value out, or CellError with a code."""

import re
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, DecimalException

from django.utils import timezone


class CellError(Exception):
    """A cell's value is not acceptable: `code` and the message parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def text(max_length: int = 255):
    def parse(s: str) -> str:
        if len(s) > max_length:
            raise CellError("value_too_long", length=len(s), max=max_length)
        return s

    # The columnar lane (bulk.columnar): which cells of a column this parser takes as they are
    # (only a parser that returns the cell unchanged may have one; it may refuse more, never less).
    parse.vector = lambda cells: cells.str.len_chars() <= max_length
    return parse


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The same rule on printable ASCII only: every cell it accepts, _EMAIL accepts too (the others,
# rare, go the row path, where _EMAIL decides).
_EMAIL_ASCII = r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"


def email(s: str) -> str:
    if len(s) > 254 or not _EMAIL.match(s):
        raise CellError("invalid_email")
    return s


email.vector = lambda cells: (cells.str.len_chars() <= 254) & cells.str.contains(_EMAIL_ASCII)


# The order of day, month and year in a date such as 05/06/2024: the import's date_order option
# (bulk.sources.ENGINE_OPTIONS). ISO 8601 and YYYY/MM/DD are read whatever the order.
DATE_ORDERS = ("ymd", "dmy", "mdy")
# The order in force while an import's cells are parsed; None outside an import (an action's
# parameters, a selection, an export filter), which read ISO 8601 and YYYY/MM/DD only.
_ORDER: ContextVar[str | None] = ContextVar("date_order", default=None)
# DD/MM/YYYY, DD.MM.YYYY or DD-MM-YYYY (or month first), with an optional time HH:MM[:SS].
_DAY_FIRST = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)


@contextmanager
def date_order(order: str | None) -> Iterator[None]:
    """Read the dates of the cells parsed inside in this order (ymd, dmy or mdy)."""
    token = _ORDER.set(order)
    try:
        yield
    finally:
        _ORDER.reset(token)


def _parse_iso(s: str) -> datetime | date:
    """ISO 8601 or YYYY/MM/DD; a date alone stays a date."""
    t = s.replace("/", "-") if len(s) >= 10 and s[4] == "/" and s[7] == "/" else s
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if len(t) == 10:
        return date.fromisoformat(t)
    return datetime.fromisoformat(t)


def _parse_ordered(s: str, order: str) -> datetime | date:
    """A day-first (dmy) or month-first (mdy) date, with or without a time."""
    m = _DAY_FIRST.fullmatch(s)
    if m is None or order == "ymd":
        raise ValueError(s)
    a, _sep, b, year, hour, minute, second = m.groups()
    day, month = (a, b) if order == "dmy" else (b, a)
    d = date(int(year), int(month), int(day))
    if hour is None:
        return d
    return datetime.combine(d, time(int(hour), int(minute), int(second or 0)))


def _parse_datetime(s: str, order: str | None) -> datetime | date:
    try:
        return _parse_iso(s)
    except ValueError:
        if order in (None, "ymd"):
            raise
    return _parse_ordered(s, order)


def _orders_that_read(s: str, order: str) -> list[str]:
    """The other date orders under which `s` is a date: what invalid_date suggests."""
    out = []
    for other in DATE_ORDERS:
        if other == order:
            continue
        try:
            _parse_ordered(s, other)
        except ValueError:
            continue
        out.append(other)
    return out


# The calendar the platform stores: before 1900 is no learner's date, and near year 9999 a time
# zone conversion leaves the calendar (a database write or a page would fail on it).
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(9999, 12, 31)
MAX_MOMENT_DATE = date(9999, 12, 30)
DATE_RANGE = f" (dates run from {MIN_DATE} to {MAX_DATE})"
MOMENT_RANGE = f" (dates run from {MIN_DATE} to {MAX_MOMENT_DATE})"


class _Cached:
    """Dates repeat a lot in real files: remember the last few thousand parses (per date order:
    the same cell reads differently under another)."""

    def __init__(self, fn):
        self.fn, self.caches = fn, {}

    def __call__(self, s: str):
        order = _ORDER.get()
        try:
            return self.caches[order][s]
        except KeyError:
            pass
        value = self.fn(s)
        cache = self.caches.setdefault(order, {})
        if len(cache) > 50_000:
            cache.clear()
        cache[s] = value
        return value


def _invalid(s: str, detail: str = "") -> CellError:
    """invalid_date with the order expected and, in an import, the other orders that read `s`."""
    order = _ORDER.get()
    if order is None:  # not an import: no date_order option to suggest
        return CellError("invalid_date", detail=detail)
    suggest = "" if detail else " ".join(_orders_that_read(s, order))
    return CellError("invalid_date", detail=detail, order=order, suggest=suggest)


def _read_date(s: str) -> datetime | date:
    try:
        return _parse_datetime(s, _ORDER.get())
    except ValueError:
        raise _invalid(s) from None


_SURELY_PAST = [date.min]  # a day before today in every time zone


def _not_after_today(v: date) -> bool:
    """v <= today in the current time zone. Every zone's today is at least the UTC day before
    today's, and days only pass: a date before that needs neither the zone nor the clock."""
    if v < _SURELY_PAST[0]:
        return True
    _SURELY_PAST[0] = datetime.now(UTC).date() - timedelta(days=1)
    return v <= timezone.localdate()


def date_(past: bool = False):
    """A calendar date; a date with a time keeps its date part (in the platform's time zone)."""

    def parse(s: str) -> date:
        v = _read_date(s)
        if isinstance(v, datetime):
            try:
                v = (timezone.localtime(v) if v.tzinfo else v).date()
            except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 here
                raise _invalid(s, DATE_RANGE) from None
        if not MIN_DATE <= v <= MAX_DATE:
            raise _invalid(s, DATE_RANGE)
        if past and not _not_after_today(v):
            raise CellError("future_date")
        return v

    cached = _Cached(parse)
    cached.vector_values = lambda cells: _days(cells, past)
    return cached


def _days(cells, past: bool):
    """date_ over a column (the columnar lane): (values, accepted) where the cell is a plain day
    (YYYY-MM-DD or YYYY/MM/DD, ASCII digits) that reads as a date in range, and not after today
    when `past`. Any other cell is left to the scalar parser."""
    import polars as pl  # only the columnar lane pays for loading it

    c = pl.col("c")
    day = c.str.replace_all("/", "-").str.to_date("%Y-%m-%d", strict=False)
    v = pl.DataFrame({"c": cells}).select(pl.when(c.str.contains(_DAY_CELL)).then(day))["c"]
    ok = v.is_not_null() & (v >= MIN_DATE) & (v <= MAX_DATE)
    if past:
        ok = ok & (v <= timezone.localdate())
    ok = ok.fill_null(False)
    return pl.select(pl.when(ok).then(v)).to_series().to_list(), ok


# The cells datetime_'s vector form reads (ASCII digits, fields in range): a day, or a day and a
# time to the second with or without an offset. Any other form takes the scalar parser.
_DAY_CELL = r"^[0-9]{4}(-[0-9]{2}-|/[0-9]{2}/)[0-9]{2}$"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
_MOMENT_CELL = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_TIME}$"
_OFFSET_CELL = rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}{_TIME}(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"


def _moments(cells, past: bool):
    """datetime_ over a column (the columnar lane): (values, accepted) where the cell has one of
    the plain forms and reads as the scalar parser reads it: a naive time in the platform's
    zone (an ambiguous one the earlier, as make_aware; one in a gap is left to the scalar
    parser), in range, and not in the future when `past`. Values are UTC."""
    import polars as pl  # only the columnar lane pays for loading it

    zone = timezone.get_current_timezone_name()
    c = pl.col("c")
    day = c.str.replace_all("/", "-").str.to_date("%Y-%m-%d", strict=False)
    local = (
        pl.when(c.str.contains(_DAY_CELL))
        .then(day.cast(pl.Datetime("us")))
        .when(c.str.contains(_MOMENT_CELL))
        .then(c.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False))
    )
    offset = c.str.replace(r"Z$", "+00:00").str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%z", strict=False, time_zone="UTC"
    )
    frame = pl.DataFrame({"c": cells}).with_columns(
        local=local.dt.replace_time_zone(
            zone, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC"),
        offset=pl.when(c.str.contains(_OFFSET_CELL)).then(offset),
    )
    v = frame.select(pl.coalesce("local", "offset").alias("v"))["v"]
    days = (v.dt.date(), v.dt.convert_time_zone(zone).dt.date())
    ok = v.is_not_null()
    for d in days:
        ok = ok & (d >= MIN_DATE) & (d <= MAX_MOMENT_DATE)
    if past:
        ok = ok & (v <= timezone.now())
    ok = ok.fill_null(False)
    # Only the accepted values become Python's: one outside its calendar would not.
    return _python_moments(pl.select(pl.when(ok).then(v)).to_series()), ok


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _python_moments(v) -> list:
    """A column of UTC moments as Python's (None for null), each distinct moment made once: a
    file's dates repeat, and making each cell's costs more than reading the column."""
    import polars as pl

    frame = pl.DataFrame({"us": v.dt.epoch("us")}).with_columns(
        k=pl.col("us").rank("dense").cast(pl.Int64) - 1
    )
    made = [_EPOCH + timedelta(microseconds=us) for us in frame["us"].drop_nulls().unique().sort()]
    return [None if k is None else made[k] for k in frame["k"].to_list()]


def datetime_(past: bool = False):
    """A moment, in UTC; a date alone is midnight, and no zone means the platform's time zone."""

    def parse(s: str) -> datetime:
        v = _read_date(s)
        if not isinstance(v, datetime):
            v = datetime.combine(v, time.min)
        try:
            if v.tzinfo is None:
                v = timezone.make_aware(v)
            days = (v.astimezone(UTC).date(), timezone.localtime(v).date())
        except (OverflowError, ValueError):
            raise _invalid(s, MOMENT_RANGE) from None
        if not all(MIN_DATE <= d <= MAX_MOMENT_DATE for d in days):
            raise _invalid(s, MOMENT_RANGE)
        if past and v > timezone.now():
            raise CellError("future_date")
        # In UTC, as the database gives moments back: Python never finds a time of a repeated
        # hour (02:30 on an autumn night in Paris) equal to one in another zone.
        return v.astimezone(UTC)

    cached = _Cached(parse)
    cached.vector_values = lambda cells: _moments(cells, past)
    return cached


def choice(mapping: dict[str, object], shown: str | None = None):
    """One of a fixed set, matched case-insensitively; `mapping` also holds the aliases."""
    norm = {k.lower(): v for k, v in mapping.items()}
    allowed = shown or ", ".join(mapping)

    def parse(s: str):
        try:
            return norm[s.lower()]
        except KeyError:
            raise CellError("invalid_choice", choices=allowed) from None

    return parse


YES = ("1", "y", "yes", "true", "oui", "o", "x")
NO = ("0", "n", "no", "false", "non")
flag = choice({**dict.fromkeys(YES, True), **dict.fromkeys(NO, False)}, shown="1, 0, yes, no")


# A plain number: ASCII digits, one decimal mark (point or comma), an exponent of at most three
# digits. Python's own parsers also take 1_000, other scripts' digits and 1E+999999999.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_GROUPING = str.maketrans({",": ".", " ": None, "\u00a0": None, "\u202f": None})


def _number(s: str, detail: str = "") -> Decimal:
    t = s.translate(_GROUPING)
    if not _NUMBER.fullmatch(t):
        raise CellError("invalid_number", detail=detail)
    try:
        return Decimal(t)
    except DecimalException:
        raise CellError("invalid_number", detail=detail) from None


def _bounded(v, min_value, max_value):
    if (min_value is not None and v < min_value) or (max_value is not None and v > max_value):
        if max_value is None:
            raise CellError("invalid_number", detail=f" of at least {min_value}")
        if min_value is None:
            raise CellError("invalid_number", detail=f" of at most {max_value}")
        raise CellError("invalid_number", detail=f" between {min_value} and {max_value}")
    return v


def decimal_(min_value: float | None = None, max_value: float | None = None):
    def parse(s: str) -> Decimal:
        return _bounded(_number(s), min_value, max_value)

    return parse


def money(max_digits: int, places: int = 2):
    """A non-negative amount that the database column stores exactly (a re-import is unchanged)."""
    base = decimal_(0)
    detail = f" with at most {max_digits - places} digits before the point and {places} after"

    def parse(s: str):
        v = base(s)
        try:
            too_fine = v.normalize().as_tuple().exponent < -places
        except DecimalException:
            too_fine = True
        if too_fine or v >= 10 ** (max_digits - places):
            raise CellError("invalid_number", detail=detail)
        return v

    return parse


def integer(min_value: int | None = None, max_value: int | None = None):
    whole = " (a whole number)"

    def parse(s: str) -> int:
        v = _number(s, whole)
        try:
            if v != v.to_integral_value():
                raise CellError("invalid_number", detail=whole)
            v = int(v)
        except (DecimalException, ValueError, OverflowError):
            raise CellError("invalid_number", detail=whole) from None
        return _bounded(v, min_value, max_value)

    return parse


def multi(item=None, sep: str = "||"):
    """A list cell such as `A||B`; each item parsed by `item` (text by default)."""
    item = item or text(150)

    def parse(s: str) -> list:
        return [item(p.strip()) for p in s.split(sep) if p.strip()]

    return parse


def uuid_(s: str) -> uuidlib.UUID:
    try:
        return uuidlib.UUID(s)
    except ValueError:
        raise CellError("invalid_identifier", detail=" (a UUID)") from None


_CULTURE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


def culture(s: str) -> str:
    if not _CULTURE.match(s):
        raise CellError("invalid_choice", choices="a language tag such as en-GB, fr-FR, es-ES")
    return s


class Items(list):
    """A compound cell's parsed items: a list of tuples that prints readably (the preview)."""

    def __str__(self) -> str:
        return "; ".join(" | ".join(str(x) for x in item) for item in self)


def compound(item_parsers, sep: str = "$", field_sep: str = "|", shown: str | None = None):
    """A cell of items such as `A|B|C$D|E|F`: items split on `sep`, each item's fields on
    `field_sep` and parsed by the matching parser of `item_parsers`. Returns a list of tuples.

    An item with the wrong number of fields, or an empty field, is `invalid_format`; a field
    its parser refuses raises that parser's code (invalid_date...). Empty items are ignored.
    """
    n = len(item_parsers)
    fmt = shown or sep.join([field_sep.join(f"F{i}" for i in range(1, n + 1))] * 2)

    def parse(s: str) -> list[tuple]:
        out = Items()
        for i, item in enumerate(s.split(sep), 1):
            item = item.strip()
            if not item:
                continue
            fields = [f.strip() for f in item.split(field_sep)]
            if len(fields) != n or not all(fields):
                detail = (
                    f" (item {i}, {item!r}, needs {n} non-empty fields separated by {field_sep})"
                )
                raise CellError("invalid_format", format=fmt, detail=detail)
            out.append(tuple(p(f) for p, f in zip(item_parsers, fields, strict=True)))
        return out

    return parse
