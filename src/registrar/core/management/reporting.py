"""What the bulk commands print: progress on standard error, the preview and the summary."""

import json
import re
import time
from collections import Counter

from django.core.management.base import CommandError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registrar.bulk.codes import CODES

PLAIN_EVERY = 10.0  # seconds between two progress lines when standard error is not a terminal


class Progress:
    """Progress of the long commands (import, act, demo) on standard error: on a terminal one
    line updated in place (rows, percent, rate, time left); elsewhere (a log, a pipe) a plain
    line every PLAIN_EVERY seconds, so that a short run prints nothing and a long one a few lines.
    Called as the engine's progress(done, total, fraction, elapsed)."""

    def __init__(self, stream, label: str = "", tty: bool | None = None):
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.last = 0.0 if self.tty else time.monotonic()
        self.printed = False  # a line was written: the final one is written too
        self.open = False  # on a terminal: a line in place, not ended yet
        self.ended = False  # on a terminal: the last line written was a final one, ended
        self.last_done = None

    def __call__(self, done, total, fraction, elapsed) -> None:
        now = time.monotonic()
        # A reader may say 1.0 before the last batch: the engine's own last call says it again.
        final = fraction == 1.0
        due = now - self.last >= (0.2 if self.tty else PLAIN_EVERY)
        if not due and not (final and self.printed):
            return
        if final and self.last_done == done and (self.ended or not self.tty):
            return
        self.last, self.printed, self.last_done = now, True, done
        rate = done / elapsed if elapsed > 0 else 0
        pct = f"{fraction * 100:5.1f}%" if fraction is not None else "  ?  "
        left = f"{elapsed / fraction - elapsed:5.0f}s left" if fraction else ""
        label = f"{self.label} " if self.label else ""
        line = f"{label}{pct} {done:>10,} rows  {rate:>9,.0f} rows/s  {left}".rstrip()
        if self.tty:
            up = "\033[F" if self.ended else ""  # back onto the final line written too early
            self.stream.write(f"{up}\r{line} \033[K" + ("\n" if final else ""))
            self.open, self.ended = not final, final
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def step(self, text: str) -> None:
        """A new phase of a long command (the demo's): a line of its own."""
        if self.open:
            self.stream.write("\n")
        self.label = text
        self.printed = self.open = self.ended = False
        self.last_done = None
        self.stream.write(f"{text}\n")
        self.stream.flush()
        self.last = 0.0 if self.tty else time.monotonic()


def progress_printer(stream, label: str = "") -> Progress:
    """The progress of an import or action on `stream` (standard error)."""
    return Progress(stream, label)


# A log line's severity word is in the run's language; its code is not.
_ISSUE = re.compile(r": \S+ ([a-z_]+): ")


def warning_codes(log_path: str) -> Counter:
    """How many warnings of each code an operation's log holds."""
    counts: Counter = Counter()
    try:
        with open(log_path, encoding="utf-8") as f:
            for line in f:
                m = _ISSUE.search(line)
                if m and m[1] in CODES and CODES[m[1]].severity == "warning":
                    counts[m[1]] += 1
    except OSError:
        pass
    return counts


def warnings_text(n: int, log_path: str) -> str:
    """`13 warnings (manager_not_found 10, list_created 3)`: the count and what they are."""
    if not n:
        return _("0 warnings")
    codes = warning_codes(log_path).most_common()
    what = ", ".join(f"{c} {number(k)}" for c, k in codes)
    text = ngettext("%(n)s warning", "%(n)s warnings", n) % {"n": number(n)}
    return text + (f" ({what})" if what else "")


def number(n: int) -> str:
    """A count as the language writes it: 10,216 in English, 10 216 in French (as the portal)."""
    return number_format(int(n), force_grouping=True)


def done_words(done: str) -> str:
    """The summary's first words, translated: what the command did."""
    return {
        "Imported": _("Imported"),
        "Done": _("Done"),
        "Verified (nothing written)": _("Verified (nothing written)"),
        "Aborted (nothing written)": _("Aborted (nothing written)"),
    }.get(done, done)


def files_lines(report) -> str:
    """Where the operation's files are, one a line, the paths aligned."""
    lines = [
        _("results: %(path)s") % {"path": report.results_path},
        _("rejects: %(path)s") % {"path": report.rejects_path},
        _("log:     %(path)s") % {"path": report.log_path},
    ]
    return "\n".join(lines)


def print_report(stdout, report, as_json: bool, done: str) -> dict:
    """The summary: one JSON object with --json, else a line of counts and the files' paths."""
    summary = report.summary()
    if as_json:
        stdout.write(json.dumps(summary))
        return summary
    op = report.operation
    verb = done_words(
        "Verified (nothing written)"
        if op.verify_only
        else "Aborted (nothing written)"
        if op.status == "aborted"
        else done
    )
    # The count names are the portal's (portal.labels lists them for the catalogue).
    counts = ", ".join(
        f"{_(k)} {number(v)}"
        for k, v in summary.items()
        if k not in ("operation", "kind", "verify_only")
    )
    line = _("%(done)s: operation #%(id)s %(kind)s: %(counts)s")
    stdout.write(line % {"done": verb, "id": op.pk, "kind": op.name, "counts": counts})
    if summary.get("warnings"):
        stdout.write(warnings_text(summary["warnings"], report.log_path))
    for h in report.file_warnings:
        stdout.write(_("warning unknown_column: %(column)s") % {"column": h})
    stdout.write(files_lines(report))
    return summary


def refused(e) -> CommandError:
    """A FileError as the command's one line on standard error, exit status 2."""
    return CommandError(f"{e.code}: {CODES[e.code].format(**e.params)}", returncode=2)


def print_preview(stdout, p: dict, path: str) -> None:
    """The preview (SPEC §2.2) as a table: column, header in the file, value(s), read as,
    status; then the unknown and missing columns."""
    fmt = [str(p.get("format", "")).upper()]
    if p.get("format") == "csv" and p.get("delimiter"):
        fmt.append(f"separator {p['delimiter']!r}")
    if p.get("format") == "csv" and p.get("encoding"):
        fmt.append(str(p["encoding"]))
    if p.get("date_order"):
        fmt.append(f"date_order={p['date_order']}")
    rows = p.get("rows") or ([p["row"]] if p.get("row") else [])
    first = f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}-{rows[-1]}" if rows else ""
    total = p.get("total_rows")  # counted by streaming the file (issue 14, item 5)
    if total is not None:
        about = "" if p.get("total_exact") else "about "
        first += f" of {about}{total:,} data row{'s' if total != 1 else ''}"
    stdout.write(f"{p['kind']} import of {path}: {first} ({', '.join(fmt)})")
    table = [("column", "header in the file", "value", "read as", "status")]
    for c in p["columns"]:
        values = c.get("values")
        value = " | ".join(str(v) for v in values) if values else str(c.get("value") or "")
        cells = c.get("cells") or [c]  # each row's reading (several rows), else the first's
        table.append(
            (
                c["column"] + ("*" if c.get("required") else ""),
                c.get("header") or "-",
                _cut(value),
                _cut(" | ".join(x.get("parsed", "") for x in cells)),
                " | ".join(
                    dict.fromkeys(STATUS_WORDS.get(x["status"], x["status"]) for x in cells)
                ),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(5)]
    for i, r in enumerate(table):
        stdout.write("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            stdout.write("  ".join("-" * w for w in widths))
    if p.get("unknown_columns"):
        stdout.write("unknown columns, ignored: " + ", ".join(p["unknown_columns"]))
    if p.get("missing_columns"):
        stdout.write(
            "missing_column: "
            + CODES["missing_column"].format(column=", ".join(p["missing_columns"]))
            + ": the import will refuse this file"
        )
    for order in p.get("date_order_suggested") or ():
        stdout.write(f"dates: --set date_order={order} would read the dates refused above")


STATUS_WORDS = {"ok": "ok", "empty": "empty", "absent": "not in the file"}


def _cut(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
