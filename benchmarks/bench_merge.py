#!/usr/bin/env python
"""Merge and transfer (SPEC §7, §8): a merge of two users with --records course records each
(half of them on the same courses, where Z's completion beats A's progress), and a content
transfer for --completers users who completed the old course, on SQLite or PostgreSQL, against
the database's own floor for the same writes, measured in the same run.

Each run starts from the same fresh database (a copy of the SQLite file, or a PostgreSQL database
created from a template) and runs registrar.bulk.engine.run in a child process: the plan, the
writes, the journal, the roll-up, the results file and the operation. `seconds` is the engine
call, `wall` the whole child process. The floor is the same data writes as plain SQL in one
transaction, rolled back: for the merge, the losing records archived (INSERT … SELECT into the
record history) and journalled (one journal row each, as the engine's deletes), deleted, Z's
records moved to A (one UPDATE) and Z deleted; for the transfer, one INSERT … SELECT of the new
completions. Medians of --runs runs.

    python benchmarks/bench_merge.py [--records 1000] [--completers 100000] [--db sqlite|postgres]
        [--runs 3] [--cases merge-users,transfer-content] [--json]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_actions as ba  # noqa: E402 (child runs, fresh copies)
import bench_completions as bc  # noqa: E402 (the shared set-up: users, courses, raw inserts)

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_merge"
CASES = {
    "merge-users": {"remove": "user000002", "keep": "user000001"},
    "transfer-content": {"from": "C00001", "to": "C00002"},
}


def prepare(args) -> None:
    """Child: users 1 (A) and 2 (Z) with --records records each, half on shared courses; users
    3… completed course 1 (the old content); course 2 (the new one) is published for everyone."""
    bc.django_setup()
    from django.core.management import call_command
    from django.utils import timezone

    from registrar.learning.models import CourseRecord

    n = args.records
    bc.setup_data(args.completers + 2, n + n // 2 + 2)
    call_command("migrate", database="jobs", interactive=False, verbosity=0)
    now = timezone.now()
    rows, pk = [], 0
    for c in range(3, n + 3):  # A: in progress on courses 3 … n+2
        pk += 1
        rows.append({"id": pk, "user_id": 1, "course_id": c, "status": "I", "status_date": now})
    for c in range(3 + n // 2, 3 + n // 2 + n):  # Z: completed, half of them A's courses too
        pk += 1
        rows.append({"id": pk, "user_id": 2, "course_id": c, "status": "C", "status_date": now})
    for u in range(3, args.completers + 3):
        pk += 1
        rows.append({"id": pk, "user_id": u, "course_id": 1, "status": "C", "status_date": now})
    bc.bulk_insert(CourseRecord, rows, {"completion_percent": 100, "source": "import"})
    print(json.dumps({"records": pk}))


def child(name: str) -> None:
    bc.django_setup()
    from registrar.bulk import engine

    t = time.perf_counter()
    report = engine.run(engine.Request(kind=name, params=CASES[name]))
    print(json.dumps({"seconds": time.perf_counter() - t, "counts": report.counts}))


def floor(name: str) -> None:
    """Child: the same data writes by the database alone, in one transaction rolled back."""
    bc.django_setup()
    from django.db import connection, transaction

    pg = connection.vendor == "postgresql"
    now = "now()" if pg else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    obj = "json_build_object" if pg else "json_object"
    t = time.perf_counter()
    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cur:
            if pg:  # the foreign keys are checked at commit, which the floor never reaches
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if name == "merge-users":
                cur.execute(
                    "INSERT INTO journal_operation (kind, name, actor_label, started_at, status,"
                    " verify_only, options, file_name, file_checksum, rows, created, updated,"
                    " deleted, unchanged, skipped, rejected, warnings, conflicts, results_path,"
                    " rejects_path, log_path, error) VALUES ('merge', 'floor', '', "
                    f"{now}, 'running', false, '{{}}', '', '', 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '',"
                    " '', '')"
                )
                cur.execute("SELECT MAX(id) FROM journal_operation")
                op = cur.fetchone()[0]
                lost = (
                    "SELECT a.* FROM learning_courserecord a JOIN learning_courserecord z"
                    " ON z.course_id = a.course_id AND z.user_id = 2 WHERE a.user_id = 1"
                )
                cur.execute(
                    "INSERT INTO learning_recordhistory (op, user_id, course_id, status,"
                    " status_date, score, reason, archived_at)"
                    f" SELECT 1, 1, course_id, status, status_date, score, 'merge', {now}"
                    f" FROM ({lost}) x"
                )
                cur.execute(
                    'INSERT INTO journal_change (operation_id, "table", action, pk_value, before)'
                    f" SELECT {op}, 'learning.CourseRecord', 'delete', id, {obj}('id', id,"
                    " 'user_id', user_id, 'course_id', course_id, 'status', status,"
                    f" 'status_date', status_date, 'score', score, 'op', op) FROM ({lost}) x"
                )
                cur.execute(
                    f"DELETE FROM learning_courserecord WHERE id IN (SELECT id FROM ({lost}) x)"
                )
                cur.execute(
                    "UPDATE learning_courserecord SET user_id = 1, op = 1 WHERE user_id = 2"
                )
                cur.execute("DELETE FROM directory_user WHERE id = 2")
            else:
                cur.execute(
                    "INSERT INTO learning_courserecord (op, status_date, time_spent, attempts,"
                    " completion_percent, source, user_id, course_id, status, legacy)"
                    " SELECT 1, status_date, 0, 0, 100, 'transfer', user_id, 2, 'C', false"
                    " FROM learning_courserecord WHERE course_id = 1 AND status = 'C'"
                )
        seconds = time.perf_counter() - t
        transaction.savepoint_rollback(sid)
    print(json.dumps({"seconds": seconds}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--completers", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--floor", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    if args.floor:
        return floor(args.floor)
    if args.prepare:
        return prepare(args)
    work = Path(tempfile.mkdtemp(prefix="registrar-bench-merge-"))
    env = bc.environment(args, work)
    if args.db == "postgres":
        bc.fresh_postgres(args.pg_url)
    sizes = ("--records", str(args.records), "--completers", str(args.completers))
    try:
        bc.log(f"setting up {args.records:,} records each, {args.completers:,} completers…")
        run(env, "--prepare", *sizes)
        if args.db == "sqlite":
            import sqlite3

            with sqlite3.connect(work / "bench.sqlite3") as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures = {}
        for name in args.cases.split(","):
            engine_runs, floor_runs = [], []
            for i in range(args.runs):
                e = run(fresh_copy(args, work, env), "--child", name)
                f = run(fresh_copy(args, work, env), "--floor", name)
                bc.log(
                    f"{name} run {i + 1}: engine {e['seconds']:.2f} s, floor {f['seconds']:.3f} s"
                )
                engine_runs.append(e)
                floor_runs.append(f)
            med = statistics.median(r["seconds"] for r in engine_runs)
            fmed = statistics.median(r["seconds"] for r in floor_runs)
            figures[name] = {
                "records": args.records,
                "completers": args.completers,
                "seconds": round(med, 3),
                "wall": round(statistics.median(r["wall"] for r in engine_runs), 3),
                "floor_seconds": round(fmed, 4),
                "ratio": round(med / fmed, 1) if fmed else None,
                "counts": engine_runs[-1]["counts"],
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.db == "postgres":
            conn, _ = ba.pg_admin(args.pg_url)
            with conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
            bc.drop_postgres(args.pg_url)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'case':18} {'engine s':>9} {'wall s':>8} {'floor s':>8} {'ratio':>6}  counts")
    for name, f in figures.items():
        print(
            f"{name:18} {f['seconds']:>9.2f} {f['wall']:>8.2f} {f['floor_seconds']:>8.3f}"
            f" {f['ratio']:>6}  {f['counts']}"
        )


RUN_DB = "registrar_bench_merge_run"


def fresh_copy(args, work: Path, base_env: dict) -> dict:
    """An environment whose database is a fresh copy of the base one."""
    if args.db == "sqlite":
        return ba.fresh_copy(args, work, base_env)
    from urllib.parse import urlparse, urlunparse

    env = dict(base_env)
    conn, name = ba.pg_admin(args.pg_url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{name}"')
    env["DATABASE_URL"] = urlunparse(urlparse(args.pg_url)._replace(path=f"/{RUN_DB}"))
    return env


def run(env: dict, *flag: str) -> dict:
    """A child of this script (bench_actions.run starts its own file)."""
    import subprocess

    t = time.perf_counter()
    p = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *flag], env=env, capture_output=True
    )
    wall = time.perf_counter() - t
    if p.returncode:
        sys.stderr.write(p.stderr.decode()[-3000:])
        raise SystemExit(f"{' '.join(flag)} failed (exit {p.returncode})")
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    out["wall"] = wall
    return out


if __name__ == "__main__":
    main()
