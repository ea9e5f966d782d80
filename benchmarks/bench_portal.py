#!/usr/bin/env python
"""The portal while a 100,000-row import runs in the background: how fast its pages answer.

Builds a fresh site (`registrar init`, `registrar demo --users 5000`) in a temporary folder,
starts `registrar serve` (a worker alongside), signs in with Chromium (Playwright), uploads a
completions file of N rows over the demo's learners and courses, clicks "Import now", and while
the job runs fetches the job's status fragment, the history page, the imports page and the API's
job status in turn, timing each answer. Prints medians, 95th percentiles and maxima per page, the
import's own duration, and saves a screenshot of the progress page mid-run.

    python benchmarks/bench_portal.py [--rows 100000] [--db sqlite|postgres] [--out DIR]
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_portal"


def registrar(*args, env, cwd):
    subprocess.run([sys.executable, "-m", "registrar.cli", *args], env=env, cwd=cwd, check=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def completions_file(path: Path, rows: int, env, cwd) -> None:
    """N distinct (course, learner) rows over the demo's data, in a shuffled order."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "registrar.cli",
            "shell",
            "-c",
            "from registrar.directory.models import User; from registrar.catalogue.models import Course;"
            "print('|'.join(User.objects.filter(training_access=True, disabled=False).exclude(email='')"
            ".values_list('email', flat=True)));"
            "print('|'.join(Course.objects.filter(published=True).values_list('code', flat=True)))",
        ],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    emails, courses = sorted(set(out[-2].split("|"))), out[-1].split("|")
    pairs = [(c, e) for c in courses for e in emails]
    if len(pairs) < rows:
        raise SystemExit(f"only {len(pairs)} pairs: raise --users")
    random.Random(7).shuffle(pairs)
    with open(path, "w", encoding="utf-8") as f:
        f.write("course_id;user_email;completion_date\n")
        for i, (c, e) in enumerate(pairs[:rows]):
            f.write(f"{c};{e};2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--out", default="benchmarks/out")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="registrar-bench-portal-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(REGISTRAR_DATA=str(work / "data"), REGISTRAR_DB=str(work / "registrar.sqlite3"))
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
            c.execute('DROP DATABASE IF EXISTS "registrar_bench_portal" WITH (FORCE)')
            c.execute('CREATE DATABASE "registrar_bench_portal"')
        env["DATABASE_URL"] = PG_URL
    print(f"setting up in {work} ...", file=sys.stderr)
    registrar("init", env=env, cwd=work)
    registrar("demo", "--users", str(args.users), env=env, cwd=work)
    data = work / "completions.csv"
    completions_file(data, args.rows, env, work)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(work / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "registrar.cli", "serve", "--port", str(port), "--worker"],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        token = subprocess.run(
            [sys.executable, "-m", "registrar.cli", "token", "admin"],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "admin")
            page.click("button[type=submit]")
            page.wait_for_url(url + "/imports/")
            page.goto(url + "/imports/completions/")
            page.set_input_files("#file", str(data))
            page.click("button.primary")
            page.wait_for_url("**/uploads/**")
            page.click("button[value=run]")
            page.wait_for_url("**/jobs/**")
            clicked = time.monotonic()
            job_id = page.url.rstrip("/").rsplit("/", 1)[1]
            probes = {
                "job status fragment": f"{url}/jobs/{job_id}/status/",
                "history page": f"{url}/history/",
                "imports page": f"{url}/imports/",
            }
            api = f"{url}/api/jobs/{job_id}"
            timings: dict[str, list[float]] = {k: [] for k in [*probes, "API job status"]}
            shot = False
            status = "queued"
            while status not in ("done", "failed"):
                for name, target in probes.items():
                    t = time.monotonic()
                    r = page.request.get(target)
                    timings[name].append(time.monotonic() - t)
                    assert r.ok, (name, r.status)
                t = time.monotonic()
                r = page.request.get(api, headers={"Authorization": f"Bearer {token}"})
                timings["API job status"].append(time.monotonic() - t)
                job = r.json()
                status = job["status"]
                if status == "running" and not shot and (job["fraction"] or 0) > 0.3:
                    Path(args.out).mkdir(parents=True, exist_ok=True)
                    page.reload()
                    page.screenshot(path=f"{args.out}/portal-progress-{args.db}.png")
                    shot = True
                time.sleep(0.25)
            total = time.monotonic() - clicked
            b.close()
        print(
            f"\n{args.db}: {args.rows:,} rows, job {status} in {total:.1f} s after the click "
            f"(import itself {job['rows_done'] / max(job['rows_per_second'], 1):.1f} s, "
            f"{job['rows_per_second']:,.0f} rows/s); result {job['result']}"
        )
        print("| page | answers | median ms | p95 ms | max ms |\n|---|---|---|---|---|")
        for name, ts in timings.items():
            ms = sorted(x * 1000 for x in ts)
            p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
            print(
                f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} |"
            )
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
