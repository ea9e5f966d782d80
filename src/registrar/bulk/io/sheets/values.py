"""Cell values as text, exactly as python-calamine 0.9 and the former readers._cell_text gave
them: Excel serial dates (1900 and 1904 systems), number formats that make a date, escapes."""

import math
import re
from datetime import date, datetime, time, timedelta

OTHER, DATETIME, TIMEDELTA = 0, 1, 2
MS_PER_DAY = 86_400_000
EPOCH = datetime(1899, 12, 30)
EPOCH_ORDINAL = EPOCH.toordinal()
# chrono's NaiveDate range (calamine's dates), as proleptic Gregorian ordinals; 400 years are
# 146,097 days, which brings both ends into Python's date range.
CHRONO_MIN = date(256, 1, 1).toordinal() - 146_097 * 656  # -262144-01-01
CHRONO_MAX = date(9743, 12, 31).toordinal() + 146_097 * 631  # 262143-12-31
PY_MAX = date.max.toordinal()
BUILTIN_FORMATS = {str(i): DATETIME for i in (*range(14, 23), 45, 47)} | {"46": TIMEDELTA}
_ESCAPE = re.compile(r"_x00([0-9A-Fa-f]{2})_")


def cell_text(v) -> str:
    """A calamine cell as text: integral floats as ints, dates ISO, booleans 1/0, trimmed."""
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, datetime):
        return (
            v.isoformat(sep="T")
            if (v.hour, v.minute, v.second) != (0, 0, 0)
            else v.date().isoformat()
        )
    if isinstance(v, (date, time)):
        return v.isoformat()
    if isinstance(v, timedelta):
        return str(int(v.total_seconds()))
    return str(v)


def number_text(f: float) -> str:
    return cell_text(f)


def _round_ms(x: float) -> int:
    """Rust's `f64::round() as i64`: half away from zero, saturating."""
    if math.isnan(x):
        return 0
    if math.isinf(x) or abs(x) >= 9.2e18:
        return (1 << 63) - 1 if x > 0 else -(1 << 63)
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return r if x >= 0 else -r


def serial_text(v: float, kind: int, is_1904: bool) -> str:
    """An Excel serial date, time or duration as python-calamine 0.9 and cell_text render it."""
    if kind == TIMEDELTA:
        ms = _round_ms(v * MS_PER_DAY)
        if abs(ms) // MS_PER_DAY > 999_999_999:  # beyond Python's timedelta
            return number_text(v)
        return str(int(ms / 1000))
    f = v + 1462.0 if is_1904 else v
    f = f if f >= 60.0 else f + 1.0  # Excel's phantom 1900-02-29
    days, ms = divmod(_round_ms(f * MS_PER_DAY), MS_PER_DAY)
    ordinal = EPOCH_ORDINAL + days
    if not CHRONO_MIN <= ordinal <= CHRONO_MAX:
        return number_text(v)
    if v < 1.0:
        return (datetime.min + timedelta(milliseconds=ms)).time().isoformat()
    if not 1 <= ordinal <= PY_MAX:  # calamine keeps years 1 to 9999
        return number_text(v)
    day = datetime.fromordinal(ordinal)
    if v.is_integer():
        return day.date().isoformat()
    return cell_text(day + timedelta(milliseconds=ms))


def iso_text(v: str) -> str:
    """A t="d" cell (an ISO 8601 text), as python-calamine converts it."""
    v = v.strip()
    try:
        if "T" in v:
            d = datetime.fromisoformat(v)
            return v if d.tzinfo else cell_text(d)
        if ":" in v:
            t = time.fromisoformat(v)
            return v if t.tzinfo else t.isoformat()
        return date.fromisoformat(v).isoformat()
    except ValueError:
        return v


def format_kind(code: str) -> int:
    """DATETIME, TIMEDELTA or OTHER for a custom number format (calamine's detection)."""
    escaped = is_quote = hms = ap = False
    brackets = 0
    prev = " "
    for s in code:
        if escaped:
            escaped = False
        elif s in "_\\*":  # the next character is a literal
            escaped = True
        elif is_quote:
            if s == '"':
                is_quote = False
        elif s == '"':
            is_quote = True
        elif s == ";":  # only the first section counts
            return OTHER
        elif s == "[":
            brackets = (brackets + 1) & 0xFF
        elif s == "]" and brackets == 1 and hms:
            return TIMEDELTA
        elif s == "]":
            brackets = max(0, brackets - 1)
        elif s in "aA" and not ap and brackets == 0:
            ap = True
        elif brackets == 0 and (s in "pm/PM" if ap else s in "dmhysDMHYS"):
            return DATETIME
        elif not (
            hms and (s == prev or (s.isascii() and prev.isascii() and s.lower() == prev.lower()))
        ):
            hms = prev == "[" and s in "mhsMHS"
        prev = s
    return OTHER


def _unescape(s: str) -> str:
    """OOXML's _x00HH_ escapes (a carriage return is _x000D_)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s) if "_x00" in s else s


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1
