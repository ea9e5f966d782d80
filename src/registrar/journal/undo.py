"""Undo an operation: a new operation that restores the before values, leaving rows changed since."""

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from . import writes
from .models import Change, Operation
from .service import finish_operation, start_operation


class UndoRefused(Exception):
    """The operation cannot be undone at all (verify-only, already undone, still running)."""


def undo(op_id: int, actor=None, verify_only: bool = False) -> tuple[Operation, list[dict]]:
    """Undo operation `op_id`; returns the undo operation and its conflicts (table, pk, row)."""
    target = Operation.objects.filter(pk=op_id).first()
    if target is None:
        raise UndoRefused(f"no operation #{op_id}")
    if target.status not in (Operation.Status.DONE,):
        raise UndoRefused(
            f"operation #{op_id} is {target.status}: only a completed operation that wrote something can be undone"
        )
    if (
        target.undone_by_id
        and Operation.objects.filter(pk=target.undone_by_id, undone_by__isnull=True).exists()
    ):
        raise UndoRefused(f"operation #{op_id} was already undone by #{target.undone_by_id}")
    op = start_operation("undo", f"undo #{op_id}", actor, verify_only=verify_only, undo_of=target)
    conflicts: list[dict] = []
    counts = {"created": 0, "updated": 0, "deleted": 0}
    with transaction.atomic():
        sid = transaction.savepoint()
        batch: list[Change] = []
        for ch in Change.objects.filter(operation=target).order_by("-id").iterator(chunk_size=500):
            if batch and (ch.table, ch.action) != (batch[0].table, batch[0].action):
                _undo_batch(batch, target, op, conflicts, counts)
                batch = []
            batch.append(ch)
        if batch:
            _undo_batch(batch, target, op, conflicts, counts)
        if verify_only:
            transaction.savepoint_rollback(sid)
        else:
            transaction.savepoint_commit(sid)
    rows = counts["created"] + counts["updated"] + counts["deleted"] + len(conflicts)
    status = Operation.Status.VERIFIED if verify_only else Operation.Status.DONE
    finish_operation(op, status, rows=rows, rejected=len(conflicts), **counts)
    if not verify_only:
        target.undone_by = op
        target.save(update_fields=["undone_by"])
    return op, conflicts


def _undo_batch(
    batch: list[Change], target: Operation, op: Operation, conflicts: list, counts: dict
) -> None:
    model = apps.get_model(batch[0].table)
    action = batch[0].action
    if action == Change.Action.CREATE:
        pks = [pk for ch in batch for pk in ch.pks]
        for i in range(0, len(pks), writes.CHUNK):
            _delete_created(model, pks[i : i + writes.CHUNK], target, op, conflicts, counts)
    elif action == Change.Action.UPDATE:
        rows = {o.pk: o for o in model._base_manager.filter(pk__in=[c.pk_value for c in batch])}
        items = []
        for ch in batch:
            obj = rows.get(ch.pk_value)
            if obj is None or obj.op != target.pk:
                conflicts.append({"table": model._meta.label, "pk": ch.pk_value, "row": ch.row})
                continue
            restored = {
                k: model._meta.get_field(k).to_python(v) for k, v in ch.before.items() if k != "op"
            }
            items.append((obj.pk, restored, writes.row_values(obj), ch.row))
        writes.update(model, items, op)
        counts["updated"] += len(items)
    else:
        existing = set(
            model._base_manager.filter(pk__in=[c.pk_value for c in batch]).values_list(
                "pk", flat=True
            )
        )
        snaps = []
        for ch in batch:
            if ch.pk_value in existing:
                conflicts.append({"table": model._meta.label, "pk": ch.pk_value, "row": ch.row})
            else:
                snaps.append(ch.before)
        try:
            with transaction.atomic():
                writes.restore(model, snaps, op)
        except IntegrityError:
            # A unique key was taken since: restore one by one to find which (rare path).
            for snap in snaps:
                try:
                    with transaction.atomic():
                        writes.restore(model, [snap], op)
                except IntegrityError:
                    conflicts.append({"table": model._meta.label, "pk": snap["id"], "row": None})
                    snaps = [s for s in snaps if s is not snap]
        counts["created"] += len(snaps)


def _delete_created(
    model, pks: list[int], target: Operation, op: Operation, conflicts: list, counts: dict
) -> None:
    objs = list(model._base_manager.filter(pk__in=pks))
    mine = [o for o in objs if o.op == target.pk]
    conflicts.extend(
        {"table": model._meta.label, "pk": o.pk, "row": None} for o in objs if o.op != target.pk
    )
    _delete_or_split(model, mine, op, conflicts, counts)


def _delete_or_split(model, objs: list, op: Operation, conflicts: list, counts: dict) -> None:
    """Delete rows; if some are still referenced from rows written since, halve to find them."""
    if not objs:
        return
    try:
        with transaction.atomic():
            _check_protected(model, objs)
            writes.delete(model, [(o.pk, writes.row_values(o), None) for o in objs], op)
        counts["deleted"] += len(objs)
    except (ProtectedError, IntegrityError):
        if len(objs) == 1:
            conflicts.append({"table": model._meta.label, "pk": objs[0].pk, "row": None})
            return
        mid = len(objs) // 2
        _delete_or_split(model, objs[:mid], op, conflicts, counts)
        _delete_or_split(model, objs[mid:], op, conflicts, counts)


def _check_protected(model, objs: list) -> None:
    """Raise ProtectedError when another table still points at one of these rows."""
    pks = [o.pk for o in objs]
    for rel in model._meta.related_objects:
        if rel.many_to_many or not rel.concrete and not rel.one_to_many and not rel.one_to_one:
            continue
        if rel.related_model._meta.auto_created:
            continue
        if rel.on_delete.__name__ in ("CASCADE", "PROTECT", "RESTRICT"):
            qs = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": pks})
            if rel.related_model is model:
                qs = qs.exclude(pk__in=pks)
            if qs.exists():
                raise ProtectedError("referenced", set())
