"""Undo an operation: a new operation that restores the before values, leaving rows changed since."""

import time
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from . import writes
from .models import Change, Operation
from .service import busy_error, durable, fail_operation, finish_operation, start_operation

PAGE = 500


class UndoRefused(Exception):
    """The operation cannot be undone at all (verify-only, already undone, still running)."""


def undo(
    op_id: int, actor=None, verify_only: bool = False, on_operation=None, progress=None
) -> tuple[Operation, list[dict]]:
    """Undo operation `op_id`; returns the undo operation and its conflicts (table, pk, row).
    `on_operation(op)` is called once the undo's own operation row exists; `progress(done,
    total, fraction, elapsed)` after each batch, as the engine's. A database that stays busy
    (SQLite: another writer) raises FileError database_busy."""
    try:
        return _undo(op_id, actor, verify_only, on_operation, progress)
    except DatabaseError as e:
        busy = busy_error(e)
        if busy is None:
            raise
        raise busy from None


def _undo(
    op_id: int, actor, verify_only: bool, on_operation, progress
) -> tuple[Operation, list[dict]]:
    target = Operation.objects.filter(pk=op_id).first()
    if target is None:
        raise UndoRefused(f"no operation #{op_id}")
    reason = refusal(target)
    if reason:
        raise UndoRefused(reason)
    op = start_operation(
        "undo",
        f"undo #{op_id}",
        actor,
        verify_only=verify_only,
        undo_of=target,
        scope_id=target.scope_id,
    )
    if on_operation:
        on_operation(op)
    conflicts: list[dict] = []
    counts = Tally()
    step = _Progress(progress, target)
    try:
        with durable(), transaction.atomic():
            # Two undos of one operation at once: the second waits here, then is refused.
            locked = Operation.objects.select_for_update().get(pk=target.pk)
            if locked.undone_by_id:
                raise UndoRefused(
                    f"operation #{op_id} was already undone by #{locked.undone_by_id}"
                )
            sid = transaction.savepoint()
            batch: list[Change] = []
            size = 0
            for ch in _changes(target):
                if batch and (
                    (ch.table, ch.action) != (batch[0].table, batch[0].action)
                    # created pks stay together (rows of one table may refer to each other)
                    or (ch.action != Change.Action.CREATE and size >= writes.CHUNK)
                ):
                    _undo_batch(batch, target, op, conflicts, counts)
                    step(size)
                    batch, size = [], 0
                batch.append(ch)
                size += ch.size()
            if batch:
                _undo_batch(batch, target, op, conflicts, counts)
                step(size)
            if verify_only:
                transaction.savepoint_rollback(sid)
            else:
                transaction.savepoint_commit(sid)
                target.undone_by = op
                target.save(update_fields=["undone_by"])
    except BaseException as e:
        fail_operation(op, str(e))
        raise
    step.finish()
    label_conflicts(conflicts[:CONFLICTS_NAMED])
    rows = sum(counts.total.values()) + len(conflicts)
    status = Operation.Status.VERIFIED if verify_only else Operation.Status.DONE
    options = {**(op.options or {}), "tables": counts.tables}
    finish_operation(
        op, status, rows=rows, conflicts=len(conflicts), options=options, **counts.total
    )
    return op, conflicts


class _Progress:
    """The undo's progress: rows of the journal handled, out of the rows the operation wrote."""

    def __init__(self, callback, target: Operation):
        self.callback = callback
        self.total = (target.created + target.updated + target.deleted) or None
        self.done = 0
        self.started = time.monotonic()

    def __call__(self, rows: int) -> None:
        self.done += rows
        if self.callback:
            total = max(self.total or 0, self.done) or None
            fraction = min(self.done / total, 0.999) if total else None
            self.callback(self.done, total, fraction, time.monotonic() - self.started)

    def finish(self) -> None:
        """The last call, once the undo is committed (or rolled back, verify-only)."""
        if self.callback:
            self.callback(self.done, self.done, 1.0, time.monotonic() - self.started)


CONFLICTS_NAMED = 500  # conflicts given a readable name (the total is always counted)


class Tally:
    """What an undo removed, restored and re-created: in all, and per table."""

    def __init__(self):
        self.total = {"created": 0, "updated": 0, "deleted": 0}
        self.tables: dict[str, dict[str, int]] = {}

    def add(self, what: str, model, n: int) -> None:
        if not n:
            return
        self.total[what] += n
        per = self.tables.setdefault(what, {})
        per[model._meta.label] = per.get(model._meta.label, 0) + n


# What names a row of each table for a person: a login, a code, an extid.
NAMES = ("login", "code", "extid", "name", "label", "title")


def label_conflicts(conflicts: list[dict]) -> None:
    """Give each conflict a `label` naming its row (a user's login, a course's code, or the
    user and the content of a record): one query per table and relation."""
    by_table: dict[str, list] = {}
    for c in conflicts:
        by_table.setdefault(c["table"], []).append(c)
    for table, group in by_table.items():
        model = apps.get_model(table)
        names, own = _name_fields(model)
        if not names:
            continue
        rows = {
            r.pop("pk"): r
            for r in model._base_manager.filter(pk__in=[c["pk"] for c in group]).values(
                "pk", *names
            )
        }
        for c in group:
            row = rows.get(c["pk"])
            if row and own:  # the first of its own names that is set
                c["label"] = next((str(v) for v in row.values() if v not in (None, "")), "")
            elif row:  # the names of the rows it links
                c["label"] = " · ".join(str(v) for v in row.values() if v not in (None, ""))


def _name_fields(model) -> tuple[list[str], bool]:
    """The fields that name a row: its own name fields (True), or those of the rows it links
    (a record's user login and course code)."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    own = [n for n in NAMES if n in fields]
    if own:
        return own, True
    out = []
    for f in fields.values():
        if f.is_relation and f.many_to_one:
            related = {g.name for g in f.related_model._meta.concrete_fields}
            name = next((n for n in NAMES if n in related), None)
            if name:
                out.append(f"{f.name}__{name}")
    return out[:2], False


def refusal(target: Operation) -> str | None:
    """Why the operation cannot be undone, or None when it can."""
    if target.status not in (Operation.Status.DONE,):
        return _(
            "operation #%(op)s is %(status)s: only a completed operation that wrote something "
            "can be undone"
        ) % {"op": target.pk, "status": target.status}
    if not target.undone_by_id:
        return None
    # Once undone, the operation's rows belong to its undo (and to a redo, if the undo was
    # undone): a second undo of the same operation would only find conflicts.
    last, seen = target.undone_by_id, {target.pk}
    while True:
        nxt = Operation.objects.filter(pk=last).values_list("undone_by_id", flat=True).first()
        if not nxt or nxt in seen:
            break
        seen.add(last)
        last = nxt
    if last == target.undone_by_id:
        return _("operation #%(op)s was already undone by #%(by)s") % {
            "op": target.pk,
            "by": target.undone_by_id,
        }
    return _(
        "operation #%(op)s was already undone by #%(by)s; to undo it again, undo #%(last)s"
    ) % {"op": target.pk, "by": target.undone_by_id, "last": last}


def _changes(target: Operation):
    """The operation's changes, newest first, a page at a time (the undo adds changes meanwhile)."""
    last = None
    while True:
        qs = Change.objects.filter(operation=target)
        if last is not None:
            qs = qs.filter(id__lt=last)
        page = list(qs.order_by("-id")[:PAGE])
        if not page:
            return
        yield from page
        last = page[-1].id


def _conflict(model, pk, row=None) -> dict:
    return {"table": model._meta.label, "pk": pk, "row": row}


def _norm(field, value):
    """A value as the field holds it, so journalled (JSON) and current values compare."""
    value = field.to_python(value)
    if isinstance(value, datetime) and settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _unchanged_since(model, obj, after: dict | None) -> bool:
    """The row still holds the values the operation wrote (an edit outside the journal shows)."""
    for k, v in (after or {}).items():
        # A secret's new value is not journalled: the row's op says whether it changed since.
        if k == "op" or (k in writes.SECRETS and v == writes.SECRET_MARK):
            continue
        f = model._meta.get_field(k)
        try:
            if _norm(f, getattr(obj, f.attname)) != _norm(f, v):
                return False
        except Exception:  # a value that no longer parses is a change too
            return False
    return True


def _undo_batch(
    batch: list[Change], target: Operation, op: Operation, conflicts: list, counts: "Tally"
) -> None:
    model = apps.get_model(batch[0].table)
    action = batch[0].action
    # Rows this undo already restored (an operation may write one row twice) are still ours.
    ours = (target.pk, op.pk)
    if action == Change.Action.CREATE:
        pks = list(dict.fromkeys(pk for ch in batch for pk in ch.pks))
        _delete_created(model, pks, ours, op, conflicts, counts)
    elif action == Change.Action.UPDATE:
        # Newest first, as the changes come: within a change of rows updated alike, the order of
        # its rows does not matter (each row is named once).
        entries = [e for ch in batch for e in ch.entries()]
        rows = {}
        for part in _chunks(sorted({pk for pk, *_ in entries})):
            rows.update({o.pk: o for o in _locked(model, part)})
        items = []
        for pk, before_values, after, row in entries:
            obj = rows.get(pk)
            if obj is None or obj.op not in ours or not _unchanged_since(model, obj, after):
                conflicts.append(_conflict(model, pk, row))
                continue
            restored = {
                k: model._meta.get_field(k).to_python(v)
                for k, v in before_values.items()
                if k != "op"
            }
            before = writes.row_values(obj)
            items.append((obj.pk, restored, before, row))
            for k, v in restored.items():  # a second change of the same row sees these values
                setattr(obj, model._meta.get_field(k).attname, v)
            obj.op = op.pk
        # One row changed twice: restore in journal order, one write per round.
        rounds: list[tuple[set, list]] = []
        for item in items:
            free = next((r for r in rounds if item[0] not in r[0]), None)
            if free is None:
                free = (set(), [])
                rounds.append(free)
            free[0].add(item[0])
            free[1].append(item)
        for _, rnd in rounds:
            writes.update(model, rnd, op)
        counts.add("updated", model, len(items))
    else:
        existing = set()
        for part in _chunks([c.pk_value for c in batch]):
            existing.update(model._base_manager.filter(pk__in=part).values_list("pk", flat=True))
        snaps = []
        for ch in batch:
            if ch.pk_value in existing:
                conflicts.append(_conflict(model, ch.pk_value, ch.row))
            else:
                snaps.append(ch.before)
        try:
            with transaction.atomic():
                writes.restore(model, snaps, op)
        except IntegrityError:
            # A unique key was taken since: restore one by one to find which (rare path).
            kept = []
            for snap in snaps:
                try:
                    with transaction.atomic():
                        writes.restore(model, [snap], op)
                    kept.append(snap)
                except IntegrityError:
                    conflicts.append(_conflict(model, snap["id"]))
            snaps = kept
        counts.add("created", model, len(snaps))


def _locked(model, pks: list):
    """The rows, locked until the undo commits (PostgreSQL: FOR UPDATE in id order), so that what
    the undo checks cannot change before it writes: an import writing the same rows meanwhile
    makes the undo wait, then see the import's change as a conflict."""
    return model._base_manager.filter(pk__in=pks).order_by("pk").select_for_update()


def _chunks(values: list, size: int = 900):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _delete_created(
    model, pks: list[int], ours: tuple, op: Operation, conflicts: list, counts: "Tally"
) -> None:
    """Delete the rows the operation created, unless changed or referenced since (conflicts).

    A row referenced by another row of the same batch (a parent organisation, a manager) goes
    once its referrer has gone: blocked rows are tried again while that makes progress.
    """
    blocked: list = []
    for part in _chunks(sorted(pks), writes.CHUNK):
        mine = []
        for o in _locked(model, part):
            # A link table without `op` (a course's audiences) holds nothing to change since.
            if getattr(o, "op", ours[0]) in ours:
                mine.append(o)
            else:
                conflicts.append(_conflict(model, o.pk))
        blocked += _delete_or_split(model, mine, op, counts)
    while blocked:
        retry, blocked = blocked, []
        for part in _chunks(retry, writes.CHUNK):
            blocked += _delete_or_split(model, part, op, counts)
        if len(blocked) == len(retry):
            break
    conflicts.extend(_conflict(model, o.pk) for o in blocked)


def _delete_or_split(model, objs: list, op: Operation, counts: "Tally") -> list:
    """Delete rows nothing refers to any more; return the rows left because something does.

    The rows still referred to are found with one query per relation (and a few more for rows
    of the same table that refer to those), never one per row.
    """
    if not objs:
        return []
    blocked = _referenced(model, [o.pk for o in objs])
    free = [o for o in objs if o.pk not in blocked]
    left = [o for o in objs if o.pk in blocked]
    if not free:
        return left
    try:
        with transaction.atomic():
            _clear_outside_references(model, [o.pk for o in free])
            writes.delete(model, [(o.pk, writes.row_values(o), None) for o in free], op)
        counts.add("deleted", model, len(free))
    except (ProtectedError, IntegrityError):  # e.g. a row written meanwhile: halve to find it
        if len(free) == 1:
            return left + free
        mid = len(free) // 2
        left += _delete_or_split(model, free[:mid], op, counts)
        left += _delete_or_split(model, free[mid:], op, counts)
    return left


def _journalled(model) -> bool:
    return any(f.name == "op" for f in model._meta.concrete_fields)


def _relations(model):
    """Every foreign key that points at `model`, M2M link tables included."""
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            yield rel


def _referenced(model, pks: list) -> set:
    """Which of these rows another row still points at (rows deleted with them aside).

    Rows are deleted without Django's collector, so every foreign key counts, whatever its
    on_delete: a cascade or a SET_NULL would change rows the undone operation never wrote.
    The one exception is a SET_NULL from a table outside the journal (a mail in the outbox,
    an operation's actor): it is cleared instead, as deleting the row through Django would.
    """
    out: set = set()
    selfrefs = []
    for rel in _relations(model):
        related, fk = rel.related_model, rel.field
        if rel.on_delete is models.SET_NULL and not _journalled(related):
            continue
        if rel.on_delete is models.DO_NOTHING and not fk.db_constraint:
            continue
        qs = related._base_manager.filter(**{f"{fk.name}__in": pks})
        if related is model:
            selfrefs.append(fk)
            qs = qs.exclude(pk__in=pks)
        col = fk.attname if fk.target_field.primary_key else f"{fk.name}__pk"
        out.update(qs.values_list(col, flat=True).distinct())
    # A row kept because it is referred to keeps what it refers to among these rows, in turn.
    todo = set(out)
    while todo and selfrefs:
        found: set = set()
        for fk in selfrefs:
            found.update(
                model._base_manager.filter(pk__in=todo, **{f"{fk.name}__in": pks}).values_list(
                    fk.attname, flat=True
                )
            )
        todo = found - out
        out |= found
    return out


def _clear_outside_references(model, pks: list) -> None:
    """SET_NULL references from tables outside the journal are cleared, as Django would."""
    for rel in _relations(model):
        if rel.on_delete is models.SET_NULL and not _journalled(rel.related_model):
            rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": pks}).update(
                **{rel.field.name: None}
            )
