"""Uploaded files waiting to be imported, and the background jobs that run imports and undos.

They live in the `jobs` database (see registrar.routers): users and operations are referred to by
id, not by foreign key, as on SQLite they are in another file."""

import uuid

from django.db import models
from django.utils import timezone


class Upload(models.Model):
    """A file an administrator sent, kept under DATA_DIR/uploads until it is imported."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=60)
    original_name = models.CharField(max_length=255)
    path = models.CharField(max_length=1000, blank=True)  # emptied once the file is deleted
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    purged_at = models.DateTimeField(null=True, blank=True)  # when its file was deleted

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"


class Job(models.Model):
    """One import, action or undo run in the background, with its live progress. An action's
    `options` hold its parameters and selection."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    IMPORT, ACTION, UNDO = "import", "action", "undo"
    EXPORT = "export"  # its options hold the export's configuration

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.BigIntegerField(db_index=True)
    what = models.CharField(max_length=10)  # import, action or undo
    kind = models.CharField(max_length=60, blank=True, default="")  # the import kind or action
    upload = models.ForeignKey(Upload, null=True, blank=True, on_delete=models.SET_NULL)
    options = models.JSONField(default=dict, blank=True)
    verify_only = models.BooleanField(default=False)
    all_or_nothing = models.BooleanField(default=False)
    scope = models.CharField(max_length=100, blank=True, default="")  # organisation extid
    target_operation_id = models.BigIntegerField(null=True, blank=True)  # what an undo undoes
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    task_id = models.CharField(max_length=64, blank=True, default="")
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    fraction = models.FloatField(null=True, blank=True)
    elapsed = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    operation_id = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=100, blank=True, default="")  # host:pid running it
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # the worker's last sign of life
    reaped_at = models.DateTimeField(null=True, blank=True)  # failed by the reaper: worker dead

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.what} {self.kind} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def rate(self) -> float:
        return self.rows_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        if not self.fraction or self.finished:
            return None
        return max(0.0, self.elapsed / self.fraction - self.elapsed)


class Worker(models.Model):
    """A running `registrar worker`, seen alive at `seen_at` (so pages can tell none is)."""

    name = models.CharField(max_length=64, primary_key=True)  # host:pid:random
    host = models.CharField(max_length=100)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.name


class PurgedFiles(models.Model):
    """An operation whose results, rejects and log files were deleted after the retention."""

    operation_id = models.BigIntegerField(unique=True)
    purged_at = models.DateTimeField(default=timezone.now)
    files = models.IntegerField(default=0)
    bytes = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"operation #{self.operation_id}"


class SavedExport(models.Model):
    """An export configuration saved under a name (SPEC §6): its owner's, or shared with every
    user who may export. `user_id` None: saved from the command line."""

    name = models.CharField(max_length=150)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    owner_label = models.CharField(max_length=150, blank=True, default="")
    shared = models.BooleanField(default=False)
    config = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "name"], name="uniq_saved_export")
        ]

    def __str__(self) -> str:
        return self.name
