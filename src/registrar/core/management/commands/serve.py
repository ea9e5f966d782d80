"""registrar serve: the portal, the API and the admin; on SQLite, a job worker alongside."""

import argparse
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from registrar.core.management.commands.init import migrate_all
from registrar.core.security import refuse_insecure_start
from registrar.routers import separate_jobs_db

log = logging.getLogger("registrar.serve")
FIRST_DELAY, MAX_DELAY = 1.0, 30.0  # seconds before a stopped worker is started again
HEALTHY = 60.0  # a worker that ran this long restarts without delay growth
STOP_GRACE = 10.0  # seconds a worker is given to stop before it is killed


class Command(BaseCommand):
    help = "Serve Registrar on http://127.0.0.1:PORT (with a background worker on SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--worker",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Run a job worker alongside (default: yes on SQLite, no on PostgreSQL, where "
            "workers run on their own with `registrar worker`).",
        )

    def handle(self, *args, **o):
        refuse_insecure_start()
        check_port(o["host"], o["port"])
        migrate_all()
        # A terminated server stops its worker too: SIGTERM unwinds through the finally below.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        want = separate_jobs_db() if o["worker"] is None else o["worker"]
        supervisor = Supervisor() if want else None
        if supervisor is not None:
            supervisor.start()
        try:
            call_command(
                "runserver", f"{o['host']}:{o['port']}", use_reloader=False, insecure_serving=True
            )
        finally:
            if supervisor is not None:
                supervisor.stop()


def check_port(host: str, port: int) -> None:
    """Exit 2 before anything starts when the port cannot be listened on (runserver would print
    the error and os._exit, skipping every cleanup)."""
    name = host.strip("[]")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise CommandError(f"cannot serve on {host}: {e.strerror}", returncode=2) from None
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} is in use on {host}: stop what uses it, or choose another "
                    "port with --port",
                    returncode=2,
                ) from None
            raise CommandError(
                f"cannot listen on {host}:{port}: {e.strerror}", returncode=2
            ) from None


class Supervisor(threading.Thread):
    """Runs `registrar worker` and starts it again when it stops unexpectedly, waiting longer
    after each quick failure. The worker watches this process (--parent) and stops with it."""

    def __init__(self):
        super().__init__(name="worker supervisor", daemon=True)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.restarts = 0

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "registrar.cli",
            "worker",
            "--verbosity",
            "0",
            "--parent",
            str(os.getpid()),
        ]

    def run(self) -> None:
        # Spawned from this thread, which lives as long as the server: the kernel's parent-death
        # signal (PR_SET_PDEATHSIG) follows the thread that started the child.
        delay = FIRST_DELAY
        while True:
            with self.lock:
                if self.stopping.is_set():
                    return
                started = time.monotonic()
                try:
                    # Its own session: a Ctrl-C on the terminal reaches the server, which then
                    # stops the worker, rather than both at once (seen here as a crash).
                    self.process = subprocess.Popen(
                        self.command(), env=os.environ.copy(), start_new_session=True
                    )
                except OSError as e:
                    log.error("the job worker could not be started: %s", e)
                    self.process = None
            code = self.process.wait() if self.process is not None else None
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY:
                delay = FIRST_DELAY
            self.restarts += 1
            log.warning(
                "the job worker (pid %s) stopped unexpectedly (exit status %s): starting a new "
                "one in %g s (restart %s)",
                self.process.pid if self.process is not None else "-",
                code,
                delay,
                self.restarts,
            )
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY)

    def stop(self) -> None:
        """Stop the worker (SIGTERM: it finishes its job in hand if it can, within STOP_GRACE)."""
        with self.lock:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            log.warning("the job worker did not stop within %g s: killed", STOP_GRACE)
            process.kill()
            process.wait()
