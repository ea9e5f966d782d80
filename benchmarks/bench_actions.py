#!/usr/bin/env python
"""Bulk actions on a large selection: users.assign-courses (one course) and users.modify-values
on N selected users (all users of an organisation, `--where org:in:BENCH`), on SQLite or
PostgreSQL, against the database's own floor for the same writes, measured in the same run.

Each run starts from the same fresh database (a copy of the SQLite file, or a PostgreSQL
database created from a template) and runs registrar.bulk.engine.run in a child process: the
selection resolved, the users loaded and checked in batches, the plan, the writes, the journal,
the results file and the operation. `seconds` is the engine call, `wall` the whole child process
(Python start and Django set-up included). The floor is the same writes as plain SQL in one
transaction, rolled back: for assign-courses one INSERT … SELECT of the assignments; for
modify-values one UPDATE of the users and one INSERT … SELECT of the journal's rows as the engine
writes them (one per 2,000 users updated alike: their pks and before values column by column). On PostgreSQL
the foreign keys, which Django makes deferred, are checked in the statement (SET CONSTRAINTS ALL
IMMEDIATE), as the engine's commit checks them. Medians of --runs runs.

    python benchmarks/bench_actions.py [--users 100000] [--db sqlite|postgres] [--runs 3] [--json]
        [--cases users.assign-courses,users.modify-values] [--profile PATH]
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
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_completions as bc  # noqa: E402 (the shared set-up: users, courses, raw inserts)

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_actions"
CASES = {
    "users.assign-courses": {"courses": ["C00001"], "option": "mandatory"},
    "users.modify-values": {"udtf1": "Wave 2", "expiration_date": "2030-12-31"},
}
SELECTION = {"where": [["org", "in", "BENCH"]]}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare(args) -> None:
    """Child: the base database (N users in organisation BENCH, 10 courses)."""
    bc.django_setup()
    from django.core.management import call_command

    bc.setup_data(args.users, 10)
    call_command("migrate", database="jobs", interactive=False, verbosity=0)
    print(json.dumps({"users": args.users}))


def child(name: str, profile: str | None = None) -> None:
    """Child: one action through the engine; its timing as JSON (and a profile when asked)."""
    bc.django_setup()
    from registrar.bulk import engine
    from registrar.bulk.selection import Selection

    request = engine.Request(
        kind=name, selection=Selection.from_json("users", SELECTION), params=CASES[name]
    )
    t = time.perf_counter()
    if profile:
        import cProfile

        with cProfile.Profile() as prof:
            report = engine.run(request)
        prof.dump_stats(profile)
    else:
        report = engine.run(request)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "counts": report.counts}))


def floor(name: str) -> None:
    """Child: the same writes by the database alone, in one transaction rolled back."""
    bc.django_setup()
    from django.db import connection, transaction

    pg = connection.vendor == "postgresql"
    now = "now()" if pg else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    users = "SELECT u.id FROM directory_user u JOIN directory_organisation o ON o.id = u.organisation_id WHERE o.extid = 'BENCH' AND NOT u.disabled"
    t = time.perf_counter()
    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cur:
            if pg:  # the foreign keys are checked at commit, which the floor never reaches
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if name == "users.assign-courses":
                cur.execute(
                    "INSERT INTO learning_courseassignment (op, option, billing_mode, billing_code,"
                    " source, assigned_at, user_id, course_id) "
                    f"SELECT 1, 'M', '', '', 'action', {now}, u.id, c.id FROM ({users}) u, "
                    "catalogue_course c WHERE c.code = 'C00001'"
                )
            else:
                cur.execute(
                    "INSERT INTO journal_operation (kind, name, actor_label, started_at, status,"
                    " verify_only, options, file_name, file_checksum, rows, created, updated,"
                    " deleted, unchanged, skipped, rejected, warnings, conflicts, results_path,"
                    " rejects_path, log_path, error) VALUES ('action', 'floor', '', "
                    f"{now}, 'running', false, '{{}}', '', '', 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '',"
                    " '', '')"
                )
                cur.execute("SELECT MAX(id) FROM journal_operation")
                op = cur.fetchone()[0]
                cur.execute(f"CREATE TEMPORARY TABLE bench_selected AS {users}")
                # The journal as the engine writes rows updated alike: one row a chunk of 2,000
                # users, with their pks and their before values column by column.
                agg = "json_agg" if pg else "json_group_array"
                obj = "json_build_object" if pg else "json_object"
                after = '\'{"custom1": "Wave 2", "expiration_date": "2030-12-31"}\''
                cur.execute(
                    'INSERT INTO journal_change (operation_id, "table", action, pks, before, after)'
                    f" SELECT {op}, 'directory.User', 'update', {agg}(id),"
                    f" {obj}('custom1', {agg}(custom1), 'expiration_date', {agg}(expiration_date),"
                    f" 'op', {agg}(op)), {after} FROM (SELECT u.id, u.custom1, u.expiration_date,"
                    " u.op, ROW_NUMBER() OVER (ORDER BY u.id) - 1 AS n FROM directory_user u"
                    " JOIN bench_selected s ON s.id = u.id) x GROUP BY n / 2000"
                )
                cur.execute(
                    "UPDATE directory_user SET custom1 = 'Wave 2', expiration_date = '2030-12-31',"
                    f" op = {op} WHERE id IN (SELECT id FROM bench_selected)"
                )
        seconds = time.perf_counter() - t
        transaction.savepoint_rollback(sid)
    print(json.dumps({"seconds": seconds}))


def run(env: dict, *flag: str) -> dict:
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


def pg_admin(url: str):
    import psycopg

    u = urlparse(url)
    return psycopg.connect(urlunparse(u._replace(path="/postgres")), autocommit=True), u.path[1:]


def fresh_copy(args, work: Path, base_env: dict) -> dict:
    """An environment whose database is a fresh copy of the base one."""
    env = dict(base_env)
    if args.db == "postgres":
        conn, name = pg_admin(args.pg_url)
        with conn:
            conn.execute('DROP DATABASE IF EXISTS "registrar_bench_actions_run" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "registrar_bench_actions_run" TEMPLATE "{name}"')
        env["DATABASE_URL"] = urlunparse(
            urlparse(args.pg_url)._replace(path="/registrar_bench_actions_run")
        )
    else:
        for suffix in ("", "-wal", "-shm"):
            for stem in ("bench", "bench-jobs"):
                src = work / f"{stem}.sqlite3{suffix}"
                if src.exists():
                    shutil.copyfile(src, work / f"run-{stem}.sqlite3{suffix}")
        env["REGISTRAR_DB"] = str(work / "run-bench.sqlite3")
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", help="write a cProfile of the first engine run to PATH.<case>")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--floor", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.profile)
    if args.floor:
        return floor(args.floor)
    if args.prepare:
        return prepare(args)
    work = Path(tempfile.mkdtemp(prefix="registrar-bench-actions-"))
    env = bc.environment(args, work)
    if args.db == "postgres":
        bc.fresh_postgres(args.pg_url)
    try:
        log(f"setting up {args.users:,} users on {args.db}…")
        run(env, "--prepare", "--users", str(args.users))
        if args.db == "sqlite":  # the jobs file too, and a checkpointed main file to copy
            import sqlite3

            with sqlite3.connect(work / "bench.sqlite3") as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures = {}
        for name in args.cases.split(","):
            engine_runs, floor_runs = [], []
            for i in range(args.runs):
                prof = ("--profile", f"{args.profile}.{name}") if args.profile and not i else ()
                e = run(fresh_copy(args, work, env), "--child", name, *prof)
                f = run(fresh_copy(args, work, env), "--floor", name)
                log(f"{name} run {i + 1}: engine {e['seconds']:.2f} s, floor {f['seconds']:.2f} s")
                engine_runs.append(e)
                floor_runs.append(f)
            med = statistics.median(r["seconds"] for r in engine_runs)
            fmed = statistics.median(r["seconds"] for r in floor_runs)
            figures[name] = {
                "users": args.users,
                "seconds": round(med, 3),
                "wall": round(statistics.median(r["wall"] for r in engine_runs), 3),
                "floor_seconds": round(fmed, 3),
                "ratio": round(med / fmed, 1) if fmed else None,
                "counts": engine_runs[-1]["counts"],
            }
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.db == "postgres":
            conn, _ = pg_admin(args.pg_url)
            with conn:
                conn.execute('DROP DATABASE IF EXISTS "registrar_bench_actions_run" WITH (FORCE)')
            bc.drop_postgres(args.pg_url)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'action':28} {'users':>8} {'engine s':>9} {'wall s':>8} {'floor s':>8} {'ratio':>6}")
    for name, f in figures.items():
        print(
            f"{name:28} {f['users']:>8,} {f['seconds']:>9.2f} {f['wall']:>8.2f}"
            f" {f['floor_seconds']:>8.2f} {f['ratio']:>6}  {f['counts']}"
        )


if __name__ == "__main__":
    main()
