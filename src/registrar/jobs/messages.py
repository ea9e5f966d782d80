"""Row messages in the reader's language: rendered again from the codes and parameters the
engine kept (bulk.engine.ISSUES_FILE), since a results file keeps the language of its run."""

import json
import os

from registrar.bulk.codes import CODES
from registrar.bulk.engine import ISSUES_FILE
from registrar.bulk.io.writers import escape_row
from registrar.journal.models import Operation

RESULT_KEYS = ("row", "result", "codes", "message")


def _key(row: dict) -> tuple:
    """A results row's input cells: the row's values before the result columns."""
    n = sum(1 for k in RESULT_KEYS if k in row)
    return tuple(list(row.values())[:-n] if n else row.values())


def render(issues: list) -> str:
    """The message of a row's issues in the active language."""
    out = []
    for code, params in issues:
        if code not in CODES:
            return ""
        try:
            out.append(CODES[code].format(**params))
        except (KeyError, ValueError, TypeError):  # kept by an older version: keep the file's
            return ""
    return "; ".join(out)


def localize(op: Operation | None, rows: list[dict]) -> list[dict]:
    """Give the shown `rows` (results file rows as dicts) their messages in the reader's
    language, where the engine kept their issues; the others keep the file's message."""
    if op is None or not rows or not op.results_path:
        return rows
    path = os.path.join(os.path.dirname(op.results_path), ISSUES_FILE)
    if not os.path.exists(path):
        return rows
    by_row = {str(r["row"]): r for r in rows if str(r.get("row", "")).isdigit()}
    by_cells = {_key(r): r for r in rows if "row" not in r}
    left = len(by_row) + len(by_cells)
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not left:
                break
            try:
                kept = json.loads(line)
            except ValueError:
                break
            target = by_row.pop(str(kept.get("row")), None)
            if target is None and by_cells:
                target = by_cells.pop(tuple(escape_row(kept.get("cells") or [])), None)
            if target is None:
                continue
            left -= 1
            message = render(kept.get("issues") or [])
            if message:
                target["message"] = message
    return rows


def summary(op: Operation | None) -> list[dict]:
    """How many rows got each code, most first, with the code's severity and how to fix it."""
    from registrar.bulk.codes import FIX

    by_code = ((op.options or {}).get("codes") or {}) if op is not None else {}
    out = []
    for code, n in sorted(by_code.items(), key=lambda x: (-x[1], x[0])):
        known = CODES.get(code)
        out.append(
            {
                "code": code,
                "rows": n,
                "severity": known.severity if known else "",
                "fix": FIX.get(code, ""),
            }
        )
    return out


def warned(op: Operation | None, limit: int = 50) -> list[dict]:
    """The first rows that got warnings only (applied all the same), with their messages in the
    reader's language: from the issues the engine kept."""
    if op is None or not op.warnings or not op.results_path:
        return []
    path = os.path.join(os.path.dirname(op.results_path), ISSUES_FILE)
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                kept = json.loads(line)
            except ValueError:
                break
            issues = kept.get("issues") or []
            if not issues or any(
                c not in CODES or CODES[c].severity != "warning" for c, _p in issues
            ):
                continue
            codes = " ".join(dict.fromkeys(c for c, _p in issues))
            label = kept.get("row") or ", ".join(c for c in kept.get("cells") or [] if c)
            out.append({"row": label, "codes": codes, "message": render(issues)})
            if len(out) >= limit:
                break
    return out


REASONS_FILE = "rejects-with-reasons.csv"


def rejects_with_reasons(op: Operation) -> str | None:
    """A CSV of the rejected rows as typed (the rejects file's cells) with two more columns, the
    codes and the message: made once from the rejects and results files, streamed; None when
    the operation has no such files any more."""
    import csv

    from registrar.bulk.io.readers import open_table
    from registrar.bulk.io.writers import escape_formula

    if not (op.results_path and op.rejects_path):
        return None
    if not (os.path.exists(op.results_path) and os.path.exists(op.rejects_path)):
        return None
    path = os.path.join(os.path.dirname(op.results_path), REASONS_FILE)
    if os.path.exists(path):
        return path
    results = open_table(op.results_path)
    rejects = open_table(op.rejects_path, header=False)
    tmp = f"{path}.part"
    try:
        # The results file is the input's columns, then (row,) result, codes and message.
        headers = results.headers or []
        width = len(headers) - (4 if len(headers) >= 4 and headers[-4] == "row" else 3)
        typed = (cells for _n, cells in rejects.rows())
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f, delimiter=";")
            first = next(typed, None)
            has_header = first is not None and first[:width] == headers[:width]
            out.writerow([*headers[:width], "codes", "message"])
            pending = None if has_header else first
            for _n, cells in results.rows():
                cells = cells + [""] * (len(headers) - len(cells))
                if width < 0 or cells[-3] != "rejected":
                    continue
                row = pending if pending is not None else next(typed, None)
                pending = None
                if row is None:
                    break
                reason = [cells[-2], cells[-1]]
                out.writerow([*row[:width], *(escape_formula(c) for c in reason)])
        os.replace(tmp, path)
    finally:
        results.close()
        rejects.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
