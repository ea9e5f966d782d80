"""The preview (SPEC §2.2): how the first rows of a file are read, column by column, the file's
real format, and how many data rows it holds, counted by streaming the rest of the file (never
holding it), exactly unless that takes longer than COUNT_SECONDS (then estimated from the share
of the file read)."""

from datetime import date, datetime
from decimal import Decimal
from time import monotonic

from django.utils import timezone
from django.utils.translation import gettext as _

from . import parsers
from .io.readers import FileError
from .parsers import CellError, Items

PREVIEW_ROWS = 5  # the data rows shown
COUNT_SECONDS = 3.0  # past this, the row count is estimated (the page must come back)
CHECK_EVERY = 2048  # rows counted between two looks at the clock
CSV_ONLY = ("delimiter", "encoding")  # options that mean nothing for a spreadsheet
SECRET = "••••••"


def format_label(fmt: str) -> str:
    """A file format as people call it."""
    return {
        "csv": _("CSV text"),
        "xlsx": _("Excel workbook (.xlsx)"),
        "xls": _("Excel 97-2003 workbook (.xls)"),
        "ods": _("OpenDocument spreadsheet (.ods)"),
    }.get(fmt, fmt)


def readable(value) -> str:
    """A parsed value as a person reads it: lists as the file writes them (A||B), yes/no in the
    reader's language, dates and times in ISO 8601, numbers without exponent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime) and value.tzinfo is not None:
        return timezone.localtime(value).isoformat()  # moments are parsed in UTC
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Items):  # a compound cell: A|B|C$D|E|F
        return "$".join("|".join(readable(x) for x in item) for item in value)
    if isinstance(value, tuple):  # one item of a list: Role:Org, TYPE:AMOUNT
        return ":".join(readable(x) for x in value if x is not None)
    if isinstance(value, (list, set, frozenset)):
        return "||".join(readable(x) for x in value)
    return str(value)


def _read(c, raw: str, options: dict) -> tuple[str, str | None, list[str]]:
    """One cell: its status, what it is read as, and the date orders that would read it."""
    if not raw:
        return ("missing_value" if c.required else "empty"), None, []
    try:
        with parsers.date_order(options["date_order"]):
            v = c.parse(raw)
    except CellError as e:
        return e.code, None, e.params.get("suggest", "").split()
    return "ok", SECRET if c.secret else readable(v), []


def count_rest(table, rows, seen: int, budget: float | None = None) -> tuple[int, bool]:
    """The data rows of the file: `seen` already read, the rest of `rows` (the table's stream)
    counted. Returns (count, exact); past `budget` seconds, estimated from the share read."""
    budget = COUNT_SECONDS if budget is None else budget
    deadline = monotonic() + budget
    n = seen
    for _row in rows:
        n += 1
        if n % CHECK_EVERY == 0 and monotonic() > deadline:
            share = table.fraction()
            return (max(n, round(n / share)) if share else n), False
    return n, True


def columns(kind, mapping, sample, options) -> tuple[list[dict], list[str]]:
    """Each kind column with its header and, for every sampled row, the cell as given, what it
    is read as and its status; the first row's also at the column's top (value, parsed,
    status). And the date orders that would read the dates refused."""
    out, suggested = [], []
    for c in kind.columns:
        pos = mapping.positions.get(c.name)
        cells = []
        for _number, row in sample:
            raw = row[pos] if pos is not None and pos < len(row) else ""
            if pos is None:
                status = "missing_column" if c.name in mapping.missing else "absent"
                parsed = None
            else:
                status, parsed, orders = _read(c, raw, options)
                suggested += orders
            cells.append({"value": SECRET if c.secret and raw else raw, "status": status})
            if parsed is not None:
                cells[-1]["parsed"] = parsed
        entry = {
            "column": c.name,
            "header": mapping.headers[pos] if pos is not None and options["header"] else None,
            "required": c.required,
            **cells[0],
            "values": [x["value"] for x in cells],
            "cells": cells,
        }
        out.append(entry)
    return out, list(dict.fromkeys(suggested))


def preview(kind_name: str, path: str, raw_options: dict | None = None, count: bool = True):
    """How the first PREVIEW_ROWS data rows are read, the format, and the row count."""
    from .registry import get_kind
    from .sources import open_input, parse_options

    kind = get_kind(kind_name)
    options = parse_options(kind, raw_options or {})
    kind.check_options(options)
    table, mapping = open_input(path, kind, options, allow_missing=True)
    try:
        rows = table.rows()
        sample = [row for _, row in zip(range(PREVIEW_ROWS), rows, strict=False)]  # range first
        if not sample:
            raise FileError("empty_file")
        total, exact = count_rest(table, rows, len(sample)) if count else (None, False)
    finally:
        table.close()
    cols, suggested = columns(kind, mapping, sample, options)
    csv = table.format == "csv"
    return {
        "kind": kind.name,
        "row": sample[0][0],
        "rows": [number for number, _ in sample],
        "columns": cols,
        "unknown_columns": mapping.unknown,
        "missing_columns": mapping.missing,
        "absent_columns": [c["column"] for c in cols if c["status"] == "absent"],
        "refused": bool(mapping.missing),
        "format": table.format,
        "format_label": format_label(table.format),
        "delimiter": table.delimiter if csv else None,
        "encoding": table.encoding if csv else None,
        "delimiter_shown": ("tab" if table.delimiter == "\t" else table.delimiter) if csv else None,
        "header": bool(options["header"]),
        "date_order": options["date_order"],
        "date_order_suggested": suggested,
        "total_rows": total,
        "total_exact": exact,
    }
