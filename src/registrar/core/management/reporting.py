"""What the bulk commands (import, act) print: a progress line on a terminal and the summary."""

import json
import time

from django.core.management.base import CommandError

from registrar.bulk.codes import CODES


def progress_printer(stream):
    """A one-line progress bar on a terminal: rows, percent, rate, time left."""
    last = [0.0]

    def show(done, total, fraction, elapsed):
        now = time.monotonic()
        if now - last[0] < 0.2 and fraction != 1.0:
            return
        last[0] = now
        rate = done / elapsed if elapsed > 0 else 0
        pct = f"{fraction * 100:5.1f}%" if fraction is not None else "  ?  "
        left = (elapsed / fraction - elapsed) if fraction else 0
        stream.write(f"\r{pct} {done:>10,} rows  {rate:>9,.0f} rows/s  {left:5.0f}s left ")
        if fraction == 1.0:
            stream.write("\n")
        stream.flush()

    return show


def print_report(stdout, report, as_json: bool, done: str) -> dict:
    """The summary: one JSON object with --json, else a line of counts and the files' paths."""
    summary = report.summary()
    if as_json:
        stdout.write(json.dumps(summary))
        return summary
    op = report.operation
    verb = (
        "Verified (nothing written)"
        if op.verify_only
        else "Aborted (nothing written)"
        if op.status == "aborted"
        else done
    )
    counts = ", ".join(
        f"{k} {v}" for k, v in summary.items() if k not in ("operation", "kind", "verify_only")
    )
    stdout.write(f"{verb}: operation #{op.pk} {op.name}: {counts}")
    for h in report.file_warnings:
        stdout.write(f"warning unknown_column: {h}")
    stdout.write(
        f"results: {report.results_path}\nrejects: {report.rejects_path}\nlog:     {report.log_path}"
    )
    return summary


def refused(e) -> CommandError:
    """A FileError as the command's one line on standard error, exit status 2."""
    return CommandError(f"{e.code}: {CODES[e.code].format(**e.params)}", returncode=2)
