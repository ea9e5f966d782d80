"""Renders docs/codes.md and docs/formats.md from the code table and the import kinds.

The docs are English whatever the active language (`--lang fr` only changes row messages).
"""

import json
import os
import tempfile

from django.conf import settings
from django.utils.translation import override

from .actions import ACTIONS
from .codes import CODES, FIX
from .engine import ENGINE_OPTIONS
from .imports import KINDS
from .io.writers import TableWriter

SEVERITY = {
    "error": "error: the row is rejected",
    "warning": "warning: the row is applied",
    "skip": "the row is skipped",
}


def codes_md() -> str:
    with override("en"):
        return _codes_md()


def _codes_md() -> str:
    out = [
        "# Result codes",
        "",
        "Every row of an import or action ends as one of `created`, `updated`, `deleted`, `unchanged`, `skipped`, `rejected`, "
        "with zero or more of these codes. File-level codes stop the whole import (exit status 2); others concern one row. "
        "Generated from `src/registrar/bulk/codes.py` by `registrar write-docs`.",
        "",
        "| code | effect | message | how to fix |",
        "|---|---|---|---|",
    ]
    for c in CODES.values():
        msg = str(c.message).replace("|", "\\|").replace("{value!r}", "'{value}'")
        out.append(f"| `{c.name}` | {SEVERITY[c.severity]} | {msg} | {FIX.get(c.name, '')} |")
    return "\n".join(out) + "\n"


def formats_md() -> str:
    with override("en"):
        return _formats_md()


def _formats_md() -> str:
    out = [
        "# Import file formats",
        "",
        "Generated from the import kinds by `registrar write-docs`. `registrar import-template KIND` writes an example of each.",
        "",
        "Every kind reads CSV (`;` or `,`, detected; UTF-8 with or without BOM, UTF-16, Windows-1252, detected) and the first "
        "sheet of .xlsx, .xls or .ods files. The first non-blank line is the header: headers match whatever the case, spaces, "
        "underscores and hyphens, and known aliases are accepted. Blank lines are ignored; cells are trimmed. Dates are ISO 8601 "
        "(`2024-06-15`, `2024-06-15T14:30:00+10:00`) or `YYYY/MM/DD`, and day-first or month-first with the `date_order` option "
        "below; a date without a time zone is in the platform's time zone. "
        "`*` marks a column whose value is required. There is no row limit unless an operator sets `REGISTRAR_MAX_ROWS`.",
        "",
        "Options are given as `--set name=value` (yes/no for switches). These apply to every kind:",
        "",
        *_options(ENGINE_OPTIONS),
        "",
        "Every import writes three files: the **results** (the input as given plus `row`, `result`, `codes`, `message`), the "
        "**rejects** (only rejected rows, in the input's own columns and separator, ready to fix and import again; password "
        "cells are left empty) and the **log** (one line per error or warning, with its row number). Codes: docs/codes.md.",
        "",
        "In a CSV results file, every cell that a spreadsheet would evaluate as a formula (it begins with `=`, `+`, `-`, `@`, "
        "a tab or a carriage return) gets a leading `'`, input cells included: `=HYPERLINK(...)` reads `'=HYPERLINK(...)`. "
        "The rejects file keeps every cell as typed, so that it imports again once fixed: open it in a text editor, or "
        "import it into a spreadsheet as text, rather than double-clicking it. An .xlsx results file needs no escaping: "
        "its cells are written as text, which no spreadsheet evaluates. Cells of a row beyond the header's columns are "
        "ignored by the import and left out of the results file. The log keeps each entry on one line (line breaks and "
        "tabs inside values become spaces).",
        "",
        "A CSV record whose quoted cell runs over several lines and takes in what look like whole rows (lines with as "
        "many separators as a row) refuses the file with `unbalanced_quote`, naming the line where the quote opened: a "
        "quote left open would otherwise merge the following rows into one cell. A multi-line cell such as an address "
        "is read as usual. Dates run from 1900-01-01 to 9999-12-31 (9999-12-30 for a moment with a time, whose time "
        "zone could carry it past the calendar's end); numbers are plain ASCII digits with a point or comma and an "
        "exponent of at most three digits.",
    ]
    for kind in KINDS.values():
        out += ["", f"## {kind.name}", "", str(kind.description), ""]
        out += ["| column | aliases | description |", "|---|---|---|"]
        for c in kind.columns:
            star = "*" if c.required else ""
            aliases = ", ".join(f"`{a}`" for a in c.aliases)
            out.append(f"| `{c.name}`{star} | {aliases} | {c.help} |")
        if kind.key:
            out += [
                "",
                f"A row's identity is {', '.join(f'`{k}`' for k in kind.key)}: a second row with the same is rejected (`duplicate_row`).",
            ]
        if kind.options:
            out += ["", "Options:", "", *_options(kind.options)]
        names = [c.name for c in kind.columns]
        example = [";".join(names)] + [
            ";".join(row.get(n, "") for n in names) for row in kind.template
        ]
        out += ["", "Example:", "", "```", *example, "```"]
    return "\n".join(out) + "\n"


def actions_md() -> str:
    with override("en"):
        return _actions_md()


def _actions_md() -> str:
    out = [
        "# Bulk actions",
        "",
        "Generated from the actions by `registrar write-docs`. What to select: docs/selections.md.",
        "",
        "```",
        "registrar act TARGET ACTION [SELECTION] [--params JSON|@file] [--scope ORG_EXTID] [--verify-only]",
        "              [--results PATH] [--json]",
        "```",
        "",
        "An action runs on the engine of the imports (one operation, one lock per action and scope, one "
        "transaction, batches, verify-only, journal, undo): the selection is resolved once, then each "
        "selected item (and, when the action names several objects, each item and object: users × courses) "
        "ends as one result row: `created`, `updated`, `deleted`, `unchanged`, `skipped` or `rejected`, with "
        "codes (docs/codes.md). The results file has the item (`user_login`, or `code` for courses and "
        "curricula), the object (`course_code`, `curriculum_code`) when there is one, then `result`, "
        "`codes`, `message`; the rejects file the rejected items. Users outside the administrator's "
        "scope are rejected `out_of_scope`; actions on learner records reject disabled users "
        "(`user_disabled`) and users without training access (`user_not_in_training`).",
        "",
        "Parameters are a JSON object (`--params`, or the API's `params`). A key left out means "
        '"don\'t change"; `null` clears a value where the table says so. Every parameter is checked '
        "before anything runs: an unknown key, a bad value or a name that matches nothing exits 2 "
        "(HTTP 400) with `invalid_parameter` naming the key; two parameters that exclude each other give "
        "`invalid_combination`. Dates are `YYYY-MM-DD` (or as in imports); lists of names are JSON lists "
        "(or, in the portal, separated by commas). Course and curriculum codes, list, audience and role "
        "names match exactly, or case-insensitively when that finds exactly one.",
        "",
        "The same actions are at `/api/actions/{target}/{action}` (`/verify`, `/run`: a job; "
        "`/selection`: the count and first items) and in the portal's Assistants.",
    ]
    for a in ACTIONS.values():
        out += ["", f"## {a.name}", "", str(a.description), ""]
        per = f" One result per selected item and {a.per_type}." if a.per else ""
        out += [f"Permission domain: {a.domain}.{per}", ""]
        out += ["| parameter | type | description |", "|---|---|---|"]
        for p in a.params:
            star = "*" if p.required else ""
            kind = p.type.widget + (f" ({', '.join(p.type.choices)})" if p.type.choices else "")
            null = " `null` clears it." if p.nullable else ""
            out.append(f"| `{p.name}`{star} | {kind} | {p.help}{null} |")
        for ex in a.examples:
            out += [
                "",
                "```",
                f"registrar act {a.target} {a.verb} "
                + _example_selection(a)
                + f"--params '{json.dumps(ex, ensure_ascii=False)}'",
                "```",
            ]
    return "\n".join(out) + "\n"


def _example_selection(a) -> str:
    """The command line's selection for an action's examples: its own ids, else an org (none
    for statistics.set, which names its user, course and lesson)."""
    if a.target == "statistics":
        return ""
    ids = (a.example_selection or {}).get("ids")
    return f"--ids {','.join(ids)} " if ids else "--where org:in:ACME-EU "


def _options(options) -> list[str]:
    lines = []
    for o in options:
        default = option_default(o) or "(empty)"
        choices = (
            f" One of: {', '.join(f'`{c}`' for c in o.choices if c and c != chr(9))}."
            if o.choices
            else ""
        )
        lines.append(f"- `{o.name}` (default {default}): {o.help.rstrip('.')}.{choices}")
    return lines


def write_template(kind_name: str, path: str) -> None:
    """A kind's example file (its template rows under its canonical headers), CSV or .xlsx."""
    kind = KINDS[kind_name]
    names = [c.name for c in kind.columns]
    fmt = "xlsx" if path.endswith(".xlsx") else "csv"
    w = TableWriter(path, fmt, delimiter=";", encoding="utf-8-sig")
    w.write(names)
    for row in kind.template:
        w.write([row.get(n, "") for n in names])
    w.close()


def template_file(kind, fmt: str) -> str:
    """The kind's example file under DATA_DIR/templates, written afresh."""
    folder = os.path.join(settings.DATA_DIR, "templates")
    os.makedirs(folder, exist_ok=True)
    # A file per request: two downloads at once must not write the same file.
    fd, path = tempfile.mkstemp(prefix=f"{kind.name}-", suffix=f".{fmt}", dir=folder)
    os.close(fd)
    write_template(kind.name, path)
    return path


def option_default(o) -> str:
    if isinstance(o.default, bool):
        return "yes" if o.default else "no"
    return str(o.default or "")


def kind_reference(kind) -> dict:
    """A kind's title, description, columns and options, for the pages and the API."""
    return {
        "title": str(kind.title),
        "description": str(kind.description),
        "columns": [
            {
                "name": c.name,
                "required": c.required,
                "aliases": list(c.aliases),
                "help": str(c.help),
                "example": c.example,
            }
            for c in kind.columns
        ],
        "options": [
            {
                "name": o.name,
                "default": option_default(o),
                "choices": [c for c in o.choices if c and c != chr(9)] if o.choices else None,
                "help": str(o.help),
                "switch": isinstance(o.default, bool),
            }
            for o in kind.options
        ],
    }
