#!/usr/bin/env python
"""The completion dashboard and /api/reports/completions at scale (SPEC §11: pages and API
answers under 200 ms at the 95th percentile), on SQLite or PostgreSQL.

In a fresh database it builds (raw bulk inserts, bench_completions' helpers) an organisation tree
of 1 + 10 + 100 organisations, N users spread over its leaves, 1,000 courses in 100 curricula of
10 courses and 10 programmes, and M (user, course) pairs, each an assignment and a course record
(completed 60 %, in progress 25 %, not started 15 %; one in ten legacy; a third with a target
date, most of them past), plus one curriculum assignment per user. Then, in this process, with
Django's test client (no network): the dashboard page (`/`) for a site administrator and for an
administrator scoped to one region, and the API's `by=course` and `by=organisation` answers,
each fetched --runs times after one warm-up; the report's grouped queries alone, timed too.
Prints median, p95 and max in ms, and the database's own time for the plain grouped query.

    python benchmarks/bench_dashboard.py [--users 100000 --records 1000000] [--db sqlite|postgres]
        [--runs 30] [--keep DIR] [--reuse DIR] [--json]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_completions as bc  # noqa: E402 (the shared set-up: raw inserts, fresh databases)

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_dashboard"
REGIONS, BRANCHES = 10, 10  # organisations: ROOT ⊃ 10 regions ⊃ 10 branches each
COURSES, PER_CURRICULUM, PROGRAMMES = 1000, 10, 10


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(users: int, records: int) -> None:
    """The data set, in bulk: organisations, users, catalogue, assignments and records."""
    from django.utils import timezone

    from registrar.catalogue.models import (
        Course,
        Curriculum,
        CurriculumCourse,
        Programme,
        ProgrammeCurriculum,
    )
    from registrar.core.management.commands.init import migrate_all
    from registrar.directory.models import Organisation, User
    from registrar.learning.models import CourseAssignment, CourseRecord, CurriculumAssignment

    migrate_all()
    t = time.perf_counter()
    root = Organisation.objects.create(extid="ROOT", label="Benchmark group")
    leaves = []
    for r in range(REGIONS):
        region = Organisation.objects.create(extid=f"R{r:02d}", label=f"Region {r}", parent=root)
        for b in range(BRANCHES):
            leaves.append(
                Organisation.objects.create(
                    extid=f"R{r:02d}-B{b:02d}", label=f"Branch {r}.{b}", parent=region
                ).pk
            )
    now = timezone.now()
    bc.bulk_insert(
        User,
        (
            {
                "id": i,
                "login": f"user{i:06d}",
                "email": bc.email(i),
                "last_name": f"Learner{i}",
                "first_name": "Bench",
                "organisation_id": leaves[i % len(leaves)],
                "disabled": i % 50 == 0,
            }
            for i in range(1, users + 1)
        ),
        {"password": "!", "date_joined": now},
    )
    bc.bulk_insert(
        Course,
        (
            {"id": i, "code": bc.course_code(i), "title": f"Course {i}", "uuid": uuid.uuid4()}
            for i in range(1, COURSES + 1)
        ),
        {"published": True},
    )
    curricula = COURSES // PER_CURRICULUM
    bc.bulk_insert(
        Curriculum,
        (
            {"id": i, "code": f"CUR{i:03d}", "title": f"Curriculum {i}", "uuid": uuid.uuid4()}
            for i in range(1, curricula + 1)
        ),
        {"published": True},
    )
    bc.bulk_insert(
        CurriculumCourse,
        (
            {"id": c, "curriculum_id": (c - 1) // PER_CURRICULUM + 1, "course_id": c}
            for c in range(1, COURSES + 1)
        ),
        {},
    )
    bc.bulk_insert(
        Programme,
        (
            {"id": i, "code": f"PRG{i:02d}", "title": f"Programme {i}", "uuid": uuid.uuid4()}
            for i in range(1, PROGRAMMES + 1)
        ),
        {"published": True},
    )
    bc.bulk_insert(
        ProgrammeCurriculum,
        (
            {"id": q, "programme_id": (q - 1) % PROGRAMMES + 1, "curriculum_id": q}
            for q in range(1, curricula + 1)
        ),
        {},
    )
    log(f"organisations, users, catalogue: {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    day0 = date(2023, 1, 1)

    def pairs():
        for i in range(records):
            u, q = i % users, i // users
            yield i, u + 1, (q + 7 * u) % COURSES + 1

    def assignment(i, u, c):
        target = day0 + timedelta(days=(i * 37) % 900) if i % 3 == 0 else None
        return {"id": i + 1, "user_id": u, "course_id": c, "target_date": target}

    bc.bulk_insert(
        CourseAssignment,
        (assignment(*p) for p in pairs()),
        {"assigned_at": now, "option": "mandatory", "source": "import"},
    )
    log(f"{records:,} course assignments: {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    stamps = [now - timedelta(days=d) for d in range(1000)]

    def record(i, u, c):
        k = (i * 7919) % 100
        status = "C" if k < 60 else "I" if k < 85 else "N"
        return {
            "id": i + 1,
            "user_id": u,
            "course_id": c,
            "status": status,
            "status_date": stamps[i % 1000] if status != "N" else None,
            "completion_percent": 100 if status == "C" else 0,
            "legacy": i % 10 == 0,
        }

    bc.bulk_insert(CourseRecord, (record(*p) for p in pairs()), {"source": "import"})
    log(f"{records:,} course records: {time.perf_counter() - t:.1f}s")
    bc.bulk_insert(
        CurriculumAssignment,
        ({"id": u, "user_id": u, "curriculum_id": u % curricula + 1} for u in range(1, users + 1)),
        {"assigned_at": now, "option": "mandatory", "source": "import"},
    )
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def people():
    """A site administrator and an administrator of region R00 (their grants)."""
    from registrar.directory.models import Organisation, Role, RoleGrant, User

    root = Organisation.objects.get(extid="ROOT")
    boss, _ = User.objects.get_or_create(
        login="bench-admin",
        defaults={"organisation": root, "last_name": "Admin", "first_name": "B"},
    )
    region = Organisation.objects.get(extid="R00")
    scoped, _ = User.objects.get_or_create(
        login="bench-region",
        defaults={"organisation": region, "last_name": "Region", "first_name": "B"},
    )
    RoleGrant.objects.get_or_create(
        user=boss, role=Role.objects.get(name="Site administrator"), scope=None
    )
    RoleGrant.objects.get_or_create(
        user=scoped, role=Role.objects.get(name="Organisation administrator"), scope=region
    )
    return boss, scoped


def timed(fn, runs: int, before=None) -> dict:
    """fn() once to warm up, then `runs` times (each after before(), not timed): median, p95
    and max in ms."""
    fn()
    times = []
    for _ in range(runs):
        if before:
            before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return {
        "median": round(statistics.median(times), 1),
        "p95": round(p95, 1),
        "max": round(times[-1], 1),
    }


def measure(runs: int, cold_runs: int) -> dict:
    from django.conf import settings
    from django.test import Client

    from registrar.api.models import ApiToken
    from registrar.reports.completions import Filters, completions

    boss, scoped = people()
    token = ApiToken.issue(boss, "bench")[1]
    scoped_token = ApiToken.issue(scoped, "bench")[1]
    web, web_scoped = Client(SERVER_NAME="127.0.0.1"), Client(SERVER_NAME="127.0.0.1")
    web.force_login(boss)
    web_scoped.force_login(scoped)

    def get(client, path, **headers):
        def call():
            r = client.get(path, **headers)
            assert r.status_code == 200, (path, r.status_code, r.content[:300])

        return call

    api = Client(SERVER_NAME="127.0.0.1")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bearer_scoped = {"HTTP_AUTHORIZATION": f"Bearer {scoped_token}"}
    pages = {
        "dashboard, site administrator": get(web, "/"),
        "dashboard, region administrator": get(web_scoped, "/"),
        "dashboard, one course, accreditation": get(web, "/?course=C00001&accreditation=1"),
        "API by=course": get(api, "/api/reports/completions?by=course", **bearer),
        "API by=organisation": get(api, "/api/reports/completions?by=organisation", **bearer),
        "API by=organisation, region administrator": get(
            api, "/api/reports/completions?by=organisation", **bearer_scoped
        ),
        "API by=curriculum": get(api, "/api/reports/completions?by=curriculum", **bearer),
    }
    layer = {
        "query layer by=course": lambda: completions("course", Filters()),
        "query layer by=organisation": lambda: completions("organisation", Filters()),
        "query layer by=course, region R00": lambda: completions("course", Filters(org="R00")),
    }

    def change():
        """What a small import does: one course record of a random course completed, through
        the journal, as its own operation (the grid's cells of that course are counted again)."""
        import random

        from registrar.journal import service, writes
        from registrar.journal.models import Operation
        from registrar.learning.models import CourseRecord

        top = CourseRecord.objects.order_by("-pk").values_list("pk", flat=True).first()
        rec = (
            CourseRecord.objects.filter(pk__gte=random.randint(1, top))
            .exclude(status="C")
            .order_by("pk")
            .first()
        ) or CourseRecord.objects.exclude(status="C").first()
        op = service.start_operation("import", "bench")
        writes.update(CourseRecord, [(rec.pk, {"status": "C"}, writes.row_values(rec), None)], op)
        service.finish_operation(op, Operation.Status.DONE, rows=1, updated=1)

    def empty_change():
        """An operation that wrote nothing (a verify-only run): the data's version moves."""
        from registrar.journal.models import Operation

        Operation.objects.create(kind="bench", name="bench", verify_only=True)

    out = {}
    settings.REGISTRAR_REPORT_CACHE_SECONDS = 300
    for what, before in (("a change", change), ("an operation that wrote nothing", empty_change)):
        for name in ("dashboard, site administrator", "API by=course"):
            key = f"{name} (first request after {what})"
            pages[name]()  # the grid kept before the change
            out[key] = timed(pages[name], cold_runs, before=before)
            t = out[key]
            log(
                f"{key:55} median {t['median']:8.1f} ms  p95 {t['p95']:8.1f} ms  max {t['max']:8.1f}"
            )
    # Warm: the data unchanged since the answer was kept (registrar.reports.cache); cold: the
    # first request after a change, every report computed (the cache off).
    for mode, ttl, n in (("warm", 300, runs), ("cold", 0, cold_runs)):
        settings.REGISTRAR_REPORT_CACHE_SECONDS = ttl
        for name, fn in (pages | (layer if mode == "cold" else {})).items():
            key = f"{name} ({mode})"
            out[key] = timed(fn, n)
            t = out[key]
            log(
                f"{key:55} median {t['median']:8.1f} ms  p95 {t['p95']:8.1f} ms  max {t['max']:8.1f}"
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--cold-runs", type=int, default=5, help="Runs with the cache off.")
    ap.add_argument("--reuse", help="A folder (SQLite) kept by --keep: measure without building.")
    ap.add_argument("--keep", help="Build into this folder and keep it (SQLite).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = Path(args.reuse or args.keep or tempfile.mkdtemp(prefix="registrar-bench-dashboard-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.update(bc.environment(args, work))
    if args.db == "postgres" and not args.reuse:
        bc.fresh_postgres(args.pg_url)
    bc.django_setup()
    t = time.perf_counter()
    if not args.reuse:
        build(args.users, args.records)
        log(f"built in {time.perf_counter() - t:.1f}s ({work})")
    result = {"db": args.db, "users": args.users, "records": args.records, "runs": args.runs}
    result["timings_ms"] = measure(args.runs, args.cold_runs)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
