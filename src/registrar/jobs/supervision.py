"""Heartbeats and the reaper: a job whose worker died ends `failed` (its operation failed, its
import lock released, its task row failed) instead of staying `running` for ever; and the
registry of live workers, so that a page can tell when no worker will ever take a job."""

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registrar.journal.models import ImportLock, Operation

from . import retention
from .culture import language_of
from .models import Job, Worker
from .quick import quick

log = logging.getLogger("registrar.jobs")
HOST = socket.gethostname()[:40]
SETTLE_DAYS = 7  # reaped jobs whose operation or lock is still left are looked at this long
FORGET_WORKERS = timedelta(days=1)  # rows of workers not seen for this long are deleted


class JobReaped(Exception):
    """The reaper failed this job meanwhile (its worker was presumed dead): stop, keep nothing."""


def worker_label() -> str:
    """Which process runs a job: host:pid."""
    return f"{HOST}:{os.getpid()}"


def new_worker_name() -> str:
    """A worker's id, unique across hosts and restarts (django-tasks-db's limit: 64 chars)."""
    return f"{worker_label()}:{secrets.token_hex(4)}"


def stale_cutoff(now=None):
    """Heartbeats older than this are a dead worker's."""
    return (now or timezone.now()) - timedelta(seconds=settings.REGISTRAR_JOB_STALE)


def _stale(cutoff) -> Q:
    # A job taken before heartbeats existed has none: its start time stands in.
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


class Heartbeat:
    """While a job runs, a thread that writes its heartbeat every REGISTRAR_JOB_HEARTBEAT
    seconds, on a connection of its own to the jobs database (on SQLite another file: it never
    waits for the import's write lock on the main one)."""

    def __init__(self, job_id):
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {job_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        every = max(0.05, settings.REGISTRAR_JOB_HEARTBEAT)
        try:
            while not self._stop.wait(every):
                try:
                    beat = Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError as e:
                    log.warning("job %s: heartbeat not written (%s)", self.job_id, e)
                    continue
                if not beat:
                    return  # ended, or reaped: the progress writer stops the import
        finally:
            connections.close_all()


def _reap_message(job: Job, last) -> str:
    with translation.override(language_of(job.user_id)):
        return _(
            "The worker running this job stopped (its last sign of life was at %(when)s): the "
            "job did not finish and nothing it did was kept."
        ) % {"when": timezone.localtime(last).strftime("%Y-%m-%d %H:%M:%S")}


def reap(job_ids=None) -> list:
    """Fail every running job whose heartbeat is stale (only those of `job_ids` when given) and
    clean up after it; the ids of the jobs this call failed. A conditional UPDATE decides:
    two reapers, or a reaper and a slow worker that beats again, never both win."""
    now = timezone.now()
    cutoff = stale_cutoff(now)
    qs = Job.objects.filter(_stale(cutoff), status=Job.Status.RUNNING)
    if job_ids is not None:
        qs = qs.filter(pk__in=list(job_ids))
    reaped = []
    for job in qs:
        last = job.heartbeat_at or job.started_at or job.created_at
        error = _reap_message(job, last)
        won = Job.objects.filter(_stale(cutoff), pk=job.pk, status=Job.Status.RUNNING).update(
            status=Job.Status.FAILED, finished_at=now, reaped_at=now, error=error
        )
        if not won:
            continue
        log.warning(
            "job %s (%s %s): its worker %s stopped (last heartbeat %s): marked failed",
            job.pk,
            job.what,
            job.kind,
            job.worker or "?",
            last.isoformat(),
        )
        reaped.append(job.pk)
        _fail_task(job.task_id, error)
        if job.operation_id:
            settle(job.operation_id, error)
        if job.what == Job.IMPORT and not job.verify_only and job.upload_id:
            _drop_upload(job.upload_id)
    return reaped


def _drop_upload(upload_id) -> None:
    try:
        retention.drop_upload(upload_id)
    except (DatabaseError, OSError) as e:
        log.warning("upload %s: not deleted (%s)", upload_id, e)


def _fail_task(task_id: str, error: str) -> None:
    """The django-tasks-db row of a reaped job, failed if it still says running (its database
    may be SQLite's main file: a busy one leaves the row, which nothing reads but the admin)."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if not task_id:
        return
    try:
        with quick(DBTaskResult.objects.db):
            DBTaskResult.objects.filter(id=task_id, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=f"{__name__}.JobReaped",
                traceback=error,
                return_value=None,
            )
    except DatabaseError as e:
        log.warning("task %s: not marked failed, the database is busy (%s)", task_id, e)


def settle(op_id: int, error: str) -> bool:
    """A dead worker's operation marked failed (if still running) and its import locks released;
    False when SQLite's main file stayed busy (settle_reaped tries again). Reads first, so that
    nothing waits for a write lock when there is nothing to do."""
    try:
        with quick():
            running = Operation.objects.filter(pk=op_id, status=Operation.Status.RUNNING)
            if running.exists():
                running.update(
                    status=Operation.Status.FAILED, finished_at=timezone.now(), error=error[:1000]
                )
            locks = ImportLock.objects.filter(operation_id=op_id)
            if locks.exists():
                n = locks.delete()[0]
                log.warning("operation %s: %s import lock(s) of a dead worker released", op_id, n)
        return True
    except DatabaseError as e:
        log.warning("operation %s: not settled yet, the database is busy (%s)", op_id, e)
        return False


def settle_reaped() -> int:
    """Settle again the reaped jobs whose operation still runs or still holds a lock (the main
    database was busy when they were reaped); how many were settled."""
    since = timezone.now() - timedelta(days=SETTLE_DAYS)
    errors = dict(
        Job.objects.filter(reaped_at__gte=since, operation_id__isnull=False).values_list(
            "operation_id", "error"
        )
    )
    if not errors:
        return 0
    left = set(
        Operation.objects.filter(pk__in=errors, status=Operation.Status.RUNNING).values_list(
            "pk", flat=True
        )
    )
    left |= set(
        ImportLock.objects.filter(operation_id__in=errors).values_list("operation_id", flat=True)
    )
    return sum(settle(op_id, errors[op_id]) for op_id in sorted(left))


def requeue_unstarted() -> int:
    """Task rows a worker claimed but died before it took their job (still queued): ready
    again, so that another worker runs them (the job's own queued→running UPDATE still makes
    sure it runs once)."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = stale_cutoff()
    claimed = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    ids = [str(pk) for pk in claimed.values_list("id", flat=True)[:500]]
    if not ids:
        return 0
    queued = list(
        Job.objects.filter(task_id__in=ids, status=Job.Status.QUEUED).values_list(
            "task_id", flat=True
        )
    )
    if not queued:
        return 0
    with quick(DBTaskResult.objects.db):
        n = claimed.filter(id__in=queued).update(status=TaskResultStatus.READY, started_at=None)
    if n:
        log.warning("%s task(s) claimed by a worker that stopped are queued again", n)
    return n


def reap_if_stale(job: Job) -> Job:
    """The job as a page should show it: reaped first when it runs with a stale heartbeat, so
    that the person watching sees at once that its worker stopped."""
    if job.status == Job.Status.RUNNING and job.pk in reap([job.pk]):
        job.refresh_from_db()
    return job


def worker_alive() -> bool:
    """Whether some `registrar worker` showed a sign of life within REGISTRAR_JOB_STALE."""
    return Worker.objects.filter(seen_at__gte=stale_cutoff()).exists()


def waiting_hint(job: Job) -> str:
    """For a job queued longer than the stale time while no worker is alive, what to check."""
    if job.status != Job.Status.QUEUED or job.created_at >= stale_cutoff() or worker_alive():
        return ""
    return _("No worker has taken this job: is `registrar worker` running?")


class Presence:
    """A worker's row in the registry, seen now and then; deleted when the worker stops."""

    def __init__(self, name: str):
        self.name = name

    def beat(self) -> None:
        now = timezone.now()
        if not Worker.objects.filter(name=self.name).update(seen_at=now):
            Worker.objects.create(name=self.name, host=HOST, pid=os.getpid(), seen_at=now)

    def leave(self) -> None:
        try:
            Worker.objects.filter(name=self.name).delete()
        except DatabaseError as e:
            log.warning("worker %s: its row was not removed (%s)", self.name, e)


def maintain() -> None:
    """One round of the reaper: stale jobs failed, what a busy database left settled, tasks of
    a dead claimer queued again, workers long gone forgotten."""
    reap()
    settle_reaped()
    requeue_unstarted()
    old = Worker.objects.filter(seen_at__lt=timezone.now() - FORGET_WORKERS)
    if old.exists():
        old.delete()


class Maintenance(threading.Thread):
    """In a worker: its presence and the reaper every REGISTRAR_JOB_HEARTBEAT seconds, the purge
    every REGISTRAR_PURGE_INTERVAL (both at start too), on this thread's own connections."""

    def __init__(self, presence: Presence | None):
        super().__init__(name="registrar maintenance", daemon=True)
        self.presence = presence
        self.stopping = threading.Event()

    def run(self) -> None:
        every = max(0.05, settings.REGISTRAR_JOB_HEARTBEAT)
        purge_every = settings.REGISTRAR_PURGE_INTERVAL
        next_purge = time.monotonic()
        try:
            while True:
                close_old_connections()
                due = purge_every > 0 and time.monotonic() >= next_purge
                self._round(purge=due)
                if due:
                    next_purge = time.monotonic() + purge_every
                if self.stopping.wait(every):
                    return
        finally:
            connections.close_all()

    def _round(self, purge: bool) -> None:
        maintenance_round(self.presence, purge)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def maintenance_round(presence: Presence | None = None, purge: bool = False) -> None:
    """What a worker does now and then: show itself alive, reap, and purge when `purge`. Each
    step on its own: one failing (the database away) does not keep the others from running."""
    steps = [presence.beat] if presence else []
    steps.append(maintain)
    if purge:
        steps.append(_purge)
    for step in steps:
        try:
            step()
        except Exception:  # the maintenance thread must outlive any failure
            log.exception("worker maintenance: %s failed", step.__name__)


def _purge() -> None:
    done = retention.purge()
    if done["uploads"] or done["operations"]:
        log.info("purge: %s", done)
