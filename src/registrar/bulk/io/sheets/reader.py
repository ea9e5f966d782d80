"""The parent's side: runs the child, reads its batches, turns how it ended into a Refusal."""

import contextlib
import csv
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile

from .limits import CODES, Limits, Refusal

log = logging.getLogger("registrar.bulk")
MAX_BATCH = 1 << 26  # bytes a batch header may announce (above: the child is not ours)


# The directory holding the registrar package this module came from: the child imports the
# same code, whatever the environment's PYTHONPATH (the child runs isolated, -I).
_SRC = os.path.abspath(__file__)
for _ in range(5):
    _SRC = os.path.dirname(_SRC)
# The child runs without site (-S: 25 ms less to start); python-calamine, which .xls and .ods
# need, is found where this process found it.
_BOOT = (
    "import sys; sys.path[:0] = [p for p in sys.argv[1:3] if p]; "
    "from registrar.bulk.io.sheets.child import main; sys.exit(main(sys.argv[3:]))"
)


def _calamine_dir() -> str:
    import importlib.util

    spec = importlib.util.find_spec("python_calamine")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return os.path.dirname(list(spec.submodule_search_locations)[0])


class ChildReader:
    """Runs `main` in a child process and yields (row number, cells) from its pipe.

    Errors come as Refusal; close() (also on an early stop) always ends the child."""

    def __init__(self, path: str, kind: str, limits: Limits):
        self.limits = limits
        self.fraction = 0.0
        self.last_row: int | None = None
        self.peak_kb: int | None = None
        self._error: tuple[str, str] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C.UTF-8"}
        calamine = _calamine_dir() if kind != "xlsx" else ""
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-c", _BOOT, _SRC, calamine, path, kind]
            + limits.args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            close_fds=True,
        )
        self._closed = False

    def rows(self):
        """(row number, cells) of every non-blank row, then the child's verdict."""
        while (batch := self._batch()) is not None:
            for rec in csv.reader(io.StringIO(batch, newline="")):
                if not rec:
                    continue
                head = rec[0]
                if head[:1] == "!":
                    self._control(rec)
                else:
                    yield int(head), rec[1:]
        self._finish()
        self.fraction = 1.0

    def _batch(self) -> str | None:
        out = self.proc.stdout
        line = out.readline(32)
        if not line:
            return None
        try:
            n = int(line)
        except ValueError:
            n = -1
        if not 0 <= n <= MAX_BATCH:
            self.close()
            raise Refusal("unreadable_file", "the spreadsheet reader sent something unexpected")
        data = out.read(n)
        if len(data) < n:
            return None  # the child died mid-batch: _finish says why
        return data.decode("utf-8", "replace")

    def _control(self, rec: list[str]) -> None:
        what = rec[0]
        try:
            if what == "!p":
                self.fraction = float(rec[1])
            elif what == "!n":
                self.last_row = int(rec[1])
            elif what == "!m":
                self.peak_kb = int(rec[1])
            elif what == "!e":
                code = rec[1] if rec[1] in CODES else "unreadable_file"
                self._error = (code, rec[2][:500])
        except (IndexError, ValueError):
            pass

    def _finish(self) -> None:
        rc = self.proc.wait()
        self._stderr.seek(0)
        detail = self._stderr.read(4096).decode("utf-8", "replace")
        self.close()
        if self._error:
            raise Refusal(*self._error)
        if rc == 0:
            return
        memory = (
            f"reading it needs more than {self.limits.memory_mb:,} MB of memory "
            "(REGISTRAR_SHEET_MEMORY_MB)"
        )
        cpu = (
            f"reading it takes more than {self.limits.cpu_seconds:,} s of processor time "
            "(REGISTRAR_SHEET_CPU_SECONDS)"
        )
        if rc == 3 or "memory allocation" in detail or "MemoryError" in detail:
            raise Refusal("file_too_large", memory)
        if rc in (-signal.SIGXCPU, -signal.SIGKILL):
            raise Refusal("file_too_large", cpu)
        if rc == -signal.SIGABRT and "overflow" not in detail:
            raise Refusal("file_too_large", memory)
        log.warning("spreadsheet reader exited with %s: %s", rc, detail[-1000:])
        raise Refusal(
            "unreadable_file", f"the spreadsheet reader stopped unexpectedly (status {rc})"
        )

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """End the child if it still runs, reap it, and close the pipe."""
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()

    def __del__(self):
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to clean
            self.close()
