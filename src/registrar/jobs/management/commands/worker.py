"""registrar worker: run queued jobs (imports, undos) in the background."""

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from registrar.core.security import refuse_insecure_start
from registrar.jobs import supervision

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Command(BaseCommand):
    help = "Run background jobs until stopped (several workers may run; a job runs once)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls.")
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then stop.")
        parser.add_argument(
            "--parent",
            type=int,
            default=None,
            metavar="PID",
            help="Stop when process PID (the one that started this worker) ends.",
        )

    def handle(self, *args, **o):
        refuse_insecure_start()
        if o["parent"] and not watch_parent(o["parent"]):
            return
        name = supervision.new_worker_name()
        maintenance = None
        if o["batch"]:
            supervision.maintenance_round(purge=True)  # once, in this thread
        else:
            maintenance = supervision.Maintenance(supervision.Presence(name))
            maintenance.start()
        try:
            call_command(
                "db_worker",
                queue_name="*",
                interval=o["interval"],
                batch=o["batch"],
                reload=False,
                startup_delay=False,
                worker_id=name,
                verbosity=o["verbosity"],
            )
        finally:
            if maintenance is not None:
                maintenance.stop()
                supervision.Presence(name).leave()


def watch_parent(pid: int) -> bool:
    """Stop this worker when process `pid` ends, however it ends (os._exit included): on Linux
    the kernel sends SIGTERM (PR_SET_PDEATHSIG), elsewhere a thread sees the parent change.
    SIGTERM lets the job in hand finish first. False when the parent is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # no libc prctl: the thread alone
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != pid:
        return False

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()
    return True
