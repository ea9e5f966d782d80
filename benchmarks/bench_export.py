#!/usr/bin/env python
"""The export benchmark of SPEC §11: 1,000,000 course-record rows (100,000 users x 10 courses)
exported to CSV, on SQLite or PostgreSQL.

In a fresh database (users and courses made as bench_completions makes them, course records by
raw bulk insert; a tenth of the users in an organisation of their own), it measures:

  (a) the export through bulk.export.run (the command line's and the worker's path), in a child
      process whose peak RSS is read, three times: the median;
  (b) the same for the tenth of the users (100,000 rows, the `org` filter): peak memory must stay
      flat (SPEC §11: at most 1.5x);
  (c) the floor: the database running the export's own query alone (PostgreSQL:
      COPY (SELECT ...) TO STDOUT into a file; SQLite: the same SELECT, every row fetched).

    python benchmarks/bench_export.py [--users 100000 --courses 10] [--db sqlite|postgres]
        [--pg-url URL] [--json]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_completions as bc  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_export"
COLUMNS = [
    "user_login",
    "user_email",
    "org_extid",
    "course_code",
    "course_status",
    "course_status_date",
]
RUNS = 3


def prepare(users: int, courses: int) -> None:
    """Users, courses and one course record per user and course; a tenth of the users moved to
    organisation SMALL."""
    bc.django_setup()
    from datetime import datetime, timedelta

    from django.utils import timezone

    from registrar.directory.models import Organisation, User
    from registrar.learning.models import CourseRecord

    bc.setup_data(users, courses)
    root = Organisation.objects.get(extid="BENCH")
    small = Organisation.objects.create(extid="SMALL", label="A tenth", parent=root)
    User.objects.filter(id__lte=users // 10).update(organisation=small)
    day0 = timezone.make_aware(datetime(2024, 1, 1, 9, 0))
    moments = [day0 + timedelta(hours=h) for h in range(24 * 300)]
    statuses = "CCCIN"
    bc.bulk_insert(
        CourseRecord,
        (
            {
                "id": (u - 1) * courses + c,
                "user_id": u,
                "course_id": c,
                "status": statuses[(u + c) % 5],
                "status_date": moments[(u * 31 + c) % len(moments)],
                "score": None,
            }
            for u in range(1, users + 1)
            for c in range(1, courses + 1)
        ),
        {"time_spent": 0, "attempts": 0, "completion_percent": 0, "legacy": False},
    )
    from django.db import connection

    if connection.vendor == "postgresql":  # what autovacuum does after a bulk load, at once
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def config(org: str | None) -> dict:
    return {"columns": COLUMNS, "filters": {"org": org} if org else {}, "delimiter": ";"}


def own_cpu() -> float:
    """This process's CPU seconds: on a loaded machine, what its wall time would be on an idle
    one (SQLite runs in the process; PostgreSQL's share is server_cpu)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def server_cpu() -> float:
    """CPU seconds the PostgreSQL backend serving this process has used (0 on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(org: str | None, output: str) -> None:
    """One export through the engine; its timing and peak memory as JSON."""
    bc.django_setup()
    from registrar.bulk import export

    before, mine = server_cpu(), own_cpu()
    t = time.perf_counter()
    report = export.run(export.Config.from_json(config(org)), output=output)
    seconds = time.perf_counter() - t
    server, mine = server_cpu() - before, own_cpu() - mine
    hwm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": report.rows,
                "vmhwm_kb": hwm,
                "server": server,
                "cpu": mine,
            }
        )
    )


def floor(output: str) -> None:
    """The export's query run by the database alone."""
    bc.django_setup()
    from django.db import connection, transaction

    from registrar.bulk import export, export_query

    p = export.plan(export.Config.from_json(config(None)))
    p.escape = True
    sql, params = export_query.build(p)
    before, mine = server_cpu(), own_cpu()
    t = time.perf_counter()
    n = 0
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with (
            open(output, "wb") as out,
            connection.connection.cursor() as cur,
            cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER ';')", params) as cp,
        ):
            for block in cp:
                out.write(block)
        n = -1
    else:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)
            while chunk := cur.fetchmany(5000):
                n += len(chunk)
    seconds = time.perf_counter() - t
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": n,
                "server": server_cpu() - before,
                "cpu": own_cpu() - mine,
            }
        )
    )


def run(env: dict, *args: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), *args]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(args)} failed")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["maxrss_kb"] = usage.ru_maxrss
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--courses", type=int, default=10)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help=f"its own database (default {PG_URL})")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("ORG", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--floor", metavar="OUT", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(None if args.child[0] == "-" else args.child[0], args.child[1])
        return
    if args.floor:
        floor(args.floor)
        return
    if args.prepare:
        prepare(args.users, args.courses)
        return
    work = Path(tempfile.mkdtemp(prefix="registrar-bench-export-"))
    env = bc.environment(args, work)
    try:
        if args.db == "postgres":
            bc.fresh_postgres(args.pg_url)
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--prepare",
                "--users",
                str(args.users),
                "--courses",
                str(args.courses),
            ],
            env=env,
            check=True,
        )
        bc.log(f"setup: {time.perf_counter() - t:.1f}s")
        out = str(work / "export.csv")
        full = [run(env, "--child", "-", out) for _ in range(RUNS)]
        small = [run(env, "--child", "SMALL", str(work / "small.csv")) for _ in range(RUNS)]
        floors = [run(env, "--floor", str(work / "floor.csv")) for _ in range(RUNS)]
        size = os.path.getsize(out)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.db == "postgres":
                bc.drop_postgres(args.pg_url)
    med = statistics.median
    figures = {
        "db": args.db,
        "rows": full[0]["rows"],
        "export_seconds": med(r["seconds"] for r in full),
        "export_runs": [round(r["seconds"], 2) for r in full],
        "rows_per_second": full[0]["rows"] / med(r["seconds"] for r in full),
        "export_cpu_seconds": med(r["cpu"] for r in full),
        "export_server_cpu_seconds": med(r["server"] for r in full),
        "floor_server_cpu_seconds": med(r["server"] for r in floors),
        "floor_seconds": med(r["seconds"] for r in floors),
        "floor_cpu_seconds": med(r["cpu"] for r in floors),
        "load_average": os.getloadavg()[0],
        "small_rows": small[0]["rows"],
        "small_seconds": med(r["seconds"] for r in small),
        "peak_kb": max(r["vmhwm_kb"] for r in full),
        "small_peak_kb": max(r["vmhwm_kb"] for r in small),
        "file_bytes": size,
    }
    figures["ratio_to_floor"] = figures["export_seconds"] / figures["floor_seconds"]
    figures["memory_ratio"] = figures["peak_kb"] / figures["small_peak_kb"]
    if args.json:
        print(json.dumps(figures))
        return
    f = figures
    print(
        f"{f['db']}: {f['rows']:,} rows in {f['export_seconds']:.2f}s (median of {RUNS}: "
        f"{f['export_runs']}, CPU {f['export_cpu_seconds']:.2f}s), {f['rows_per_second']:,.0f} "
        f"rows/s; floor (the query alone) {f['floor_seconds']:.2f}s (CPU "
        f"{f['floor_cpu_seconds']:.2f}s; database server CPU: export "
        f"{f['export_server_cpu_seconds']:.2f}s, floor {f['floor_server_cpu_seconds']:.2f}s), ratio {f['ratio_to_floor']:.2f}; load average "
        f"{f['load_average']:.1f}; peak memory "
        f"{f['peak_kb'] / 1024:.0f} MiB for {f['rows']:,} rows, {f['small_peak_kb'] / 1024:.0f} MiB "
        f"for {f['small_rows']:,} ({f['memory_ratio']:.2f}x); file {f['file_bytes'] / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
