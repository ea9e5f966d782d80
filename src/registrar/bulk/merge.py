"""merge-users (SPEC §7) and transfer-user (SPEC §8): steps of the one engine whose rows are the
plan of moving user Z's rows to user A, one row per object (a course record, an assignment, a list
membership...), with both values and which one is kept. The plan is made inside the job's
transaction and lock; the writes are learning.merge's, journalled, so `registrar undo` restores
both users exactly."""

import csv
from collections import Counter

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from registrar.core.errors import FileError
from registrar.learning import merge

from . import params as P
from . import references
from .action import Action, Param
from .actions.users._users import reject_privileged
from .kind import Row
from .sources import SELECTION_RESULT_COLUMNS

HEADERS = ["object", "item", "a_value", "z_value", "kept", "why"]
USER_FIELDS = ("is_superuser", "is_staff")


def find_user(login: str, column: str) -> dict:
    """The user a login names, else FileError user_not_found (exit status 2)."""
    user = references.find_one("user", login, *USER_FIELDS)
    if user is None:
        raise FileError("user_not_found", column=column, value=login)
    return user


class MoveSource:
    """The rows of a merge or a transfer between two users: the plan's items, made when the
    engine reads the rows (inside its transaction and lock)."""

    result_columns = SELECTION_RESULT_COLUMNS
    fmt, delimiter, encoding, has_header = "csv", ",", "utf-8-sig", True
    secret_positions: set[int] = set()
    unknown: list[str] = []
    present: set[str] = set()
    batch_size = None
    headers = HEADERS

    def __init__(self, step, raw_params: dict | None):
        self.step = step
        self.raw_params = raw_params or {}
        self.options = step.parse_params(self.raw_params)
        self.remove, self.keep = step.users(self.options)
        self.total: int | None = None
        self.plan: merge.Plan | None = None

    def journal(self) -> dict:
        return {"options": {"params": dict(self.raw_params)}, "file_name": "", "file_checksum": ""}

    def fraction(self, done: int) -> float | None:
        return done / self.total if self.total else None

    def rows(self):
        self.plan = merge.plan(self.remove, self.keep, self.step.reason)
        items = self.plan.items
        self.total = max(1, len(items))
        if not items:  # nothing to move: one row saying so
            r = Row(1, ["user", self.remove["login"], "", "", "", ""])
            r.values = {"item": None, "plan": self.plan}
            yield r
            return
        for n, i in enumerate(items, 1):
            cells = [
                i.object,
                i.label,
                merge.describe(i.a, i.link.model),
                merge.describe(i.z, i.link.model),
                i.kept,
                i.why,
            ]
            r = Row(n, cells)
            r.values = {"item": i, "plan": self.plan}
            yield r

    def label(self, r: Row) -> str:
        return " ".join(c for c in r.cells[:2] if c) or _("item %(n)s") % {"n": r.number}

    def empty(self) -> FileError:
        return FileError("user_not_found", column=self.step.remove_option, value="")

    def prepare(self, rows, ctx) -> None:
        """The cells are the plan's: nothing to parse."""

    def close(self) -> None:
        pass


class UserMove(Action):
    """What merge-users and transfer-user share: two users, the plan, the checks, the writes."""

    target = "users"
    reason = merge.MERGE
    whole_file = True  # the plan is one: its rows are written together or not at all
    remove_option, keep_option = "remove", "keep"

    def open_source(self, req, scope_ids) -> MoveSource:
        return MoveSource(self, req.params)

    def users(self, values: dict) -> tuple[dict, dict]:
        """Z and A as the parameters name them: user_not_found, merge_same_user (exit 2)."""
        remove = find_user(values[self.remove_option], "login")
        keep = find_user(values[self.keep_option], "login")
        if remove["id"] == keep["id"]:
            raise FileError("merge_same_user", value=remove["login"])
        return remove, keep

    def check(self, values: dict) -> None:
        """Both users exist and differ, checked when the job is queued (the API's 400)."""
        self.users(values)

    def refusals(self, rows, ctx) -> list[tuple[str, dict]]:
        """Why the move cannot be done at all (the same for every row): a user outside the
        scope, a user holding roles the actor could not grant (privileged_user)."""
        plan = rows[0].values["plan"]
        out = []
        for user in (plan.remove, plan.keep):
            if not ctx.in_scope(user["organisation_id"]):
                out.append(("out_of_scope", {"what": _("User %s") % user["login"]}))
        probes = []
        for user in (plan.remove, plan.keep):
            probe = Row(0, [])
            probe.values = {"user": user}
            probes.append(probe)
        reject_privileged(probes, ctx)
        out += [issue for probe in probes for issue in probe.issues]
        return out

    def plan(self, rows, refs, ctx):
        refused = self.refusals(rows, ctx)
        for r in rows:
            for code, params in refused:
                r.reject(code, **params)
            if r.result is not None:
                continue
            item = r.values["item"]
            if item is None:
                r.skip("no_progress", value=r.values["plan"].remove["login"])
            else:
                r.result = item.result

    def apply(self, rows, refs, ctx):
        if not rows:
            return
        plan = rows[0].values["plan"]
        if len(rows) != len(plan.items):  # a part of the plan alone would leave Z half-moved
            raise RuntimeError(f"{self.name}: {len(rows)} of {len(plan.items)} rows applied")
        ctx.pending["objects"] = merge.apply(ctx.op, plan)

    def finish(self, ctx):
        """The counts per object type, kept with the operation (--json, the API, the page)."""
        ctx.op.options = {**(ctx.op.options or {}), "objects": ctx.state.get("objects", {})}


class MergeUsers(UserMove):
    name = "merge-users"
    operation = "merge"
    domain = "directory"
    title = gettext_lazy("Merge two users")
    description = gettext_lazy(
        "Everything of user Z (`remove`) moves to user A (`keep`): assignments, course and "
        "lesson records and attempts, credits, certificates, exam results, list memberships, "
        "competencies, roles, seats, external trainings, and every manager, trainer or tutor "
        "link pointing at Z. Where both hold a record of the same course or lesson, the better "
        "is kept (completed over passed over failed over in progress over not started; then "
        "the higher score; then the later date) and the other stays in A's history. Z is "
        "deleted. One result per object, with A's value, Z's value and which one is kept."
    )
    params = [
        Param("remove", P.Text(max_length=150, blank=False), required=True),
        Param("keep", P.Text(max_length=150, blank=False), required=True),
    ]


class TransferUser(UserMove):
    name = "transfer-user"
    operation = "transfer"
    domain = "learning"
    reason = merge.TRANSFER
    remove_option, keep_option = "from", "to"
    title = gettext_lazy("Transfer a user's progress to another user")
    description = gettext_lazy(
        "The progress of user `from` (course, lesson, curriculum and programme records with "
        "their attempts, credits, certificates, record history) moves to user `to`; `from` is "
        "kept. When both have progress, `on_conflict` refuse (the default) rejects every row "
        "(`both_have_progress`) and nothing moves; merge keeps the better record of each course "
        "and lesson, as merge-users does."
    )
    params = [
        Param("from", P.Text(max_length=150, blank=False), required=True),
        Param("to", P.Text(max_length=150, blank=False), required=True),
        Param("on_conflict", P.choice({"refuse": "refuse", "merge": "merge"})),
    ]

    def refusals(self, rows, ctx):
        out = super().refusals(rows, ctx)
        plan = rows[0].values["plan"]
        conflict = ctx.options.get("on_conflict") or "refuse"
        if conflict == "refuse" and plan.a_progress and plan.z_progress:
            out.append(
                ("both_have_progress", {"remove": plan.remove["login"], "keep": plan.keep["login"]})
            )
        return out


def objects_summary(op) -> dict:
    """The counts per object type of a merge or transfer: {object: {result: n}}; read from the
    results file when the operation did not keep them (rejected rows are counted there)."""
    kept = (op.options or {}).get("objects")
    counts: dict[str, Counter] = {}
    try:
        with open(op.results_path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                counts.setdefault(row["object"], Counter())[row["result"]] += 1
    except (OSError, KeyError):
        return kept or {}
    return {k: dict(v) for k, v in counts.items()}


def results_table(path: str, limit: int | None = None) -> list[list[str]]:
    """The results file's rows (header first): the plan or the result, as the CLI prints it."""
    out = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            for i, row in enumerate(csv.reader(f)):
                if limit is not None and i > limit:
                    break
                out.append(row)
    except OSError:
        pass
    return out
