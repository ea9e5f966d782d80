"""The child process: limits itself, reads the first sheet, writes its rows to stdout.

Run as `python -I -B -c ...` by reader.ChildReader; imports no Django."""

import csv
import io
import os
import signal
import sys

from .limits import Limits, Refusal, too_large_cells
from .values import cell_text
from .xlsx import BATCH_CHARS, check_zip, first_sheet, open_zip, xlsx_rows


def calamine_rows(path: str, limits: Limits, sink, progress, last_row) -> None:
    """Stream the first sheet of an .xls or .ods through calamine (the grid is in the child)."""
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    except Exception as e:  # calamine raises its own error types for broken files
        reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
        code = "file_too_large" if "limit exceeded" in reason.lower() else "unreadable_file"
        raise Refusal(code, reason) from None
    if sheet.start is None:  # an empty sheet (calamine's iter_rows cannot start one)
        return
    height, width = sheet.height, sheet.width
    if limits.max_cells and height * width > limits.max_cells:
        raise Refusal(
            "file_too_large",
            f"the sheet has {height * width:,} cells ({height:,} rows × {width:,} columns); "
            f"{too_large_cells(limits)}",
        )
    if limits.max_columns and width > limits.max_columns:
        raise Refusal(
            "file_too_large",
            f"the sheet has {width:,} columns; a row may have at most {limits.max_columns:,} "
            "(REGISTRAR_MAX_SHEET_COLUMNS)",
        )
    last = sheet.end[0] + 1
    last_row(last)
    out, chars = [], 0
    for n, cells in enumerate(sheet.iter_rows(), 1):
        texts = [cell_text(c) for c in cells]
        if any(texts):
            out.append([n, *texts])
            chars += sum(map(len, texts))
            if len(out) >= 2000 or chars >= BATCH_CHARS:
                sink(out)
                progress(n / last)
                out, chars = [], 0
    sink(out)


# --- the child ------------------------------------------------------------------------------


def set_limits(limits: Limits) -> None:
    """The child's own bounds: address space, CPU seconds, no core dump, no file written."""
    import resource

    def lower(which, soft, hard=None):
        cur_soft, cur_hard = resource.getrlimit(which)
        hard = soft if hard is None else hard
        if cur_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, cur_hard), min(hard, cur_hard)
        resource.setrlimit(which, (soft, hard))

    if limits.memory_mb:
        lower(resource.RLIMIT_AS, limits.memory_mb << 20)
    if limits.cpu_seconds:
        lower(resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5)
    lower(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    lower(resource.RLIMIT_FSIZE, 0)


class _Pipe:
    """The child's side of the protocol: CSV batches with a length line."""

    def __init__(self, fd: int = 1):
        self.fd = fd
        self.buf = io.StringIO()
        self.csv = csv.writer(self.buf, lineterminator="\r\n")  # a lone \r is quoted too

    def rows(self, rows) -> None:
        self.csv.writerows(rows)
        self.flush()

    def control(self, *record) -> None:
        self.csv.writerow(record)

    def flush(self) -> None:
        text = self.buf.getvalue()
        if not text:
            return
        data = text.encode("utf-8", "replace")
        self.buf.seek(0)
        self.buf.truncate()
        view = memoryview(f"{len(data)}\n".encode() + data)
        while view:
            view = view[os.write(self.fd, view) :]


def main(argv: list[str]) -> int:
    """The child: `PATH KIND MAX_BYTES MAX_CELLS MAX_COLUMNS MEMORY_MB CPU_SECONDS`."""
    path, kind, limits = argv[0], argv[1], Limits.from_args(argv[2:7])
    set_limits(limits)
    pipe = _Pipe()
    try:
        if kind == "xlsx":
            with open_zip(path) as zf:
                check_zip(zf, limits)
                book = first_sheet(zf)
                xlsx_rows(zf, book, limits, pipe.rows, lambda f: pipe.control("!p", f"{f:.4f}"))
        else:
            calamine_rows(
                path,
                limits,
                pipe.rows,
                lambda f: pipe.control("!p", f"{f:.4f}"),
                lambda n: pipe.control("!n", n),
            )
    except Refusal as e:
        pipe.control("!e", e.code, e.reason)
        pipe.flush()
        return 2
    except MemoryError:
        os._exit(3)
    except BrokenPipeError:
        os._exit(0)  # the parent stopped reading
    except Exception as e:  # a file no reader expected: its type, the trace on stderr
        import traceback

        traceback.print_exc()
        pipe.control(
            "!e", "unreadable_file", f"the spreadsheet cannot be parsed ({type(e).__name__})"
        )
        pipe.flush()
        return 2
    pipe.control("!m", peak_kib())
    pipe.flush()
    return 0


def peak_kib() -> int:
    """This process's peak resident memory in KiB: VmHWM, which (unlike ru_maxrss) does not
    carry over the parent's peak across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
