#!/usr/bin/env python
"""The completions import benchmark of SPEC §11, on SQLite or PostgreSQL.

In a fresh database it creates the users and courses (raw bulk inserts), writes a completions
CSV of unique (course, user) pairs, then measures, on the same rows:

  (a) the raw limit: a bulk load into a bare table with no index (PostgreSQL: COPY into an
      UNLOGGED table; SQLite: one executemany in one transaction), reading the same file;
  (b) the real import through the engine (registrar.bulk.engine.run_import: validated, applied,
      journalled, results files written), in a child process whose peak RSS is measured;
  (c) the floor: the same writes into the same tables by the database alone, each statement
      once: the file loaded into a staging table, resolved once by one join, then course
      records and assignments as one INSERT ... SELECT each (foreign keys checked as a commit
      checks them), rolled back: what no import writing those rows can go under.

It prints rows/s for each, the ratios import/raw and floor/raw and the import's peak memory; with
--compare-memory it also imports 100,000 rows into a second, equally fresh database and prints
the ratio of the two peaks (SPEC §11: memory flat in the file size).

    python benchmarks/bench_completions.py [--users 100000 --courses 1000 --rows 1000000]
        [--db sqlite|postgres] [--pg-url URL] [--compare-memory] [--profile PATH] [--json]
"""

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench"
MEMORY_ROWS = 100_000
HEADER = ["course_id", "user_email", "completion_date"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the database ------------------------------------------------------------------------------


def fresh_postgres(url: str) -> None:
    """Drop and create the benchmark's own database (never any other)."""
    import psycopg

    u = urlparse(url)
    name = u.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to drop database {name!r}: give the benchmark its own")
    admin = urlunparse(u._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    import psycopg

    u = urlparse(url)
    with psycopg.connect(urlunparse(u._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{u.path.lstrip("/")}" WITH (FORCE)')


SRC = Path(__file__).resolve().parent.parent / "src"


def environment(args, work: Path, name: str = "bench") -> dict:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="registrar.settings")
    # This checkout's source, whatever the installed (editable) package points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env["REGISTRAR_DATA"] = str(work / "data")
    if args.db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
        env["REGISTRAR_DB"] = str(work / f"{name}.sqlite3")
    return env


def django_setup() -> None:
    import django

    django.setup()


def raw_rows(model, rows, fixed: dict):
    """Rows for a raw insert of `model`: every column, defaults computed once per column."""
    from django.db import connection

    fields = list(model._meta.concrete_fields)
    base = []
    for f in fields:
        v = fixed.get(f.attname, f.get_default())
        base.append(f.get_db_prep_save(v, connection))
    index = {f.attname: i for i, f in enumerate(fields)}
    columns = [f.column for f in fields]

    def gen():
        for values in rows:
            row = list(base)
            for k, v in values.items():
                if not isinstance(v, (str, int)):  # e.g. a UUID: as the database stores it
                    v = fields[index[k]].get_db_prep_save(v, connection)
                row[index[k]] = v
            yield row

    return columns, gen()


def bulk_insert(model, rows, fixed: dict) -> None:
    """COPY on PostgreSQL, one executemany on SQLite, in one transaction."""
    from django.db import connection, transaction

    table = model._meta.db_table
    columns, gen = raw_rows(model, rows, fixed)
    cols = ", ".join(f'"{c}"' for c in columns)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            with (
                connection.connection.cursor() as cur,
                cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as cp,
            ):
                for row in gen:
                    cp.write_row(row)
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM "
                    f'"{table}"))',
                    [table],
                )
        else:
            marks = ", ".join(["%s"] * len(columns))
            with connection.cursor() as cur:
                cur.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', gen)


def setup_data(users: int, courses: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from registrar.catalogue.models import Course
    from registrar.directory.models import Organisation, User

    call_command("migrate", interactive=False, verbosity=0)
    org = Organisation.objects.create(extid="BENCH", label="Benchmark organisation")
    now = timezone.now()
    bulk_insert(
        User,
        (
            {
                "id": i,
                "login": f"user{i:06d}",
                "email": email(i),
                "last_name": f"Learner{i}",
                "first_name": "Bench",
            }
            for i in range(1, users + 1)
        ),
        {"password": "!", "organisation_id": org.pk, "date_joined": now},
    )
    import uuid

    bulk_insert(
        Course,
        (
            {"id": i, "code": course_code(i), "title": f"Course {i}", "uuid": uuid.uuid4()}
            for i in range(1, courses + 1)
        ),
        {"published": True},
    )


def email(i: int) -> str:
    return f"user{i:06d}@bench.example"


def course_code(i: int) -> str:
    return f"C{i:05d}"


def write_csv(path: Path, start: int, n: int, users: int, courses: int) -> None:
    """Rows start..start+n of a sequence of distinct (course, user) pairs, with past dates."""
    if start + n > users * courses:
        raise SystemExit(f"--rows {start + n} exceeds users x courses = {users * courses}")
    day0 = date(2020, 1, 1)
    dates = [(day0 + timedelta(days=d)).isoformat() for d in range(1800)]
    emails = [email(u) for u in range(1, users + 1)]
    codes = [course_code(c) for c in range(1, courses + 1)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(HEADER)
        batch = []
        for i in range(start, start + n):
            u, q = i % users, i // users
            c = (q + 7 * u) % courses  # for one user, distinct q give distinct courses
            batch.append((codes[c], emails[u], dates[(i * 7919) % 1800]))
            if len(batch) == 50_000:
                w.writerows(batch)
                batch = []
        w.writerows(batch)


# -- (a) the raw limit -------------------------------------------------------------------------


def raw_load(args, env: dict, path: Path) -> float:
    """Seconds to bulk-load the file into a bare table with no index, in the same database."""
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(args.pg_url, autocommit=True) as c:
            c.execute("DROP TABLE IF EXISTS bench_raw")
            c.execute(
                "CREATE UNLOGGED TABLE bench_raw "
                "(course_id text, user_email text, completion_date date)"
            )
            t = time.perf_counter()
            with (
                c.cursor() as cur,
                cur.copy(
                    "COPY bench_raw FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true)"
                ) as cp,
                open(path, "rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
            seconds = time.perf_counter() - t
            (n,) = c.execute("SELECT count(*) FROM bench_raw").fetchone()
            c.execute("DROP TABLE bench_raw")
    else:
        c = sqlite3.connect(env["REGISTRAR_DB"], isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")  # as the application's connections
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("DROP TABLE IF EXISTS bench_raw")
        c.execute("CREATE TABLE bench_raw (course_id TEXT, user_email TEXT, completion_date TEXT)")
        t = time.perf_counter()
        with open(path, encoding="utf-8", newline="") as f:
            rows = csv.reader(f, delimiter=";")
            next(rows)
            c.execute("BEGIN")
            c.executemany("INSERT INTO bench_raw VALUES (?, ?, ?)", rows)
            c.execute("COMMIT")
        seconds = time.perf_counter() - t
        (n,) = c.execute("SELECT count(*) FROM bench_raw").fetchone()
        c.execute("DROP TABLE bench_raw")
        c.close()
    if n != args.rows:
        raise SystemExit(f"raw load: {n} rows loaded, {args.rows} expected")
    return seconds


# -- (c) the floor: the writes no import can avoid, by the database alone -----------------------


def floor(path: str) -> None:
    """Child: what the database alone needs to write the import's rows, each statement once: the
    file loaded into a staging table, the references resolved once (one join into a table of
    (user, course, date) in (user, course) order), then the course records and the assignments
    as one INSERT ... SELECT each into the real tables with their indexes. On PostgreSQL the
    foreign keys are checked as COMMIT checks them (SET CONSTRAINTS ALL IMMEDIATE); SQLite's
    deferred keys cost nothing more at commit, so no `foreign_key_check` scan (which a real
    commit never runs). One transaction, rolled back. No Python per row, no validation, no
    journal, no results file: what a perfect set-based import costs."""
    django_setup()
    from django.db import connection, transaction

    from registrar.learning.models import CourseAssignment, CourseRecord

    pg = connection.vendor == "postgresql"
    rec, asg = CourseRecord._meta.db_table, CourseAssignment._meta.db_table
    when = "p.completion_date::timestamptz" if pg else "p.completion_date || ' 00:00:00'"
    now = "now()" if pg else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    t = time.perf_counter()
    sid = None
    with transaction.atomic():
        sid = transaction.savepoint()
        with connection.cursor() as cur:
            cur.execute(
                "CREATE TEMPORARY TABLE bench_stage "
                "(course_id text, user_email text, completion_date text)"
            )
            if pg:
                with (
                    cur.cursor.copy(
                        "COPY bench_stage FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true)"
                    ) as cp,
                    open(path, "rb") as f,
                ):
                    while chunk := f.read(1 << 20):
                        cp.write(chunk)
            else:
                with open(path, encoding="utf-8", newline="") as f:
                    rows = csv.reader(f, delimiter=";")
                    next(rows)
                    cur.executemany("INSERT INTO bench_stage VALUES (%s, %s, %s)", rows)
            steps = {"load": time.perf_counter() - t}
            cur.execute(
                "CREATE TEMPORARY TABLE bench_pairs AS SELECT u.id AS user_id, c.id AS course_id,"
                " s.completion_date FROM bench_stage s"
                " JOIN directory_user u ON LOWER(u.email) = LOWER(s.user_email)"
                " JOIN catalogue_course c ON c.code = s.course_id ORDER BY u.id, c.id"
            )
            steps["resolve"] = time.perf_counter() - t - sum(steps.values())
            cur.execute(
                f'INSERT INTO "{rec}" (op, status_date, time_spent, attempts, completion_percent,'
                " source, user_id, course_id, status, legacy) "
                f"SELECT 1, {when}, 0, 0, 100, 'import', p.user_id, p.course_id, 'C', false"
                " FROM bench_pairs p"
            )
            n = cur.rowcount
            steps["course records"] = time.perf_counter() - t - sum(steps.values())
            cur.execute(
                f'INSERT INTO "{asg}" (op, option, billing_mode, billing_code, source,'
                " assigned_at, user_id, course_id) "
                f"SELECT 1, 'F', '', '', 'import', {now}, p.user_id, p.course_id"
                " FROM bench_pairs p"
            )
            steps["assignments"] = time.perf_counter() - t - sum(steps.values())
            if pg:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the checks COMMIT would run
                steps["foreign keys"] = time.perf_counter() - t - sum(steps.values())
        seconds = time.perf_counter() - t
        transaction.savepoint_rollback(sid)
    print(json.dumps({"seconds": seconds, "steps": steps, "rows": n}))


# -- (b) the import, in a child process --------------------------------------------------------


def child(path: str) -> None:
    """Run one completions import through the engine; print its timing as JSON."""
    django_setup()
    import registrar
    from registrar.bulk import engine

    if Path(registrar.__file__).resolve().parent != SRC / "registrar":
        raise SystemExit(f"measuring {registrar.__file__}, not {SRC}")
    t = time.perf_counter()
    report = engine.run_import(engine.Request(kind="completions", path=path))
    seconds = time.perf_counter() - t
    hwm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    print(json.dumps({"seconds": seconds, "counts": report.counts, "vmhwm_kb": hwm}))


def run_child(env: dict, path: Path, profile: str | None = None) -> dict:
    """The import in its own process: its wall time, report and peak RSS. os.wait4 gives this
    child's own rusage (RUSAGE_CHILDREN would be the maximum over every child so far)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(path)]
    if profile:
        cmd[1:1] = ["-m", "cProfile", "-o", profile]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"the import process failed (exit {p.returncode})")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result.update(wall=wall, maxrss_kb=usage.ru_maxrss)
    return result


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--courses", type=int, default=1_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help=f"its own database (default {PG_URL})")
    ap.add_argument(
        "--compare-memory",
        action="store_true",
        help=f"also import {MEMORY_ROWS:,} rows into a fresh database and compare peak memory",
    )
    ap.add_argument("--profile", metavar="PATH", help="run the import under cProfile into PATH")
    ap.add_argument("--keep", action="store_true", help="keep the work directory and database")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--child", metavar="CSV", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--floor", metavar="CSV", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.floor:
        floor(args.floor)
        return
    if args.prepare:
        prepare(args, Path(args.prepare))
        return

    work = Path(tempfile.mkdtemp(prefix="registrar-bench-"))
    env = environment(args, work)
    try:
        figures = bench(args, env, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.db == "postgres":
                drop_postgres(args.pg_url)
    report(args, figures)


def prepare(args, work: Path) -> None:
    """The setup, in a child process too: the parent stays small, so that the import child's
    ru_maxrss (which Linux carries over from the parent's memory at fork and exec) is its own."""
    django_setup()
    t = time.perf_counter()
    setup_data(args.users, args.courses)
    setup = time.perf_counter() - t
    write_csv(work / f"completions-{args.rows}.csv", 0, args.rows, args.users, args.courses)
    print(json.dumps({"setup_seconds": setup}))


def fresh_data(args, env: dict, work: Path, rows: int) -> tuple[Path, float]:
    """A fresh database with the users and courses, and a CSV of `rows` rows."""
    if args.db == "postgres":
        fresh_postgres(args.pg_url)
    cmd = [sys.executable, os.path.abspath(__file__), "--prepare", str(work)]
    cmd += ["--users", str(args.users), "--courses", str(args.courses), "--rows", str(rows)]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True).stdout
    setup = json.loads(out.decode().strip().splitlines()[-1])["setup_seconds"]
    path = work / f"completions-{rows}.csv"
    log(
        f"setup: {args.users:,} users and {args.courses:,} courses in {setup:.1f} s; "
        f"CSV of {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB"
    )
    return path, setup


def bench(args, env: dict, work: Path) -> dict:
    log(f"work directory {work}")
    path, setup = fresh_data(args, env, work, args.rows)
    raw = raw_load(args, env, path)
    log(f"raw load: {raw:.2f} s")
    cmd = [sys.executable, os.path.abspath(__file__), "--floor", str(path)]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True).stdout
    flo = json.loads(out.decode().strip().splitlines()[-1])
    if flo["rows"] != args.rows:
        raise SystemExit(f"floor: {flo['rows']} rows written, {args.rows} expected")
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in flo["steps"].items())
    log(f"floor (the import's writes by the database alone): {flo['seconds']:.2f} s: {parts}")
    imp = run_child(env, path, args.profile)
    log(f"import: {imp['seconds']:.2f} s ({imp['counts']})")
    figures = {
        "db": args.db,
        "users": args.users,
        "courses": args.courses,
        "rows": args.rows,
        "cpus": os.cpu_count(),
        "version": source_version(),
        "load_average": round(os.getloadavg()[1], 2),  # 5 minutes, about the run
        "setup_seconds": round(setup, 2),
        "raw_seconds": round(raw, 3),
        "raw_rows_per_s": round(args.rows / raw),
        "import_seconds": round(imp["seconds"], 3),
        "import_wall_seconds": round(imp["wall"], 3),
        "import_rows_per_s": round(args.rows / imp["seconds"]),
        "ratio": round(imp["seconds"] / raw, 2),
        "floor_seconds": round(flo["seconds"], 3),
        "floor_rows_per_s": round(args.rows / flo["seconds"]),
        "floor_ratio": round(flo["seconds"] / raw, 2),
        "floor_steps": {k: round(v, 3) for k, v in flo["steps"].items()},
        "import_floor_ratio": round(imp["seconds"] / flo["seconds"], 2),
        "counts": imp["counts"],
        "peak_rss_mb": round(imp["maxrss_kb"] / 1024, 1),
        "peak_vmhwm_mb": round(imp["vmhwm_kb"] / 1024, 1),
    }
    if args.compare_memory:  # the same import of 10x fewer rows, into a database as fresh
        env = environment(args, work, "memory")
        small, _ = fresh_data(args, env, work, MEMORY_ROWS)
        other = run_child(env, small)
        log(f"import of {MEMORY_ROWS:,} rows: {other['seconds']:.2f} s ({other['counts']})")
        figures["memory_rows"] = MEMORY_ROWS
        figures["memory_import_seconds"] = round(other["seconds"], 3)
        figures["memory_peak_rss_mb"] = round(other["maxrss_kb"] / 1024, 1)
        figures["memory_peak_vmhwm_mb"] = round(other["vmhwm_kb"] / 1024, 1)
        figures["memory_ratio"] = round(imp["maxrss_kb"] / other["maxrss_kb"], 2)
    return figures


def source_version() -> str:
    """The commit measured, marked +dirty when src/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent

    def git(*a):
        r = subprocess.run(["git", *a], cwd=root, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "src") else "")


def report(args, f: dict) -> None:
    if args.json:
        print(json.dumps(f))
        return
    c = f["counts"]
    raw_how = (
        "COPY into an UNLOGGED table"
        if f["db"] == "postgres"
        else "one executemany in one transaction"
    )
    print(
        f"Registrar completions benchmark: {f['db']}, {f['rows']:,} rows, "
        f"{f['users']:,} users, {f['courses']:,} courses, {f['cpus']} CPUs, "
        f"source {f['version']}, 5-min load average {f['load_average']}"
    )
    lines = [
        (f"raw load ({raw_how})", f["raw_seconds"], f["raw_rows_per_s"], ""),
        ("floor (the import's writes, by the database alone)", f["floor_seconds"],
         f["floor_rows_per_s"], ""),
        ("import through the engine", f["import_seconds"], f["import_rows_per_s"],
         f"  (process {f['import_wall_seconds']:.1f} s)"),
    ]  # fmt: skip
    for label, seconds, rate, extra in lines:
        print(f"  {label + ':':<54}{seconds:8.2f} s  {rate:>10,} rows/s{extra}")
    print(
        f"  rows: created {c['created']:,}, updated {c['updated']:,}, skipped {c['skipped']:,}, "
        f"rejected {c['rejected']:,}"
    )
    print(f"  ratio import/raw: {f['ratio']:.1f}x   (SPEC §11: at most 3x)")
    print(f"  ratio floor/raw: {f['floor_ratio']:.1f}x   (what no import can go under)")
    print(f"  ratio import/floor: {f['import_floor_ratio']:.1f}x")
    print(f"  throughput: {f['import_rows_per_s']:,} rows/s   (SPEC §11: at least 100,000 rows/s)")
    print(
        f"  import peak memory: {f['peak_rss_mb']:.0f} MB "
        f"(the import process's ru_maxrss; its VmHWM {f['peak_vmhwm_mb']:.0f} MB)"
    )
    if "memory_ratio" in f:
        print(
            f"  {f['memory_rows']:,}-row import peak memory: {f['memory_peak_rss_mb']:.0f} MB; "
            f"ratio {f['rows']:,}/{f['memory_rows']:,} rows: {f['memory_ratio']:.2f}   "
            "(SPEC §11: at most 1.5)"
        )
    if c["rejected"] or c["created"] != f["rows"]:
        print("  WARNING: not every row was created: the figures are not comparable")


if __name__ == "__main__":
    main()
