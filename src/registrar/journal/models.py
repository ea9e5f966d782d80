"""The journal: operations, their changes (before and after values), row results, locks."""

from django.db import models
from django.utils import timezone


class Operation(models.Model):
    """One bulk job: import, action, merge, transfer, export or undo."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        DONE = "done", "done"
        VERIFIED = "verified", "verified (nothing written)"
        ABORTED = "aborted", "aborted (nothing written)"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=30)  # import, action, merge, transfer, export, undo
    name = models.CharField(max_length=60)  # the import kind, action name...
    actor = models.ForeignKey(
        "directory.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    verify_only = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)
    scope = models.ForeignKey(
        "directory.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=500, blank=True, default="")
    file_checksum = models.CharField(max_length=64, blank=True, default="")
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)  # an undo's rows changed since, left
    undo_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undos"
    )
    undone_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    results_path = models.CharField(max_length=1000, blank=True, default="")
    rejects_path = models.CharField(max_length=1000, blank=True, default="")
    log_path = models.CharField(max_length=1000, blank=True, default="")
    error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.name}"

    def counts(self) -> dict:
        names = (
            "rows",
            "created",
            "updated",
            "deleted",
            "unchanged",
            "skipped",
            "rejected",
            "warnings",
        )
        return {n: getattr(self, n) for n in names}


class Change(models.Model):
    """What an operation changed in one table: created pks (a batch), one row's before/after, or
    rows given the same new values (pks, before values column by column, one after)."""

    class Action(models.TextChoices):
        CREATE = "create", "create"
        UPDATE = "update", "update"
        DELETE = "delete", "delete"

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="changes")
    table = models.CharField(max_length=100)  # app_label.ModelName
    action = models.CharField(max_length=6, choices=Action.choices)
    pk_value = models.BigIntegerField(null=True, blank=True)
    pks = models.JSONField(null=True, blank=True)  # created rows, or rows updated alike
    row = models.PositiveIntegerField(null=True, blank=True)  # the input row that caused it
    rows = models.JSONField(null=True, blank=True)  # rows updated alike: each one's input row
    before = models.JSONField(null=True, blank=True)  # rows updated alike: {field: [values]}
    after = models.JSONField(null=True, blank=True)

    def entries(self):
        """(pk, before, after, input row) of each row an update or delete changed."""
        if self.pk_value is not None or self.pks is None:
            yield self.pk_value, self.before, self.after, self.row
            return
        rows = self.rows or [None] * len(self.pks)
        columns = list((self.before or {}).items())
        for i, pk in enumerate(self.pks):
            yield pk, {k: v[i] for k, v in columns}, self.after, rows[i]

    def size(self) -> int:
        """How many rows this change names."""
        return len(self.pks) if self.pks is not None else 1


class ImportLock(models.Model):
    """One running import per kind and scope; left behind by a crash until `registrar unlock`."""

    kind = models.CharField(max_length=60)
    scope_key = models.CharField(max_length=100)
    operation = models.ForeignKey(Operation, null=True, blank=True, on_delete=models.SET_NULL)
    taken_at = models.DateTimeField(default=timezone.now)
    taken_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "scope_key"], name="uniq_import_lock")
        ]
