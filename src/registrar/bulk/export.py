"""The export (SPEC §6): a configuration checked up front, one streamed query, a CSV or .xlsx
file, and an operation of kind `export` in the journal. The command line, the API's job and the
portal's job all call `run`; the portal's preview calls `preview`."""

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection, transaction

from registrar.catalogue.models import Category, Course, Curriculum, Folder
from registrar.core.errors import FileError
from registrar.directory import tree
from registrar.directory.models import Audience, Organisation
from registrar.journal import service
from registrar.journal.models import Operation

from . import export_query
from .codes import CODES
from .export_columns import COLUMNS, INT, NUM
from .io.writers import TableWriter
from .parsers import CellError, date_

KEYS = ("columns", "filters", "delimiter", "format")
FILTERS = (
    "org",
    "audience",
    "category",
    "folder",
    "subfolders",
    "course",
    "curriculum",
    "external_trainings",
    "assigned_from",
    "assigned_to",
    "status",
)
# Filters on the catalogue side: they need columns of curricula, courses or lessons.
CONTENT_FILTERS = ("category", "folder", "course", "curriculum", "assigned_from", "assigned_to")
FORMATS = ("csv", "xlsx")
DELIMITERS = (";", ",")
STATUSES = {"curricula": "NIC", "courses": "NIC", "lessons": "NBFIPC"}
MAX_COLUMNS = 300
MAX_TEXT = 1000  # characters in a filter's value
CONFIG_LIMIT = 1 << 20  # bytes of a configuration (a --config file, an API body)
FETCH = 5000  # rows per fetch from the server-side cursor
PROGRESS_EVERY = 0.5
PG_WORK_MEM = "64MB"  # PostgreSQL's memory for the export's sort and hashes (SET LOCAL)


def _bad(key: str, reason: str) -> FileError:
    return FileError("invalid_parameter", key=key, reason=reason)


@dataclass
class Config:
    """The export's configuration, as the CLI's --config, the API and the portal give it."""

    columns: list[str]
    filters: dict = field(default_factory=dict)
    delimiter: str = ";"
    format: str | None = None  # None: from the output's extension (csv by default)

    @classmethod
    def from_json(cls, obj) -> "Config":
        """Read and check the object's shape and values (not its references: see `plan`)."""
        if not isinstance(obj, dict):
            raise _bad("config", "expects a JSON object")
        for k in obj:
            if k not in KEYS:
                raise FileError(
                    "unknown_field", field=str(k)[:100], detail=f"; keys: {', '.join(KEYS)}"
                )
        columns = obj.get("columns")
        if not isinstance(columns, list) or not columns:
            raise _bad("columns", "expects a non-empty list of column names")
        if len(columns) > MAX_COLUMNS:
            raise _bad("columns", f"names more than {MAX_COLUMNS} columns")
        for c in columns:
            if not isinstance(c, str):
                raise _bad("columns", f"a column is named by a string, not {c!r}"[:200])
            if c not in COLUMNS:
                raise FileError(
                    "unknown_field",
                    field=c[:100],
                    detail="; the columns are listed in docs/export.md",
                )
        if len(set(columns)) != len(columns):
            twice = next(c for c in columns if columns.count(c) > 1)
            raise _bad("columns", f"{twice} is named twice")
        filters = obj.get("filters") or {}
        if not isinstance(filters, dict):
            raise _bad("filters", "expects a JSON object")
        for k in filters:
            if k not in FILTERS:
                raise FileError(
                    "unknown_field", field=str(k)[:100], detail=f"; filters: {', '.join(FILTERS)}"
                )
        delimiter = obj.get("delimiter", ";")
        if delimiter not in DELIMITERS:
            raise _bad("delimiter", 'expects ";" or ","')
        fmt = obj.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise _bad("format", "expects csv or xlsx")
        cfg = cls(list(columns), dict(filters), delimiter, fmt)
        cfg.values()  # the filters' values checked now
        return cfg

    def to_json(self) -> dict:
        return {
            "columns": list(self.columns),
            "filters": dict(self.filters),
            "delimiter": self.delimiter,
            "format": self.format,
        }

    def values(self) -> dict:
        """The filters' values typed (None when not set); invalid_parameter naming the key."""
        f = self.filters
        out: dict = {}
        for k in ("org", "audience", "category", "folder", "course", "curriculum"):
            v = f.get(k)
            if v is None or v == "":
                out[k] = None
                continue
            if not isinstance(v, str) or len(v) > MAX_TEXT or "\x00" in v:
                raise _bad(k, "expects a name (text)")
            out[k] = v.strip() or None
        for k in ("subfolders", "external_trainings"):
            v = f.get(k, False)
            if v is None:
                v = False
            if not isinstance(v, bool):
                raise _bad(k, "expects true or false")
            out[k] = v
        for k in ("assigned_from", "assigned_to"):
            out[k] = _date(k, f.get(k))
        if (
            out["assigned_from"]
            and out["assigned_to"]
            and out["assigned_from"] > out["assigned_to"]
        ):
            raise _bad("assigned_to", "is before assigned_from")
        status = f.get("status")
        if status in (None, "", []):
            out["status"] = []
        else:
            if isinstance(status, str):
                status = [status]
            if not isinstance(status, list) or not all(isinstance(s, str) for s in status):
                raise _bad("status", "expects a list of status letters")
            out["status"] = list(dict.fromkeys(s.strip().upper() for s in status if s.strip()))
        return out

    def output_format(self, output: str | None) -> str:
        """csv or xlsx: the configuration's, else the output's extension."""
        if self.format:
            return self.format
        return "xlsx" if output and output.lower().endswith(".xlsx") else "csv"


def _date(key: str, value) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(key, "expects a date, YYYY-MM-DD")
    try:
        return date_()(value.strip())
    except CellError:
        raise _bad(key, f"{value[:50]!r} is not a date (YYYY-MM-DD)") from None


def read_config(text: str) -> Config:
    """A configuration from JSON text, or from @FILE holding it (the CLI's --config)."""
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as fh:
                text = fh.read(CONFIG_LIMIT + 1)
        except (OSError, UnicodeDecodeError) as e:
            raise _bad("config", str(e)) from None
    if len(text) > CONFIG_LIMIT:
        raise _bad("config", "is over 1 MiB")
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise _bad("config", f"not JSON: {e}") from None
    return Config.from_json(obj)


def plan(cfg: Config, scope_ids: set[int] | None = None, scope_id: int | None = None):
    """The configuration's references looked up (one query each) and its filters checked
    against the columns chosen: an export_query.Plan, or FileError naming the key."""
    v = cfg.values()
    p = export_query.Plan(columns=list(cfg.columns), scope_id=scope_id)
    if p.top is None:
        given = [k for k in CONTENT_FILTERS if v[k]] + (["status"] if v["status"] else [])
        if given:
            raise _bad(
                given[0], "applies to curricula, courses or lessons: choose some of their columns"
            )
    if v["status"]:
        allowed = STATUSES[p.top]
        wrong = [s for s in v["status"] if len(s) != 1 or s not in allowed]
        if wrong:
            raise _bad("status", f"{wrong[0]!r} is not a status of {p.top} ({', '.join(allowed)})")
        p.status = v["status"]
    if v["org"]:
        row = Organisation.objects.filter(extid=v["org"]).values_list("id", flat=True).first()
        if row is None:
            raise _bad("org", f"no organisation has the external id {v['org']!r}")
        if scope_ids is not None and row not in scope_ids:
            raise _bad("org", f"{v['org']} is outside the organisations you may read")
        p.org_id = row
    if v["audience"]:
        p.audience_id = _one(
            Audience.objects.filter(name=v["audience"]),
            "audience",
            "audience is named",
            v["audience"],
        )
    if v["category"]:
        p.category_id = _one(
            Category.objects.filter(name=v["category"]),
            "category",
            "category is named",
            v["category"],
        )
    if v["folder"]:
        path = v["folder"].strip("/")
        rows = Folder.objects.filter(path=path)
        if v["subfolders"]:
            rows = Folder.objects.filter(path=path) | Folder.objects.filter(
                path__startswith=path + "/"
            )
        ids = sorted(rows.values_list("id", flat=True))
        if not ids:
            raise _bad("folder", f"no folder has the path {path!r}")
        p.folder_ids = ids
    if v["course"]:
        p.course_id = _one(
            Course.objects.filter(code=v["course"]), "course", "course has the code", v["course"]
        )
        p.course_code = v["course"]
    if v["curriculum"]:
        p.curriculum_id = _one(
            Curriculum.objects.filter(code=v["curriculum"]),
            "curriculum",
            "curriculum has the code",
            v["curriculum"],
        )
    p.external = v["external_trainings"]
    p.date_from, p.date_to = v["assigned_from"], v["assigned_to"]
    if p.external and p.grain != "courses":
        raise _bad(
            "external_trainings", "are course rows: choose course columns and no lesson ones"
        )
    return p


def _one(qs, key: str, what: str, name: str) -> int:
    pk = qs.values_list("id", flat=True).first()
    if pk is None:
        raise _bad(key, f"no {what} {name!r}")
    return pk


def _scope(extid: str | None) -> Organisation | None:
    if not extid:
        return None
    org = Organisation.objects.filter(extid=extid).first()
    if org is None:
        raise FileError(
            "invalid_option",
            option="scope",
            reason=f"no organisation has the external id {extid!r}",
        )
    return org


class ExportWriter(TableWriter):
    """The results files' writer, with numbers as numbers in .xlsx. A CSV's cells come escaped
    from the query (export_query.escaped, the same rule as the results files')."""

    def __init__(self, path: str, fmt: str, delimiter: str, kinds: list[str]):
        super().__init__(path, fmt, delimiter, "utf-8-sig")
        self.numeric = [k in (INT, NUM) for k in kinds]

    def _write_xlsx(self, cells) -> None:
        sheet, row = self._sheet, self._row
        for i, v in enumerate(cells):
            if v is None or v == "":
                continue
            if self.numeric[i]:
                try:
                    sheet.write_number(row, i, float(v))
                    continue
                except (TypeError, ValueError):
                    pass
            sheet.write_string(row, i, str(v))
        self._row += 1


@dataclass
class Report:
    operation: Operation
    rows: int
    path: str
    format: str

    def summary(self) -> dict:
        return {
            "operation": self.operation.pk,
            "kind": "export",
            "rows": self.rows,
            "format": self.format,
            "output": self.path,
        }


def count(p) -> int:
    """How many rows the export writes (the same query, counted by the database)."""
    sql, params = export_query.build(p, order=False)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sql}) q", params)
        return cur.fetchone()[0]


def preview(cfg: Config, scope: str | None = None, limit: int = 20) -> dict:
    """The first rows and the row count, for the portal (two queries)."""
    org = _scope(scope)
    scope_ids = tree.subtree(org.pk) if org else None
    p = plan(cfg, scope_ids, org.pk if org else None)
    p.escape = True  # shown as the CSV would have it
    sql, params = export_query.build(p)
    with connection.cursor() as cur:
        cur.execute(f"{sql} LIMIT {int(limit)}", params)
        rows = [["" if v is None else str(v) for v in r] for r in cur.fetchall()]
    return {"columns": list(cfg.columns), "rows": rows, "count": count(p)}


def rows(p):
    """The export's rows, streamed: a server-side cursor on PostgreSQL (a named cursor), fetched
    in chunks on SQLite; never the whole result in memory."""
    sql, params = export_query.build(p)
    # In a transaction: PostgreSQL's named cursor then streams (outside one, Django declares it
    # WITH HOLD, which makes the server build the whole result before the first row).
    with transaction.atomic(), connection.chunked_cursor() as cur:
        if connection.vendor == "postgresql":  # the sort in memory: a session's, for this query
            with connection.cursor() as setting:
                setting.execute(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
        cur.execute(sql, params)
        while True:
            chunk = cur.fetchmany(FETCH)
            if not chunk:
                return
            yield chunk


def run(
    cfg: Config,
    output: str | None = None,
    scope: str | None = None,
    actor=None,
    progress: Callable | None = None,
    on_operation: Callable | None = None,
    with_total: bool = False,
) -> Report:
    """Write the export and journal it as an operation of kind `export` (rows, the file).
    `output`: where to write (default: the operation's folder under DATA_DIR). Raises FileError
    before any operation exists when the configuration or the scope cannot be used."""
    org = _scope(scope)
    scope_ids = tree.subtree(org.pk) if org else None
    p = plan(cfg, scope_ids, org.pk if org else None)
    fmt = cfg.output_format(output)
    p.escape = fmt == "csv"
    op = service.start_operation(
        "export", "export", actor, scope=org, options=cfg.to_json(), file_name=""
    )
    if on_operation:
        on_operation(op)
    try:
        if output is None:
            folder = os.path.join(settings.DATA_DIR, "operations", str(op.pk))
            os.makedirs(folder, exist_ok=True)
            output = os.path.join(folder, f"export.{fmt}")
        path = os.path.abspath(output)
        total = count(p) if with_total else None
        done = _write(p, cfg, fmt, path, total, progress)
    except BaseException as e:
        text = f"{e.code}: {CODES[e.code].format(**e.params)}" if isinstance(e, FileError) else e
        service.fail_operation(op, text)
        raise
    service.finish_operation(op, Operation.Status.DONE, rows=done, results_path=path)
    return Report(op, done, path, fmt)


def _write(p, cfg: Config, fmt: str, path: str, total, progress) -> int:
    kinds = [COLUMNS[c].kind for c in cfg.columns]
    writer = ExportWriter(path, fmt, cfg.delimiter, kinds)
    started = last = time.monotonic()
    done = 0
    try:
        writer.write(cfg.columns)
        for chunk in rows(p):
            writer.write_many(chunk)
            done += len(chunk)
            now = time.monotonic()
            if progress and now - last >= PROGRESS_EVERY:
                last = now
                progress(done, total, done / total if total else None, now - started)
    finally:
        writer.close()
    if progress:
        progress(done, total if total is not None else done, 1.0, time.monotonic() - started)
    return done
