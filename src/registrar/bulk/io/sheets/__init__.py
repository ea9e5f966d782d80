"""Spreadsheets read in a child process that cannot take the caller down.

The parent (`ChildReader`, used by readers.SheetTable) checks cheap bounds first (the zip's
central directory, the first sheet's declared dimension), then runs `main` in a fresh Python
that imports no Django, sets its own memory and CPU limits, and streams the first sheet's rows
back over a pipe. An .xlsx is read by streaming its sheet XML (never the whole grid); .xls and
.ods go through python-calamine inside the child. A child stopped by its limits becomes a
`Refusal("file_too_large", ...)` naming the limit and its setting.

Pipe protocol, child to parent: batches, each `<length>\\n` then that many bytes of UTF-8 CSV.
A record is `<row number>,<cell>,...` (non-blank rows, cells trimmed) or a control record:
`!p,<fraction read>`, `!n,<last row number>`, `!m,<peak RSS in KiB>`, `!e,<code>,<reason>`.
A batch cut short by a dying child is discarded whole.
"""

# Names are imported on first use (PEP 562): the child, which imports .child, then loads
# neither the parent's side (subprocess, tempfile, logging) nor anything it does not need.
_WHERE = {
    "Limits": "limits",
    "Refusal": "limits",
    "ChildReader": "reader",
    "DATETIME": "values",
    "OTHER": "values",
    "TIMEDELTA": "values",
    "cell_text": "values",
    "format_kind": "values",
    "serial_text": "values",
    "check_file": "xlsx",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
