"""Issue 10 item 7: heartbeats, the reaper, the worker supervised by `registrar serve`; and the
owner's rights checked again when a worker takes a job.

The first tests run in-process; the last ones start real `registrar serve` and `registrar worker`
processes on a database of their own (a temp folder on SQLite, a fresh database on PostgreSQL)."""

import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from registrar.directory.models import RoleGrant
from registrar.jobs import service, supervision
from registrar.jobs.models import Job, Worker
from registrar.journal import service as journal
from registrar.journal.models import ImportLock, Operation
from registrar.learning.models import CourseRecord

from .portal_fixtures import BOTH, COMPLETIONS, run_jobs
from .test_api import Api
from .test_portal import signed_in, text

DB = pytest.mark.django_db(databases=BOTH)
LONG_AGO = timedelta(minutes=10)


def queued(user, verify_only=False, scope="", body=COMPLETIONS) -> Job:
    up = service.save_upload(user, "completions", [body.encode()], "c.csv")
    return service.start_import(user, up, {}, verify_only=verify_only, scope=scope)


def as_if_its_worker_died(job: Job, with_lock: bool = True) -> Operation:
    """The state a worker killed mid-import leaves: the job running with an old heartbeat, its
    operation running, its import lock held, its task row running."""
    op = journal.start_operation("import", "completions", None)
    if with_lock:
        journal.take_lock("completions", "*", op)
    old = timezone.now() - LONG_AGO
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        started_at=old,
        heartbeat_at=old,
        worker="elsewhere:4242",
        operation_id=op.pk,
    )
    DBTaskResult.objects.filter(id=job.task_id).update(
        status=TaskResultStatus.RUNNING, started_at=old
    )
    return op


@DB
def test_item7_job_of_a_dead_worker_is_failed_with_its_operation_lock_and_task(world):
    dead, alive = queued(world.admin), queued(world.admin)
    op = as_if_its_worker_died(dead)
    now = timezone.now()
    Job.objects.filter(pk=alive.pk).update(status="running", started_at=now, heartbeat_at=now)

    assert supervision.reap() == [dead.pk]

    dead.refresh_from_db()
    assert dead.status == "failed" and dead.reaped_at and dead.finished_at
    assert "worker running this job stopped" in dead.error and "last sign of life" in dead.error
    op.refresh_from_db()
    assert op.status == "failed" and op.error == dead.error and op.finished_at
    assert not ImportLock.objects.filter(operation=op).exists()
    assert DBTaskResult.objects.get(id=dead.task_id).status == TaskResultStatus.FAILED
    assert Job.objects.get(pk=alive.pk).status == "running"  # a fresh heartbeat: left alone
    # Idempotent: a second reaper (another worker, a page) finds nothing more to do.
    assert supervision.reap() == []
    assert Job.objects.get(pk=dead.pk).error == dead.error


@DB
def test_item7_a_new_import_of_the_same_kind_runs_once_the_dead_one_is_reaped(world):
    dead = queued(world.admin)
    as_if_its_worker_died(dead)
    blocked = queued(world.admin)
    run_jobs()
    blocked.refresh_from_db()
    assert blocked.status == "failed" and blocked.error.startswith("import_locked")
    supervision.reap()
    again = queued(world.admin)
    run_jobs()
    again.refresh_from_db()
    assert again.status == "done" and again.result["created"] == 2


@DB
def test_item7_a_job_reaped_while_its_worker_still_runs_stops_and_stays_failed(world, settings):
    """A worker that was only slow (no heartbeat written for a while) and comes back: the
    reaper's verdict stands, and the import stops at its next progress write, rolled back."""
    settings.REGISTRAR_BATCH_SIZE = 1
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 1  # completions take the columnar lane
    job = queued(world.admin)
    real = service._progress_writer

    def slow_then_reaped(j):
        write = real(j)

        def progress(done, total, fraction, elapsed):
            old = timezone.now() - LONG_AGO
            Job.objects.filter(pk=j.pk).update(heartbeat_at=old)
            assert supervision.reap() == [j.pk]
            write(done, total, fraction, elapsed)

        return progress

    with patch.object(service, "_progress_writer", slow_then_reaped):
        run_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "worker running this job stopped" in job.error
    assert Operation.objects.get(pk=job.operation_id).status == "failed"
    assert not ImportLock.objects.exists()
    assert CourseRecord.objects.count() == 0  # rolled back


@DB
def test_item7_portal_and_api_show_a_job_whose_worker_died(world, tokens):
    page_job, api_job = queued(world.admin), queued(world.admin)
    page_op = as_if_its_worker_died(page_job)
    as_if_its_worker_died(api_job, with_lock=False)

    html = text(signed_in("admin").get(f"/jobs/{page_job.pk}/status/"))
    assert 'data-status="failed"' in html and "worker running this job stopped" in html
    page_op.refresh_from_db()
    assert page_op.status == "failed" and not ImportLock.objects.exists()

    r = Api(tokens.admin).get(f"/api/jobs/{api_job.pk}")
    assert r.status_code == 200
    assert r.json()["status"] == "failed" and "worker running this job stopped" in r.json()["error"]


@DB
def test_item7_a_job_queued_while_no_worker_is_alive_says_so(world, tokens):
    job = queued(world.admin)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - LONG_AGO)
    Worker.objects.create(name="gone", host="h", pid=1, seen_at=timezone.now() - LONG_AGO)
    c, api = signed_in("admin"), Api(tokens.admin)

    assert "is `registrar worker` running?" in text(c.get(f"/jobs/{job.pk}/"))
    assert "registrar worker" in api.get(f"/api/jobs/{job.pk}").json()["hint"]

    Worker.objects.create(name="alive", host="h", pid=2, seen_at=timezone.now())
    assert "registrar worker" not in text(c.get(f"/jobs/{job.pk}/status/"))
    assert api.get(f"/api/jobs/{job.pk}").json()["hint"] == ""


@DB
def test_item7_a_task_claimed_by_a_worker_that_died_before_its_job_started_runs_again(world):
    job = queued(world.admin)
    DBTaskResult.objects.filter(id=job.task_id).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - LONG_AGO
    )
    assert supervision.requeue_unstarted() == 1
    run_jobs()
    job.refresh_from_db()
    assert job.status == "done"


# --- the owner's rights, checked again when the worker takes the job ------------------------


def _disable(world):
    world.eu_admin.disabled = True
    world.eu_admin.save()


def _expire(world):
    world.eu_admin.expiration_date = date.today() - timedelta(days=2)
    world.eu_admin.save()


def _remove_role(world):
    RoleGrant.objects.filter(user=world.eu_admin).delete()


def _move_scope(world):
    RoleGrant.objects.filter(user=world.eu_admin).update(scope=world.us)


LOSSES = {
    "disabled": (_disable, "disabled or has expired"),
    "expired": (_expire, "disabled or has expired"),
    "role removed": (_remove_role, "Your roles do not let you run the completions import"),
    "scope changed": (_move_scope, "You may not act on organisation ACME-EU"),
}


@DB
@pytest.mark.parametrize("loss", list(LOSSES))
def test_queued_job_of_a_user_who_lost_their_rights_fails_without_running(world, loss):
    job = queued(world.eu_admin, scope="ACME-EU")
    change, reason = LOSSES[loss]
    change(world)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("This job was not run: its owner may no longer do it.")
    assert reason in job.error
    assert job.operation_id is None and not Operation.objects.exists()
    assert CourseRecord.objects.count() == 0


@DB
def test_queued_platform_wide_job_of_a_user_now_confined_to_an_organisation_fails(world):
    job = queued(world.admin)
    RoleGrant.objects.filter(user=world.admin).update(scope=world.eu)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed" and "no longer cover the whole platform" in job.error
    assert not Operation.objects.exists()


@DB
def test_queued_undo_of_a_user_who_lost_their_role_fails_without_running(world):
    done = queued(world.eu_admin, scope="ACME-EU")
    run_jobs()
    done.refresh_from_db()
    op = Operation.objects.get(pk=done.operation_id)
    undo = service.start_undo(world.eu_admin, op, verify_only=False)
    _remove_role(world)
    run_jobs()
    undo.refresh_from_db()
    assert undo.status == "failed" and "not run" in undo.error
    assert Operation.objects.count() == 1 and CourseRecord.objects.count() == 1


# --- real processes -------------------------------------------------------------------------

HEARTBEAT, STALE = 0.5, 5.0  # a loaded CI machine may delay a beat a second or two
BIG_ROWS = 200_000  # rows of the slow import (one row per batch): it runs far longer than the test


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes() -> dict[int, dict]:
    """Every process on the machine: pid → ppid, command line and environment (when readable)."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            env = (p / "environ").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        out[int(p.name)] = {"ppid": ppid, "cmd": cmd, "env": env}
    return out


def wait_for(what, timeout: float = 30.0, every: float = 0.1):
    """Poll `what()` until it answers something true; that answer (fails after `timeout`)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"still waiting after {timeout} s for {what}")


class Installation:
    """A Registrar installation of its own: `registrar init`, a site administrator `boss` with
    an API token, and helpers to start its commands and call its API."""

    def __init__(self, folder: Path, database_url: str | None):
        self.folder = folder
        self.marker = str(folder / "data")
        self.env = {
            **os.environ,
            "REGISTRAR_DATA": self.marker,
            "REGISTRAR_SECRET_KEY": "a-key-of-this-test-installation",
            "REGISTRAR_JOB_HEARTBEAT": str(HEARTBEAT),
            "REGISTRAR_JOB_STALE": str(STALE),
            "REGISTRAR_BATCH_SIZE": "1",
            # The lane's batches too: its first batch of 50,000 rows, all left to the row
            # path one by one, took most of a minute before the first progress on a busy machine.
            "REGISTRAR_COLUMNAR_BATCH_SIZE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL", None)
            self.env["REGISTRAR_DB"] = str(folder / "registrar.sqlite3")
        self.started: list[subprocess.Popen] = []
        self.cli("init")
        self.token = self.python(BOSS).strip()
        self.port = None

    def cli(self, *args, check=True, timeout=120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "registrar.cli", *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def python(self, code: str) -> str:
        r = subprocess.run(
            [sys.executable, "-c", PRELUDE + code],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    def state(self, job_id: str) -> dict:
        """The job, its operation, the locks and its task row, as the databases hold them."""
        return json.loads(self.python(STATE.replace("JOB_ID", job_id)))

    def start(self, *args, name: str) -> subprocess.Popen:
        with open(self.folder / f"{name}.out", "w") as out:  # the child keeps its own copy
            p = subprocess.Popen(
                [sys.executable, "-m", "registrar.cli", *args],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(p)
        return p

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.out").read_text()

    def serve(self, *args) -> subprocess.Popen:
        self.port = free_port()
        p = self.start("serve", "--port", str(self.port), *args, name="serve")
        wait_for(lambda: self._up(p), timeout=60)
        return p

    def _up(self, p) -> bool:
        assert p.poll() is None, self.output("serve")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def api(self, method: str, path: str, body=None, files=None) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if files:
            boundary = secrets.token_hex(8)
            parts = []
            for k, v in (body or {}).items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                )
            head = "".join(parts) + (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{files.name}"\r\nContent-Type: text/csv\r\n\r\n'
            )
            data = head.encode() + files.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def run_import(self, path: Path) -> str:
        """Upload a completions file through the API and queue its import: the job id."""
        up = self.api("POST", "/api/uploads", {"kind": "completions"}, files=path)
        return self.api("POST", f"/api/uploads/{up['id']}/run", {})["id"]

    def job(self, job_id: str) -> dict:
        return self.api("GET", f"/api/jobs/{job_id}")

    def portal_page(self, path: str) -> str:
        """A portal page, signed in as boss through the login form (CSRF and all)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{self.port}"
        form = opener.open(f"{base}/login/", timeout=30).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
        data = urllib.parse.urlencode(
            {"username": "boss", "password": "boss-pass", "csrfmiddlewaretoken": csrf}
        ).encode()
        req = urllib.request.Request(f"{base}/login/", data=data, headers={"Referer": base})
        opener.open(req, timeout=30).read()
        return opener.open(f"{base}{path}", timeout=30).read().decode()

    def workers(self) -> dict[int, dict]:
        """Live `registrar worker` processes of this installation (found by its data folder)."""
        return {
            pid: p
            for pid, p in processes().items()
            if "registrar.cli worker" in p["cmd"] and self.marker in p["env"]
        }

    def stop(self) -> None:
        for p in self.started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.started:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for pid in self.workers():  # never left behind, whatever a test did
            os.kill(pid, signal.SIGKILL)


PRELUDE = (
    "import os, json, django\n"
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'registrar.settings')\n"
    "django.setup()\n"
)
BOSS = """
from registrar.directory.models import Organisation, Role, RoleGrant, User
root = Organisation.objects.create(extid="ROOT", label="Root")
boss = User(login="boss", organisation=root, last_name="Boss", first_name="B", culture="en-GB")
boss.set_password("boss-pass")
boss.save()
RoleGrant.objects.create(user=boss, role=Role.objects.get(name="Site administrator"))
from registrar.api.models import ApiToken
print(ApiToken.issue(boss, "test")[1])
"""
STATE = """
from django_tasks_db.models import DBTaskResult
from registrar.jobs.models import Job
from registrar.journal.models import ImportLock, Operation
job = Job.objects.get(pk="JOB_ID")
op = Operation.objects.filter(pk=job.operation_id).first()
task = DBTaskResult.objects.filter(id=job.task_id).first()
print(json.dumps({
    "status": job.status, "error": job.error, "operation": job.operation_id,
    "operation_status": op and op.status, "operation_error": op and op.error,
    "locks": ImportLock.objects.count(), "task": task and task.status,
    "upload_purged": bool(job.upload and job.upload.purged_at),
}))
"""


def completions_file(folder: Path, rows: int) -> Path:
    path = folder / f"completions-{rows}.csv"
    lines = ["course_id;user_email;completion_date"]
    lines += [f"NOPE-{i};u{i}@example.com;2024-06-15" for i in range(rows)]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


@pytest.fixture
def installation(tmp_path):
    """A fresh installation: a temp folder on SQLite; on PostgreSQL, a database of its own,
    created here and dropped after."""
    default = django_settings.DATABASES["default"]
    url, dropper = None, None
    if default["ENGINE"].endswith("postgresql"):
        import psycopg

        name = f"{default['NAME'].removeprefix('test_')}_sv_{secrets.token_hex(4)}"
        auth = default["USER"] + (f":{default['PASSWORD']}" if default["PASSWORD"] else "")
        server = f"postgresql://{auth}@{default['HOST'] or '127.0.0.1'}:{default['PORT'] or 5432}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"{server}/{name}"

        def dropper():
            with psycopg.connect(f"{server}/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    inst = None
    try:
        inst = Installation(tmp_path, url)
        yield inst
    finally:
        if inst is not None:
            inst.stop()
        if dropper:
            dropper()


def test_item7_serve_on_a_port_in_use_exits_2_and_leaves_no_worker(installation):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = installation.cli("serve", "--port", str(port), "--worker", check=False, timeout=60)
    assert r.returncode == 2, r.stderr
    assert f"port {port} is in use on 127.0.0.1" in r.stderr and "--port" in r.stderr
    time.sleep(1)  # a worker, had one been started, would be running by now
    assert installation.workers() == {}


def test_item7_worker_killed_mid_job_is_reaped_and_the_next_import_runs(installation):
    inst = installation
    inst.serve("--no-worker")
    worker = inst.start("worker", name="worker")
    job_id = inst.run_import(completions_file(inst.folder, BIG_ROWS))
    wait_for(lambda: inst.job(job_id)["rows_done"] > 0, timeout=60)
    # Alive and beating, a job that runs longer than the stale time is left alone.
    time.sleep(STALE * 1.5)
    assert inst.job(job_id)["status"] == "running"

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    failed = wait_for(lambda: (j := inst.job(job_id))["status"] == "failed" and j, timeout=30)
    assert "worker running this job stopped" in failed["error"]

    state = inst.state(job_id)
    assert state["operation_status"] == "failed" and state["operation_error"] == failed["error"]
    assert state["locks"] == 0 and state["task"] == "FAILED" and state["upload_purged"]
    assert "worker running this job stopped" in inst.portal_page(f"/jobs/{job_id}/")
    op = inst.api("GET", f"/api/operations/{state['operation']}")
    assert op["status"] == "failed"

    # The lock is released: a new import of the same kind runs.
    again = inst.run_import(completions_file(inst.folder, 3))
    inst.cli("worker", "--batch")
    assert inst.job(again)["status"] == "done"
    assert inst.state(again)["operation_status"] == "done"


def test_item7_serve_restarts_a_killed_worker_and_a_later_job_runs(installation):
    inst = installation
    serve = inst.serve("--worker")
    first = wait_for(lambda: list(inst.workers()), timeout=60)
    assert [inst.workers()[pid]["ppid"] for pid in first] == [serve.pid]

    os.kill(first[0], signal.SIGKILL)
    second = wait_for(lambda: [p for p in inst.workers() if p not in first], timeout=60)
    assert inst.workers()[second[0]]["ppid"] == serve.pid
    wait_for(lambda: "stopped unexpectedly" in inst.output("serve"), timeout=10)

    job_id = inst.run_import(completions_file(inst.folder, 3))
    done = wait_for(lambda: (j := inst.job(job_id))["status"] == "done" and j, timeout=60)
    assert done["result"]["rejected"] == 3

    # However serve ends, its worker ends with it (here: SIGKILL, no cleanup at all).
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    wait_for(lambda: inst.workers() == {}, timeout=30)
