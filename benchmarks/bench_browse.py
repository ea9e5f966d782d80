#!/usr/bin/env python
"""The browse pages (issue 12, part 4) at scale: 100,000 users in an organisation tree of 111
organisations, 1,000 courses, 1,000,000 course assignments each with its course record, on SQLite
or PostgreSQL.

A child process builds the data with raw bulk inserts (the set-up of bench_completions.py), then
another signs in a site administrator and a scoped one (Django's test client, in process: the
middleware, the view, the queries and the template, without a socket) and fetches each page --runs
times after one warm-up fetch, printing the median and the 95th percentile in milliseconds.

    python benchmarks/bench_browse.py [--users 100000 --courses 1000 --records 1000000]
        [--db sqlite|postgres] [--runs 30] [--json] [--explain]
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
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_completions as bc  # noqa: E402 (the shared set-up: raw inserts, databases)

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_browse"
REGIONS, BRANCHES = 10, 10  # BENCH ⊃ 10 regions ⊃ 10 branches each: users are in branches
PER_USER = 10  # records (and assignments) per user: --records / --users
STATUSES = ("C", "C", "C", "C", "C", "I", "I", "N", "N", "N")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def branch_extid(i: int) -> str:
    return f"BR-{i // BRANCHES:02d}-{i % BRANCHES:02d}"


def prepare(args) -> None:
    """Child: the organisations, users, audiences, courses, assignments and records."""
    bc.django_setup()
    from django.core.management import call_command
    from django.utils import timezone

    from registrar.catalogue.models import Course
    from registrar.directory.models import (
        Audience,
        Organisation,
        Role,
        RoleGrant,
        User,
        UserAudience,
    )
    from registrar.journal.models import Operation
    from registrar.learning.models import CourseAssignment, CourseRecord

    call_command("migrate", interactive=False, verbosity=0)
    call_command("migrate", database="jobs", interactive=False, verbosity=0)
    t = time.perf_counter()
    root = Organisation.objects.create(extid="BENCH", label="Benchmark")
    regions = Organisation.objects.bulk_create(
        Organisation(extid=f"RG-{r:02d}", label=f"Region {r}", parent=root) for r in range(REGIONS)
    )
    branches = Organisation.objects.bulk_create(
        Organisation(extid=branch_extid(i), label=f"Branch {i}", parent=regions[i // BRANCHES])
        for i in range(REGIONS * BRANCHES)
    )
    ops = Operation.objects.bulk_create(
        Operation(kind="import", name="completions", actor_label="bench", status="done")
        for _ in range(20)
    )
    now = timezone.now()
    n_branches = len(branches)
    bc.bulk_insert(
        User,
        (
            {
                "id": i,
                "login": f"user{i:06d}",
                "email": bc.email(i),
                "last_name": f"Learner{(i * 7919) % args.users:06d}",
                "first_name": "Bench",
                "organisation_id": branches[i % n_branches].pk,
                "extid": f"EMP{i:06d}",
                "disabled": i % 50 == 7,  # not a multiple of what puts users on a course
                "op": ops[i % len(ops)].pk,
            }
            for i in range(1, args.users + 1)
        ),
        {"password": "!", "date_joined": now},
    )
    admin = User.objects.create_user("bench.admin", "bench-pass", last_name="Admin",
                                     first_name="Bench", organisation=root)  # fmt: skip
    RoleGrant.objects.create(user=admin, role=Role.objects.get(name="Site administrator"))
    scoped = User.objects.create_user("bench.region", "bench-pass", last_name="Region",
                                      first_name="Bench", organisation=regions[0])  # fmt: skip
    RoleGrant.objects.create(
        user=scoped, role=Role.objects.get(name="Organisation administrator"), scope=regions[0]
    )
    audiences = Audience.objects.bulk_create(Audience(name=f"Audience {a}") for a in range(5))
    bc.bulk_insert(
        UserAudience,
        (
            {"id": i, "user_id": i, "audience_id": audiences[i % 5].pk}
            for i in range(1, args.users + 1, 5)
        ),
        {},
    )
    bc.bulk_insert(
        Course,
        (
            {"id": c, "code": bc.course_code(c), "title": f"Course {c}", "uuid": uuid.uuid4()}
            for c in range(1, args.courses + 1)
        ),
        {"published": True},
    )
    per_user = max(1, args.records // args.users)
    past, future = date.today() - timedelta(days=30), date.today() + timedelta(days=60)

    def pairs():
        n = 0
        for u in range(1, args.users + 1):
            for k in range(per_user):
                n += 1
                # Course k of user u: distinct for one user; every course gets about as many.
                yield n, u, (u * 7 + k * (args.courses // per_user)) % args.courses + 1, k

    bc.bulk_insert(
        CourseAssignment,
        (
            {
                "id": n,
                "user_id": u,
                "course_id": c,
                "target_date": past if k % 3 == 0 else future,
                "op": ops[n % len(ops)].pk,
            }
            for n, u, c, k in pairs()
        ),  # fmt: skip
        {"assigned_at": now, "option": "mandatory", "source": "import"},
    )
    bc.bulk_insert(
        CourseRecord,
        (
            {
                "id": n,
                "user_id": u,
                "course_id": c,
                "status": STATUSES[(u + k) % 10],
                "op": ops[n % len(ops)].pk,
            }
            for n, u, c, k in pairs()
        ),  # fmt: skip
        {"status_date": now, "source": "import"},
    )
    from django.db import connection

    with connection.cursor() as cur:  # fresh statistics, as a production database has
        cur.execute("ANALYZE")
    print(json.dumps({"setup_seconds": time.perf_counter() - t, "records": args.users * per_user}))


def pages(args, region: bool) -> dict[str, str]:
    """The pages measured; a region's administrator filters on organisations of their region."""
    mid = args.users // 2
    branch, reg = (branch_extid(7), "RG-00") if region else (branch_extid(37), "RG-03")
    user = f"user{(mid // (REGIONS * BRANCHES)) * REGIONS * BRANCHES + (7 if region else 0):06d}"
    return {
        "users list": "/users/",
        "users list, searched": f"/users/?q=user{mid:06d}",
        "users list, searched (1,000+ matches)": "/users/?q=learner01",
        "users list, by organisation": f"/users/?org={branch}",
        "users list, by region": f"/users/?org={reg}",
        "users list, course + status": f"/users/?org=BENCH&course={bc.course_code(1)}&status=overdue",
        "users list, status on any course": f"/users/?org={branch}&status=overdue",
        "users list, page 1000": "/users/?page=1000",
        "a user's page": f"/users/{user}/",
        "courses list": "/courses/",
        "a course's page": f"/courses/{bc.course_code(1)}/",
        "a course's page, overdue": f"/courses/{bc.course_code(1)}/?status=overdue",
    }


def measure(args) -> None:
    """Child: each page --runs times, as a site administrator and as a region's."""
    bc.django_setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", interactive=False, verbosity=0)  # a kept database: new indexes
    from django.test.utils import CaptureQueriesContext

    from registrar.directory.models import User

    out = {}
    for who in ("bench.admin", "bench.region"):
        c = Client(HTTP_HOST="127.0.0.1")
        c.force_login(User.objects.get(login=who))
        for name, url in pages(args, who == "bench.region").items():
            with CaptureQueriesContext(connection) as ctx:
                r = c.get(url)
            queries = list(ctx.captured_queries)  # a view of the log, which each request resets
            if r.status_code != 200:
                raise SystemExit(f"{who} {url}: {r.status_code} {r.content[:500]!r}")
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                c.get(url)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            out[f"{who}: {name}"] = {
                "url": url,
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(p95, 1),
                "queries": len(queries),
            }
            if args.explain:
                slowest = max(queries, key=lambda q: float(q["time"]))
                log(f"{who} {name}: slowest query {slowest['time']} s: {slowest['sql'][:600]}")
            log(f"{who} {name}: {out[f'{who}: {name}']}")
    print(json.dumps(out))


def run(env: dict, *flags: str) -> dict:
    p = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *flags], env=env, stdout=subprocess.PIPE
    )
    if p.returncode:
        raise SystemExit(f"{' '.join(flags)} failed (exit {p.returncode})")
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--courses", type=int, default=1_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--explain", action="store_true", help="log each page's slowest query")
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (reused if there)")
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare:
        return prepare(args)
    if args.measure:
        return measure(args)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="registrar-bench-br-"))
    work.mkdir(parents=True, exist_ok=True)
    env = bc.environment(args, work)
    sizes = ["--users", str(args.users), "--courses", str(args.courses)]
    sizes += ["--records", str(args.records)]
    try:
        built = (work / "built").exists()
        if not built:
            if args.db == "postgres":
                bc.fresh_postgres(args.pg_url)
            log(f"building {args.users:,} users and {args.records:,} records on {args.db}…")
            setup = run(env, "--prepare", *sizes)
            log(f"set up in {setup['setup_seconds']:.0f} s")
            (work / "built").write_text(json.dumps(setup))
        flags = ["--measure", "--runs", str(args.runs), *sizes]
        figures = run(env, *flags, *(["--explain"] if args.explain else []))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.db == "postgres":
                bc.drop_postgres(args.pg_url)
    if args.json:
        print(json.dumps({"db": args.db, "version": bc.source_version(), "pages": figures}))
        return
    print(
        f"Registrar browse pages: {args.db}, {args.users:,} users, {args.records:,} records, "
        f"{args.runs} fetches each, source {bc.source_version()}"
    )
    print(f"  {'page':<62}{'median':>9}{'p95':>9}{'queries':>9}")
    for name, f in figures.items():
        flag = "" if f["p95_ms"] < 200 else "   > 200 ms"
        print(f"  {name:<62}{f['median_ms']:>7.1f}ms{f['p95_ms']:>7.1f}ms{f['queries']:>9}{flag}")


if __name__ == "__main__":
    main()
