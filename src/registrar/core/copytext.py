"""PostgreSQL COPY's text format: values and whole columns formatted by Python at once, which
costs a fraction of psycopg's adaptation row by row."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal


def text(value) -> str | None:
    """A value as COPY's text format writes it, or None when only psycopg knows how."""
    if isinstance(value, enum.Enum):  # a model's choices (CourseStatus.COMPLETED...): its value
        value = value.value
    t = type(value)
    if value is None:
        return "\\N"
    if t is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if t is bool:
        return "t" if value else "f"
    if t is int or t is Decimal or t is uuid.UUID:
        return str(value)
    if t is datetime or t is date:
        return value.isoformat()
    if t is float:
        return repr(value)
    return None


def text_column(values: list) -> list[str] | None:
    """A column as COPY text, each distinct value formatted once; None if a value has no text
    form here (psycopg's own adapters then write the rows)."""
    seen: dict = {}
    out = []
    for v in values:
        try:
            out.append(seen[v])
            continue
        except (KeyError, TypeError):
            pass
        t = text(v)
        if t is None:
            return None
        try:
            seen[v] = t
        except TypeError:
            return None
        out.append(t)
    return out


def copy_columns(cursor, table: str, names: list[str], columns: list[list]) -> bool:
    """COPY rows given column by column into `table` on a psycopg cursor; False (nothing
    written) when a value has no text form here, for the caller to copy row by row."""
    texts = []
    for col in columns:
        t = text_column(col)
        if t is None:
            return False
        texts.append(t)
    cols = ", ".join(f'"{c}"' for c in names)
    with cursor.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
        lines = ["\t".join(r) for r in zip(*texts, strict=True)]
        for i in range(0, len(lines), 10_000):
            copy.write("\n".join(lines[i : i + 10_000]) + "\n")
    return True
