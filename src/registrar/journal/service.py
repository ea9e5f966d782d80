"""Operations and import locks: open and close an operation, take and release a lock."""

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from registrar.bulk.io.readers import FileError

from .models import ImportLock, Operation


def file_checksum(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def start_operation(kind: str, name: str, actor=None, **fields) -> Operation:
    """A committed operation row, so its id exists before the job's own transaction."""
    with transaction.atomic():
        return Operation.objects.create(
            kind=kind,
            name=name,
            actor=actor,
            actor_label=getattr(actor, "login", "") or "command line",
            **fields,
        )


def finish_operation(op: Operation, status: str, **fields) -> None:
    for k, v in fields.items():
        setattr(op, k, v)
    op.status = status
    op.finished_at = timezone.now()
    op.save()


def take_lock(kind: str, scope_key: str, op: Operation) -> None:
    """One import per kind and scope at a time; refused with import_locked while another holds it."""
    try:
        with transaction.atomic():
            ImportLock.objects.create(
                kind=kind, scope_key=scope_key, operation=op, taken_by=op.actor_label
            )
    except IntegrityError:
        held = ImportLock.objects.filter(kind=kind, scope_key=scope_key).first()
        since = timezone.localtime(held.taken_at).strftime("%Y-%m-%d %H:%M") if held else "?"
        raise FileError("import_locked", kind=kind, since=since) from None


def release_lock(kind: str, scope_key: str, op: Operation | None = None) -> int:
    """Release a lock (an operation its own, or any for `registrar unlock`)."""
    qs = ImportLock.objects.filter(kind=kind)
    if op is not None:
        qs = qs.filter(scope_key=scope_key, operation=op)
    elif scope_key:
        qs = qs.filter(scope_key=scope_key)
    return qs.delete()[0]
