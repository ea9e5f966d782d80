"""transfer-content (SPEC §8, seed 002): complete a new activity, journey or programme for every
user who completed the old one (same kind only), with the old completion date, for the users who
have access to the new content; the others are skipped (`no_access`). Completions cascade down
and roll up through learning.progress, as the progress import's (§4.3). One row per completer,
fed in batches of user ids; set-based per batch."""

import uuid as uuidlib

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.catalogue.models import Course, Curriculum, Programme
from registrar.core import lookups
from registrar.core.errors import FileError
from registrar.directory.models import User
from registrar.learning import access, progress
from registrar.learning.models import CourseStatus, Source

from . import params as P
from .action import Action, Param
from .imports.progress import LEVELS, RECORD
from .kind import CREATED, SKIPPED, UPDATED, Row
from .sources import SELECTION_RESULT_COLUMNS

CONTENT = {"course": Course, "curriculum": Curriculum, "programme": Programme}
PAGE = 10_000  # completers read a page at a time
CONTENT_FIELDS = ("id", "code", "uuid", "title")
USER_FIELDS = ("id", "login", "organisation_id", "disabled", "training_access")


def find_content(value: str, option: str) -> tuple[str, dict]:
    """(kind, item) of the course, curriculum or programme a UUID or a code names; FileError
    content_not_found or ambiguous_content (exit status 2)."""
    try:
        key, field = uuidlib.UUID(value.strip("{}")), "uuid"
    except ValueError:
        key, field = value, "code"
    found = []
    for kind, model in CONTENT.items():
        row = model._base_manager.filter(**{field: key}).values(*CONTENT_FIELDS).first()
        if row is not None:
            found.append((kind, row))
    if not found:
        raise FileError("content_not_found", value=value)
    if len(found) > 1:
        items = ", ".join(f"{k} {r['code']}" for k, r in found)
        raise FileError("ambiguous_content", value=value, count=len(found), items=items)
    return found[0]


def contents(values: dict) -> tuple[str, dict, dict]:
    """(kind, old, new) that `from` and `to` name: of the same kind (content_kind_mismatch),
    not the same (same_content)."""
    kind, old = find_content(values["from"], "from")
    new_kind, new = find_content(values["to"], "to")
    if new_kind != kind:
        raise FileError("content_kind_mismatch", value=values["to"], actual=new_kind, expected=kind)
    if new["id"] == old["id"]:
        raise FileError("same_content", value=values["to"])
    return kind, old, new


class ContentSource:
    """The rows of a content transfer: one per user who completed the old content, read a page
    of user ids at a time inside the job's transaction."""

    result_columns = SELECTION_RESULT_COLUMNS
    fmt, delimiter, encoding, has_header = "csv", ",", "utf-8-sig", True
    secret_positions: set[int] = set()
    unknown: list[str] = []
    present: set[str] = set()
    batch_size = None
    headers = ["user_login", "from", "to"]

    def __init__(self, step, raw_params: dict | None):
        self.raw_params = raw_params or {}
        self.options = step.parse_params(self.raw_params)
        self.kind, self.old, self.new = contents(self.options)
        self.options.update(kind=self.kind, old=self.old, new=self.new)
        self.model, self.field = RECORD[self.kind]
        self.total = self.model._base_manager.filter(
            **{self.field: self.old["id"]}, status=CourseStatus.COMPLETED
        ).count()

    def journal(self) -> dict:
        return {"options": {"params": dict(self.raw_params)}, "file_name": "", "file_checksum": ""}

    def fraction(self, done: int) -> float | None:
        return done / self.total if self.total else None

    def rows(self):
        number, last = 0, 0
        # A raw keyset page (lookups' fast select): the ORM's per-value conversion of 100,000
        # dates costs more than the query.
        where = f'"{self.field}" = %s AND "status" = %s AND "user_id" > %s ORDER BY "user_id"'
        where += f" LIMIT {PAGE}"
        names = ["user_id", "status_date"]
        while True:
            params = [self.old["id"], CourseStatus.COMPLETED, last]
            page = lookups._select(self.model, names, where, params)
            if not page:
                return
            for rec in page:
                number += 1
                r = Row(number, [])
                r.values = {"id": rec["user_id"], "when": rec["status_date"]}
                yield r
            last = page[-1]["user_id"]

    def label(self, r: Row) -> str:
        return r.cells[0] if r.cells else _("item %(n)s") % {"n": r.number}

    def empty(self) -> FileError:
        return FileError("empty_selection", target=_("users who completed %s") % self.old["code"])

    def prepare(self, rows, ctx) -> None:
        """The batch's users, one query; each row named by its user's login."""
        users = lookups.by_key(User, "id", {r.values["id"] for r in rows}, *USER_FIELDS)
        for r in rows:
            user = users.get(r.values["id"])
            r.values["user"] = user
            r.cells = [user["login"] if user else str(r.values["id"]), self.old["code"]]
            r.cells.append(self.new["code"])
            if user and not ctx.in_scope(user["organisation_id"]):
                r.reject("out_of_scope", what=_("User %s") % user["login"])

    def close(self) -> None:
        pass


class TransferContent(Action):
    name = "transfer-content"
    operation = "transfer"
    target = "users"
    domain = "learning"
    title = gettext_lazy("Transfer progress from one content to another")
    description = gettext_lazy(
        "Completes the content `to` (an activity, journey or programme, by UUID or code) for "
        "every user who completed the content `from`, of the same kind (`content_kind_mismatch` "
        "otherwise), with the old completion date. Users without access to the new content are "
        "`skipped` (`no_access`); those who completed it already are `skipped` "
        "(`already_completed`). A journey completes its activities, a programme its journeys "
        "and their activities, and completions roll up, as the progress import's."
    )
    params = [
        Param("from", P.Text(max_length=100, blank=False), required=True),
        Param("to", P.Text(max_length=100, blank=False), required=True),
    ]

    def open_source(self, req, scope_ids) -> ContentSource:
        return ContentSource(self, req.params)

    def check(self, values: dict) -> None:
        """Both contents exist, of one kind, checked when the job is queued (the API's 400)."""
        contents(values)

    def resolve(self, rows, ctx):
        kind, new = ctx.options["kind"], ctx.options["new"]["id"]
        now = ctx.state.setdefault("now", timezone.now())
        users = [r.values["id"] for r in rows if r.result is None]
        when = {r.values["id"]: r.values["when"] or now for r in rows}
        below = progress.cascade(kind, [(u, new, when[u]) for u in users])
        records = {}
        for level in LEVELS:
            model, fld = RECORD[level]
            keys = {(u, c) for u, c, _w in below[level]}
            records[level] = lookups.exact_pairs(model, "user_id", fld, keys, "status")
        return {
            "below": below,
            "records": records,
            "access": access.has_access(kind, {(u, new) for u in users}),
        }

    def plan(self, rows, refs, ctx):
        kind, new = ctx.options["kind"], ctx.options["new"]
        done = {
            level: {k for k, rec in recs.items() if rec["status"] == CourseStatus.COMPLETED}
            for level, recs in refs["records"].items()
        }
        # What each user's completion writes: the contents below it not completed yet (an
        # existing completion keeps its date); a course alone is the common case.
        by_user: dict[int, dict[str, list]] = {}
        courses_of: dict[int, list[int]] = {}
        for level, items in refs["below"].items():
            completed = done[level]
            for item in items:
                u, c = item[0], item[1]
                if level == "course":
                    courses_of.setdefault(u, []).append(c)
                if (u, c) not in completed:
                    by_user.setdefault(u, {}).setdefault(level, []).append(item)
        for r in rows:
            if r.result is not None:
                continue
            uid = r.values["id"]
            top = refs["records"][kind].get((uid, new["id"]))
            if top is not None and top["status"] == CourseStatus.COMPLETED:
                r.skip("already_completed", value=new["code"])
                continue
            if (uid, new["id"]) not in refs["access"]:
                r.warn("no_access", value=new["code"])
                r.result = SKIPPED
                continue
            r.data = {"todo": by_user.get(uid, {}), "courses": courses_of.get(uid, ())}
            r.result = UPDATED if top is not None else CREATED

    def apply(self, rows, refs, ctx):
        by_level: dict[str, list] = {level: [] for level in LEVELS}
        users, courses = set(), set()
        for r in rows:
            for level, items in r.data["todo"].items():
                by_level[level].extend(items)
            users.add(r.values["id"])
            courses.update(r.data["courses"])
        counts: dict[str, dict[str, int]] = {}
        for level in LEVELS:
            if not by_level[level] and level != "course":
                continue
            if level == "course":
                outcome = progress.complete_courses(
                    by_level[level], ctx.op, Source.TRANSFER, also=(users, courses)
                )
            else:
                outcome = progress.complete(level, by_level[level], ctx.op, Source.TRANSFER)
            tally = counts.setdefault(f"{level}_record", {})
            for result in outcome.values():
                tally[result] = tally.get(result, 0) + 1
        if rows:
            ctx.pending["batches"] = {rows[0].number: counts}

    def finish(self, ctx):
        total: dict[str, dict[str, int]] = {}
        for counts in ctx.state.get("batches", {}).values():
            for obj, tally in counts.items():
                for result, n in tally.items():
                    total.setdefault(obj, {})[result] = total.setdefault(obj, {}).get(result, 0) + n
        ctx.op.options = {**(ctx.op.options or {}), "objects": total}
