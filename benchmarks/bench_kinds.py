#!/usr/bin/env python
"""Every import kind's throughput: N valid rows through the engine, on SQLite or PostgreSQL.

For each case (one per import kind; the users kind twice: new users with passwords, and existing
users updated without passwords) it builds a fresh database holding what the rows refer to
(organisations, users, a catalogue of courses, lessons, curricula and programmes, credit types,
lists, and the assignments some kinds need), writes a file of N valid rows in the vendor's format
(semicolon CSV with the kind's canonical headers, every column present), then times
registrar.bulk.engine.run_import on it in a child process: parsed, validated, resolved, planned,
applied, journalled, results/rejects/log files written, operation closed. The setup is not timed.

Each case also measures its own floor (issue 15), in the same run: "the same writes into the same
tables by the database alone, each statement once". Before the import a pristine copy of the
database is kept (SQLite: the files copied; PostgreSQL: CREATE DATABASE ... TEMPLATE). After it,
what the import wrote is found per table by primary key against that copy, every table of the
database but SQLite's own (sqlite_sequence, sqlite_stat1): rows inserted, rows updated (same key,
other values: the columns that changed in any row) and rows deleted; a summary is printed. Those
rows are staged, untimed (SQLite: a staging file built from the two files; PostgreSQL: the
changed tables COPYed into UNLOGGED tables of the pristine copy, split and ANALYZEd there). Then,
timed, on the pristine copy: one transaction with, per table, one DELETE (children first), one
INSERT ... SELECT and one UPDATE ... FROM of the changed columns (parents first), and its COMMIT:
on PostgreSQL the deferred foreign keys are checked there; on SQLite with the import's own
connection settings (the pragmas its connections have, read in the prepare process, synchronous
as in the import's durable transaction, foreign keys on, BEGIN IMMEDIATE); the jobs file's
writes (SQLite) in a second transaction. The floor excludes reading, parsing and validating the
file, resolving its references, work the import does and undoes (its lock row), ids drawn from
sequences, and the results files. The raw limit is printed beside it: the file loaded into a bare
table of text columns (PostgreSQL: COPY into an UNLOGGED table; SQLite: one executemany).

It prints, per case: rows, seconds, rows/s, the import process's peak memory, the row results
(every row must end as the case expects, and none rejected: a benchmark of rejected rows measures
nothing), the number of database calls the import made (statements and COPYs; executemany
counts once), the floor's seconds and the ratio import/floor (--json adds the floor's time per
table, the raw load and the rows written per table). With --scaling every case is also measured
at N/10 rows in an equally fresh database: `growth` is (time for N / time for N/10) / 10, 1.0
when the time is linear in the rows.
With BENCH_TOP_QUERIES=1 in the environment each import also prints its most frequent statements;
with BENCH_PROFILE=DIR each import runs under cProfile into DIR/<case>.prof.

    python benchmarks/bench_kinds.py [--rows 100000] [--kinds a,b,...] [--db sqlite|postgres]
        [--pg-url URL] [--password-rows 10000] [--scaling] [--json PATH] [--keep]
"""

import argparse
import collections
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PG_URL = "postgresql://postgres@127.0.0.1:5432/registrar_bench_kinds"
NAMESPACE = uuid.UUID("9d8a3c1e-5f0b-4a57-8d2e-6f1c0b7e4a21")  # the benchmark's UUIDs
DAY0 = date(2020, 1, 1)

# Realistic cells: accented names (passport names are compared folded), French and English.
LAST = ["Martin", "Bernard", "Durand", "Lefèvre", "Müller", "O'Brien", "García", "Smith", "Nguyen"]
LAST += ["Dubois", "Rousseau", "Gauthier", "Wilson", "Taylor", "Brown", "Côté", "Lévesque"]
FIRST = ["Alice", "Benoît", "Chloé", "David", "Émilie", "François", "Grace", "Hélène", "Ivan"]
FIRST += ["Jérôme", "Karen", "Léa", "Mohamed", "Noémie", "Olivier", "Pauline", "Zoé"]
CITIES = [("Paris", "75008", "France"), ("Lyon", "69007", "France"), ("London", "EC2A 4NE", "UK")]
CITIES += [("Montréal", "H3B 2Y5", "Canada"), ("Genève", "1204", "Switzerland")]
CULTURES = ["fr-FR", "en-GB", "fr-CA", "en-CA", "fr-CH", "es-ES"]
AUDIENCES = ["Office staff", "Field staff", "Sales force", "Managers", "Newcomers"]
CREDIT_TYPES = ["CPD", "AMA PRA Category 1"]
BASE_LISTS = 20  # static lists that exist before the static-lists import (it names 100)
LESSONS = 5  # per course


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def day(i: int) -> date:
    """A past day, 2020-01-01 + up to about 4 years, spread by a large prime."""
    return DAY0 + timedelta(days=(i * 7919) % 1500)


def cycle(items: list, i: int):
    return items[i % len(items)]


# -- what the base data holds, computable without the database ---------------------------------


@dataclass
class Base:
    users: int
    courses: int

    @property
    def curricula(self) -> int:  # 10 courses each
        return max(1, self.courses // 10)

    @property
    def programmes(self) -> int:  # 10 curricula each
        return max(1, self.curricula // 10)

    # Organisations: a root, 10 regions, 10 departments in each.
    ROOT = "BENCH"

    @staticmethod
    def region(r: int) -> str:
        return f"BENCH-R{r:02d}"

    @staticmethod
    def dept(d: int) -> str:  # d in 0..99
        return f"BENCH-R{d // 10:02d}-D{d % 10:02d}"

    @staticmethod
    def login(u: int) -> str:
        return f"user{u:06d}"

    @staticmethod
    def email(u: int) -> str:
        return f"user{u:06d}@bench.example"

    @staticmethod
    def extid(u: int) -> str:
        return f"E{u:06d}"

    @staticmethod
    def last(u: int) -> str:
        return cycle(LAST, u)

    @staticmethod
    def first(u: int) -> str:
        return cycle(FIRST, u // len(LAST))

    @staticmethod
    def course(c: int) -> str:
        return f"C{c:05d}"

    @staticmethod
    def course_title(c: int) -> str:
        return f"Course {c:05d}: compliance and safety, part {c % 7 + 1}"

    @staticmethod
    def course_extref(c: int) -> str:
        return f"EXT-C{c:05d}"

    @staticmethod
    def course_uuid(c: int) -> uuid.UUID:
        return uuid.uuid5(NAMESPACE, f"course/{c}")

    @staticmethod
    def classroom(c: int) -> bool:
        return c % 10 == 0  # one course in ten, with classroom (T) lessons 1 and 2

    @staticmethod
    def lesson(c: int, j: int) -> str:  # j in 1..LESSONS
        return f"C{c:05d}-L{j}"

    @classmethod
    def lesson_type(cls, c: int, j: int) -> str:
        if cls.classroom(c) and j in (1, 2):
            return "T"
        return "A" if j == LESSONS else "L"

    @staticmethod
    def curriculum(k: int) -> str:
        return f"CUR{k:04d}"

    @staticmethod
    def programme(p: int) -> str:
        return f"PRG{p:03d}"

    @staticmethod
    def list_name(k: int) -> str:
        return f"Bench list {k:03d}"

    def pair(self, i: int) -> tuple[int, int]:
        """Row i's (user, course): distinct for i < users x courses."""
        u, q = i % self.users, i // self.users
        return u, (q + 7 * u) % self.courses

    def curriculum_pair(self, i: int) -> tuple[int, int]:
        u, q = i % self.users, i // self.users
        return u, (q + 7 * u) % self.curricula


# -- the cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    kind: str
    expect: str  # the result every row must have
    what: str  # what the figure is, in a few words
    options: dict = field(default_factory=dict)
    setup: str = ""  # extra data this case needs: "assign", "assign-lessons", "list-access"


CASES = {
    c.name: c
    for c in [
        Case(
            "organisations",
            "organisations",
            "created",
            "new organisations, 14 columns, a tree 5 levels deep (whole file in one batch)",
        ),
        Case(
            "users-new",
            "users",
            "created",
            "new users WITH passwords (Argon2 bulk hashing), 38 columns, audiences, lists",
        ),
        Case(
            "users-hashes",
            "users",
            "created",
            "new users with password HASHES from another system (user_password_hash, $6$ SHA-512 "
            "crypt as Moodle writes them), 39 columns",
        ),
        Case(
            "users-nopass",
            "users",
            "created",
            "new users WITHOUT passwords (unusable password, a set-password mail queued each)",
        ),
        Case(
            "users-course",
            "users",
            "created",
            "new users WITHOUT passwords, each entering a list whose access property assigns "
            "them one course (the job of Moodle's course1 column)",
            setup="list-access",
        ),
        Case(
            "users-update",
            "users",
            "updated",
            "existing users updated WITHOUT passwords (empty user_password, keep_passwords)",
        ),
        Case(
            "catalogue",
            "catalogue",
            "created",
            "new programmes, curricula, courses (with credits) and lessons (whole file in one batch)",
        ),
        Case("course-assignments", "course-assignments", "created", "new course assignments"),
        Case(
            "curriculum-assignments",
            "curriculum-assignments",
            "created",
            "new curriculum assignments (propagate_to_courses off)",
        ),
        Case(
            "lesson-statistics",
            "lesson-statistics",
            "created",
            "lesson records + attempts of assigned users (5 rows per course: courses recomputed, roll-up)",
            setup="assign-lessons",
        ),
        Case(
            "course-statistics",
            "course-statistics",
            "created",
            "course records of assigned users, C or I (roll-up of completions)",
            setup="assign",
        ),
        Case("static-lists", "static-lists", "created", "list members (100 lists, 80 new)"),
        Case(
            "classroom-sessions",
            "classroom-sessions",
            "created",
            "new sessions with 2 lesson slots, 2 extra trainers, 2 organisations",
        ),
        Case("external-trainings", "external-trainings", "created", "new passport entries"),
        Case("completions", "completions", "created", "course completions by email"),
        Case(
            "course-records",
            "course-records",
            "created",
            "global importer: records, assignments and credit awards (some pairs on 2 rows)",
        ),
        Case("progress", "progress", "created", "course (activity) completions by UUID, roll-up"),
        Case(
            "unenrolments",
            "unenrolments",
            "deleted",
            "course assignments removed, by course extref",
            setup="assign",
        ),
    ]
}


def select_cases(spec: str | None) -> list[Case]:
    if not spec:
        return list(CASES.values())
    out = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        found = [c for c in CASES.values() if name in (c.name, c.kind)]
        if not found:
            raise SystemExit(f"unknown kind {name!r}; cases: {', '.join(CASES)}")
        out += [c for c in found if c not in out]
    return out


# -- the rows of each case (generated without the database) --------------------------------------


def rows_organisations(n: int, b: Base):
    """Row i's parent is row (i - 1) // 10 (earlier in the file), row 0's a base region."""
    for i in range(n):
        city, zipcode, country = cycle(CITIES, i)
        yield {
            "org_label": f"Branch {i:06d} {city}",
            "org_extid": f"ORG-{i:06d}",
            "parent_extid": f"ORG-{(i - 1) // 10:06d}" if i else b.region(i % 10),
            "org_disabled": "0",
            "org_description": f"Benchmark branch {i} of the {country} network",
            "org_language": cycle(CULTURES, i),
            "org_address1": f"{i % 200 + 1} rue de la Paix",
            "org_address2": "" if i % 3 else "Bâtiment B",
            "org_zipcode": zipcode,
            "org_city": city,
            "org_country": country,
            "org_code": f"BR{i:06d}",
            "org_budget": f"{(i * 37) % 100000}.50",
            "org_supervisor_extid": b.extid(i % b.users),
        }


def _user_row(i: int, b: Base, login: str, extid: str, manager: str) -> dict:
    city, zipcode, country = cycle(CITIES, i)
    last, first = cycle(LAST, i * 7), cycle(FIRST, i * 11)
    return {
        "user_lname": last,
        "user_fname": first,
        "user_tname": cycle(["M.", "Mme", "Dr.", "Mlle"], i),
        "user_login": login,
        "user_password": "",
        "org_extid": b.dept(i % 100),
        "user_email": f"{login}@corp.example",
        "user_extid": extid,
        "user_disable": "0",
        "user_culture": cycle(CULTURES, i),
        "birth_date": (date(1960, 1, 1) + timedelta(days=(i * 131) % 14000)).strftime("%Y/%m/%d"),
        "user_activation_date": day(i).isoformat(),
        "user_expiration_date": "" if i % 5 else "2030-12-31",
        "user_manager_extid": manager,
        "user_alternate_manager_extid": "" if i % 4 else b.extid((i * 13 + 5) % b.users),
        "user_address1": f"{i % 300 + 1} avenue des Champs",
        "user_address2": "",
        "user_zip": zipcode,
        "user_city": city,
        "user_country": country,
        "user_phone": f"+33 1 {i % 100:02d} {i // 100 % 100:02d} {i % 97:02d} {i % 89:02d}",
        "user_cellphone": f"+33 6 {i % 100:02d} {i // 100 % 100:02d} {i % 83:02d} {i % 79:02d}",
        "user_hourly_cost": f"{30 + i % 40}.50",
        **{f"user_udtf{k}": (f"Field {k} value {i % 50}" if k <= 3 else "") for k in range(1, 11)},
        "user_audiences": cycle(["Office staff", "Field staff||Newcomers", "Sales force"], i),
        "user_roles": f"Organisation administrator:{b.region(i % 10)}" if i % 100 == 0 else "",
        "job_position_id": f"J-{i % 40:02d}",
        "list_name": b.list_name(i % BASE_LISTS),
        "training_access": "1",
    }


def rows_users_new(n: int, b: Base):
    """New users with passwords; 1 in 10 has a manager defined earlier in the same file."""
    for i in range(n):
        manager = f"N{i // 10:06d}" if i % 10 == 1 and i >= 10 else b.extid((i * 7) % b.users)
        row = _user_row(i, b, f"new{i:06d}", f"N{i:06d}", manager)
        row["user_password"] = f"Pw-{i:06d}-x7!q"
        yield row


_HASHES: list[str] = []


def rows_users_hashes(n: int, b: Base):
    """New users each with a Moodle-style $6$ hash (100 distinct ones, cycled: the import does
    not check them, it stores them)."""
    if not _HASHES:
        from registrar.directory.hashers import sha512_crypt

        _HASHES.extend(sha512_crypt(f"pw{i}", f"salt{i:04d}") for i in range(100))
    for row in rows_users_new(n, b):
        row["user_password"] = ""
        row["user_password_hash"] = _HASHES[int(row["user_login"][3:]) % len(_HASHES)]
        yield row


def rows_users_nopass(n: int, b: Base):
    """New users without a password: each gets an unusable one and a set-password mail."""
    for row in rows_users_new(n, b):
        row["user_password"] = ""
        yield row


def rows_users_update(n: int, b: Base):
    """Every existing user, another city, phone, custom fields...: each row is an update."""
    if n > b.users:
        raise SystemExit(f"users-update: --rows {n} exceeds --users {b.users}")
    for u in range(n):
        row = _user_row(u + 1, b, b.login(u), b.extid(u), b.extid((u * 7 + 1) % b.users))
        row["user_email"] = b.email(u)
        yield row


CATEGORIES = ["Compliance", "Safety", "Management", "Sales", "IT", "Languages", "Soft skills"]
FOLDERS = [f"Catalogue/Area {k}/Topic {t}" for k in range(5) for t in range(4)]


def rows_catalogue(n: int, b: Base):
    """A hierarchy in file order: a programme, its 20 curricula, each with 10 courses of 4
    lessons (children right after their parent, as catalogue exports list them); cut at n rows."""
    lesson_types = ["L", "L", "A", "E", "W", "T"]
    k = c = 0
    for p in range(n):
        pcode = f"K-PRG-{p:05d}"
        yield {"type": "programme", "code": pcode, "title": f"Programme {p}", "published": "1"}
        for _ in range(20):
            kcode = f"K-CUR-{k:06d}"
            yield {
                "type": "curriculum",
                "code": kcode,
                "title": f"Curriculum {k}",
                "parent_codes": pcode,
                "published": "1",
                "extref": f"K-EXT-CUR-{k:06d}",
            }
            k += 1
            for _ in range(10):
                ccode = f"K-CRS-{c:07d}"
                yield {
                    "type": "course",
                    "code": ccode,
                    "title": f"Course {c}: a benchmark course",
                    "parent_codes": kcode,
                    "uuid": str(uuid.uuid5(NAMESPACE, f"catalogue/{ccode}")),
                    "extref": f"K-EXT-{c:07d}",
                    "published": "1",
                    "disabled": "0",
                    "category": cycle(CATEGORIES, c),
                    "folder": cycle(FOLDERS, c),
                    "provider": "Acme Academy",
                    "modality": "e-learning",
                    "description": f"What course {c} teaches, in a sentence or two.",
                    "credits": "CPD:1.5" if c % 2 else "CPD:1||AMA PRA Category 1:0.5",
                }
                for j in range(4):
                    yield {
                        "type": "lesson",
                        "code": f"{ccode}-L{j + 1}",
                        "title": f"Lesson {j + 1} of course {c}",
                        "parent_codes": ccode,
                        "published": "1",
                        "lesson_type": cycle(lesson_types, c + j),
                    }
                c += 1


def _limit(n: int, g):
    for i, row in enumerate(g):
        if i >= n:
            return
        yield row


def rows_course_assignments(n: int, b: Base):
    options = ["mandatory", "recommended", "free", "M", "R"]
    modes = ["By Course", "By Hour", "Not Billed", ""]
    for i in range(n):
        u, c = b.pair(i)
        start = day(i)
        yield {
            "user_loginid": b.login(u),
            "crsvname": b.course(c),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=365)).isoformat(),
            "target_date": (start + timedelta(days=90)).strftime("%Y/%m/%d"),
            "assignment_option": cycle(options, i),
            "billing_mode": cycle(modes, i),
            "billing_code": f"PO-2025-{i % 1000:03d}" if i % 4 != 3 else "",
            "unit_cost": f"{100 + i % 400}.00" if i % 4 != 3 else "",
        }


def rows_curriculum_assignments(n: int, b: Base):
    if n > b.users * b.curricula:
        raise SystemExit(f"curriculum-assignments: --rows {n} exceeds users x curricula")
    for i in range(n):
        u, k = b.curriculum_pair(i)
        start = day(i)
        yield {
            "user_loginid": b.login(u),
            "curriculum_extid": b.curriculum(k),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=365)).isoformat(),
            "target_date": (start + timedelta(days=180)).isoformat(),
            "assignment_option": cycle(["mandatory", "recommandé", "free"], i),
        }


def lesson_pairs(n: int) -> int:
    return (n + LESSONS - 1) // LESSONS


def rows_lesson_statistics(n: int, b: Base):
    """Each (user, course) pair on 5 consecutive rows, one per lesson: 4 in 5 pairs complete
    every lesson (the course completes), the others stop at an in-progress lesson."""
    for i in range(n):
        u, c = b.pair(i // LESSONS)
        j = i % LESSONS + 1
        t = b.lesson_type(c, j)
        status = "C"
        if t == "A":
            status = "P"
        if (i // LESSONS) % 5 == 4 and j == 3:
            status = "I"
        yield {
            "user_loginid": b.login(u),
            "crsvname": b.course(c),
            "lsnvname": b.lesson(c, j),
            "lnk_type": t,
            "lesson_status": status,
            "lesson_status_date": f"{day(i // LESSONS).isoformat()}T{9 + j}:15:00",
            "lesson_score": f"{60 + i % 41}" if status in ("P", "F") else "",
            "lesson_time": str(300 + (i * 13) % 3000),
            "ilt_status": "P" if t == "T" else "",
        }


def rows_course_statistics(n: int, b: Base):
    for i in range(n):
        u, c = b.pair(i)
        done = i % 5 != 4
        d = day(i)
        yield {
            "user_loginid": b.login(u),
            "crsvname": b.course(c),
            "course_status": "C" if done else "I",
            "course_status_date": f"{d.strftime('%Y/%m/%d')}",
            "course_enrollment_date": (d - timedelta(days=30)).isoformat(),
        }


def rows_static_lists(n: int, b: Base):
    if n > b.users * 100:
        raise SystemExit(f"static-lists: --rows {n} exceeds users x 100 lists")
    for i in range(n):
        u, q = i % b.users, i // b.users
        yield {"USER": b.extid(u), "LIST_NAME": b.list_name((q + 3 * u) % 100)}


def rows_classroom_sessions(n: int, b: Base):
    classrooms = [c for c in range(b.courses) if b.classroom(c)]
    for i in range(n):
        c = cycle(classrooms, i)
        start = date(2030, 1, 1) + timedelta(days=i // len(classrooms) % 3000)
        s = start.isoformat()
        slots = f"{b.lesson(c, 1)}|{s}T09:00|{s}T12:30${b.lesson(c, 2)}|{s}T13:30|{s}T17:00"
        yield {
            "crsvname": b.course(c),
            "lesson_slots": slots,
            "start": f"{s}T09:00",
            "session_extid": f"SESS-{i:07d}",
            "status": cycle(["O", "N", "O", "C"], i),
            "max_participants": str(8 + i % 20),
            "immediate_confirmation": cycle(["Y", "N"], i),
            "waiting_list": cycle(["Y", "N", "N"], i),
            "trainer": b.login((i * 3) % b.users),
            "extra_trainers": f"{b.login((i * 3 + 1) % b.users)},{b.login((i * 3 + 2) % b.users)}",
            "room_extid": f"ROOM-{i % 300:03d}",
            "manager": b.login((i * 5 + 7) % b.users),
            "organisations": f"{b.dept(i % 100)}|{b.dept((i + 37) % 100)}",
        }


def rows_external_trainings(n: int, b: Base):
    kinds = ["Certification", "Training", "Conference"]
    for i in range(n):
        u, q = i % b.users, i // b.users
        start = day(i + q)
        yield {
            "course_name": f"External training {i % 700}: first aid and safety",
            "course_code": f"EXT-TR-{i % 700:03d}-{q}",
            "passport_type": cycle(kinds, i),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=i % 5)).strftime("%Y/%m/%d"),
            "provider": cycle(["Red Cross", "City college", "Acme Academy"], i),
            "duration": f"{7 * (1 + i % 5)} h",
            "modality": cycle(["Classroom", "E-learning", "Blended"], i),
            "learner": b.login(u),
            "learner_lname": b.last(u).upper(),  # compared folded: case and accents ignored
            "learner_fname": b.first(u),
            "action": "add",
        }


def rows_completions(n: int, b: Base):
    for i in range(n):
        u, c = b.pair(i)
        yield {
            "course_id": b.course(c),
            "user_email": b.email(u),
            "completion_date": day(i).isoformat(),
            "course_title": b.course_title(c),
        }


def rows_course_records(n: int, b: Base):
    """Per (user, course) pair: 7 in 10 complete with CPD credits (and 1 in 5 of those a second
    row for a second credit type), 3 in 10 enrolled, not complete; 1 row in 10 names the user
    by email."""
    written = p = 0
    while written < n:
        u, c = b.pair(p)
        user = b.email(u) if p % 10 == 3 else b.login(u)
        d = day(p)
        base = {"user": user, "course": b.course(c), "enrolled_date": (d - timedelta(days=20))}
        base["enrolled_date"] = base["enrolled_date"].isoformat()
        if p % 10 < 7:
            rows = [{"credit_type": "CPD", "credits": "1.5"}]
            if p % 5 == 0:
                rows.append({"credit_type": "AMA PRA Category 1", "credits": "2"})
            for extra in rows:
                yield {**base, "complete": "1", "completion_date": d.isoformat(), **extra}
                written += 1
                if written >= n:
                    return
        else:
            yield {**base, "complete": "0"}
            written += 1
        p += 1


def rows_progress(n: int, b: Base):
    for i in range(n):
        u, c = b.pair(i)
        yield {
            "user_email": b.email(u),
            "content_uuid": str(b.course_uuid(c)),
            "completion_date": day(i).isoformat(),
        }


def rows_unenrolments(n: int, b: Base):
    for i in range(n):
        u, c = b.pair(i)
        yield {"username": b.login(u), "activity_extref": b.course_extref(c), "send_email": "No"}


ROWS = {
    "organisations": rows_organisations,
    "users-new": rows_users_new,
    "users-hashes": rows_users_hashes,
    "users-nopass": rows_users_nopass,
    "users-course": rows_users_nopass,
    "users-update": rows_users_update,
    "catalogue": rows_catalogue,
    "course-assignments": rows_course_assignments,
    "curriculum-assignments": rows_curriculum_assignments,
    "lesson-statistics": rows_lesson_statistics,
    "course-statistics": rows_course_statistics,
    "static-lists": rows_static_lists,
    "classroom-sessions": rows_classroom_sessions,
    "external-trainings": rows_external_trainings,
    "completions": rows_completions,
    "course-records": rows_course_records,
    "progress": rows_progress,
    "unenrolments": rows_unenrolments,
}


def write_csv(case: Case, n: int, b: Base, path: Path) -> None:
    from registrar.bulk import imports

    header = [c.name for c in imports.KINDS[case.kind].columns]  # every column, canonical names
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";", lineterminator="\n")
        w.writerow(header)
        batch = []
        for row in _limit(n, ROWS[case.name](n, b)):
            unknown = row.keys() - set(header)
            if unknown:
                raise SystemExit(f"{case.name}: columns {unknown} are not the kind's")
            batch.append([row.get(h, "") for h in header])
            if len(batch) == 20_000:
                w.writerows(batch)
                batch = []
        w.writerows(batch)


# -- the base data, by journalled bulk inserts (not timed) ----------------------------------------


def setup_data(case: Case, n: int, b: Base) -> dict:
    """Migrate, then insert the base data and what the case needs; returns table sizes."""
    from django.core.management import call_command
    from django.db import transaction

    from registrar.catalogue.models import (
        Course,
        CreditType,
        Curriculum,
        CurriculumCourse,
        Lesson,
        Programme,
        ProgrammeCurriculum,
    )
    from registrar.directory.models import Audience, ListFolder, Organisation, User, UserList
    from registrar.journal import service, writes
    from registrar.journal.models import Operation
    from registrar.learning.models import CourseAssignment, Source

    call_command("migrate", interactive=False, verbosity=0)
    call_command("migrate", database="jobs", interactive=False, verbosity=0)  # mail delivery tasks
    sizes = {}
    with transaction.atomic():
        op = service.start_operation("action", "bench-setup", None)

        def insert(model, rows):
            rows = list(rows)
            sizes[model._meta.label] = sizes.get(model._meta.label, 0) + len(rows)
            return writes.insert(model, rows, op)

        (root,) = insert(Organisation, [{"extid": b.ROOT, "label": "Benchmark group"}])
        regions = insert(
            Organisation,
            [{"extid": b.region(r), "label": f"Region {r}", "parent_id": root} for r in range(10)],
        )
        depts = insert(
            Organisation,
            [
                {"extid": b.dept(d), "label": f"Department {d}", "parent_id": regions[d // 10]}
                for d in range(100)
            ],
        )
        users = insert(
            User,
            (
                {
                    "login": b.login(u),
                    "email": b.email(u),
                    "extid": b.extid(u),
                    "last_name": b.last(u),
                    "first_name": b.first(u),
                    "password": "!",
                    "organisation_id": depts[u % 100],
                    "culture": cycle(CULTURES, u),
                    "city": cycle(CITIES, u)[0],
                }
                for u in range(b.users)
            ),
        )
        insert(Audience, ({"name": a} for a in AUDIENCES))
        insert(CreditType, ({"name": t} for t in CREDIT_TYPES))
        folder = ListFolder.objects.get(name="Default", parent=None).pk
        insert(UserList, ({"name": b.list_name(k), "folder_id": folder} for k in range(BASE_LISTS)))
        courses = insert(
            Course,
            (
                {
                    "code": b.course(c),
                    "title": b.course_title(c),
                    "uuid": b.course_uuid(c),
                    "extref": b.course_extref(c),
                    "published": True,
                    "course_type": "classroom" if b.classroom(c) else "aicc_scorm",
                }
                for c in range(b.courses)
            ),
        )
        insert(
            Lesson,
            (
                {
                    "code": b.lesson(c, j),
                    "title": f"Lesson {j} of course {c}",
                    "course_id": courses[c],
                    "lesson_type": b.lesson_type(c, j),
                    "position": j,
                    "published": True,
                }
                for c in range(b.courses)
                for j in range(1, LESSONS + 1)
            ),
        )
        curricula = insert(
            Curriculum,
            (
                {
                    "code": b.curriculum(k),
                    "title": f"Curriculum {k}",
                    "uuid": uuid.uuid5(NAMESPACE, f"curriculum/{k}"),
                    "extref": f"EXT-{b.curriculum(k)}",
                    "published": True,
                }
                for k in range(b.curricula)
            ),
        )
        insert(
            CurriculumCourse,
            (
                {"curriculum_id": curricula[min(c // 10, b.curricula - 1)], "course_id": courses[c]}
                for c in range(b.courses)
            ),
        )
        programmes = insert(
            Programme,
            (
                {
                    "code": b.programme(p),
                    "title": f"Programme {p}",
                    "uuid": uuid.uuid5(NAMESPACE, f"programme/{p}"),
                    "published": True,
                }
                for p in range(b.programmes)
            ),
        )
        insert(
            ProgrammeCurriculum,
            (
                {
                    "programme_id": programmes[min(k // 10, b.programmes - 1)],
                    "curriculum_id": curricula[k],
                }
                for k in range(b.curricula)
            ),
        )
        if case.setup == "list-access":  # each base list assigns its new members a course
            from registrar.learning.models import AccessProperty

            lists = dict(UserList.objects.values_list("name", "id"))
            insert(
                AccessProperty,
                (
                    {
                        "course_id": courses[k],
                        "user_list_id": lists[b.list_name(k)],
                        "restrict": False,
                        "assign_members": True,
                        "option": "mandatory",
                    }
                    for k in range(BASE_LISTS)
                ),
            )
        if case.setup in ("assign", "assign-lessons"):
            pairs = n if case.setup == "assign" else lesson_pairs(n)
            insert(
                CourseAssignment,
                (
                    {
                        "user_id": users[u],
                        "course_id": courses[c],
                        "start_date": day(i) - timedelta(days=60),
                        "option": "mandatory",
                        "source": Source.ACTION,
                    }
                    for i in range(pairs)
                    for u, c in [b.pair(i)]
                ),
            )
        service.finish_operation(op, Operation.Status.DONE, created=sum(sizes.values()))
    return sizes


# -- the database --------------------------------------------------------------------------------


def check_pg_name(url: str) -> tuple[str, str]:
    u = urlparse(url)
    name = u.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1") or "bench" not in name:
        raise SystemExit(
            f"refusing to drop database {name!r}: give the benchmark its own (a name with 'bench')"
        )
    return name, urlunparse(u._replace(path="/postgres"))


def fresh_postgres(url: str) -> None:
    """Drop and create the benchmark's own database (never any other)."""
    import psycopg

    name, admin = check_pg_name(url)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    import psycopg

    name, admin = check_pg_name(url)
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SRC = Path(__file__).resolve().parent.parent / "src"


def environment(args, work: Path) -> dict:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="registrar.settings")
    # This checkout's source, whatever the installed (editable) package points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    env["REGISTRAR_DATA"] = str(work / "data")
    if args.db == "postgres":
        env["DATABASE_URL"] = args.pg_url
    else:
        env.pop("DATABASE_URL", None)
        env["REGISTRAR_DB"] = str(work / "bench.sqlite3")
        env["REGISTRAR_JOBS_DB"] = str(work / "bench-jobs.sqlite3")
    return env


# -- the floor: the import's writes, by the database alone ---------------------------------------

SQLITE_FILES = ("bench", "bench-jobs")  # the main database and the jobs one (SQLite only)
PRAGMAS = ("journal_mode", "synchronous", "cache_size", "temp_store", "foreign_keys")
STAGE = "bench_stage"  # PostgreSQL: the schema of the staged rows, in the pristine copy


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def pg_url_for(url: str, name: str) -> str:
    """The same server, another database."""
    return urlunparse(urlparse(url)._replace(path="/" + name))


def pristine_name(url: str) -> str:
    """PostgreSQL: the database kept as it was before the import (then the floor's)."""
    return check_pg_name(url)[0] + "_pristine"


def keep_pristine(args, work: Path) -> None:
    """Untimed: a copy of the prepared database(s), as they are before the import."""
    if args.db == "postgres":
        import psycopg

        name, admin = check_pg_name(args.pg_url)
        copy = pristine_name(args.pg_url)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
            # FILE_COPY checkpoints before and after: no page of the copy is left to write
            # while the import is timed.
            c.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}" STRATEGY FILE_COPY')
        return
    for db in SQLITE_FILES:
        c = sqlite3.connect(work / f"{db}.sqlite3")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
        c.close()
        shutil.copyfile(work / f"{db}.sqlite3", work / f"pristine-{db}.sqlite3")


def fk_order(tables, refs: dict) -> list[str]:
    """The tables, each after the tables it references (a cycle is cut anywhere)."""
    tables, order, seen = set(tables), [], set()

    def visit(t):
        if t in seen:
            return
        seen.add(t)
        for r in sorted(set(refs.get(t, ())) & tables):
            visit(r)
        order.append(t)

    for t in sorted(tables):
        visit(t)
    return order


def floor_statements(writes: list[dict], target: str, stage: str, pg: bool) -> list[tuple]:
    """(table, SQL, rows): the deletes children first, then inserts and updates parents first."""
    out = []
    for w in reversed(writes):
        if w["del"]:
            t, pk, d = f"{target}.{q(w['table'])}", q(w["pk"]), f"{stage}.{q('del_' + w['table'])}"
            sql = f"DELETE FROM {t} WHERE {pk} IN (SELECT {pk} FROM {d})"
            if pg:
                sql = f"DELETE FROM {t} AS o USING {d} AS d WHERE o.{pk} = d.{pk}"
            out.append((w["table"], sql, w["del"]))
    for w in writes:
        t, pk = f"{target}.{q(w['table'])}", q(w["pk"])
        if w["ins"]:
            cols = ", ".join(q(c) for c in w["columns"])
            ins = f"{stage}.{q('ins_' + w['table'])}"
            out.append((w["table"], f"INSERT INTO {t} ({cols}) SELECT {cols} FROM {ins}", w["ins"]))
        if w["upd"]:
            sets = ", ".join(f"{q(c)} = u.{q(c)}" for c in w["changed"])
            upd = f"{stage}.{q('upd_' + w['table'])}"
            sql = f"UPDATE {t} AS o SET {sets} FROM {upd} AS u WHERE o.{pk} = u.{pk}"
            out.append((w["table"], sql, w["upd"]))
    return out


def run_floor(execute, commit, statements: list[tuple]) -> tuple[float, dict]:
    """Timed: the statements and the COMMIT; seconds and seconds per table."""
    steps = collections.Counter()
    t = time.perf_counter()
    for table, sql, rows in statements:
        s = time.perf_counter()
        n = execute(sql)
        steps[table] += time.perf_counter() - s
        if n != rows:
            raise SystemExit(f"floor: {n} rows written by {sql[:80]}..., {rows} expected")
    s = time.perf_counter()
    commit()
    steps["COMMIT"] = time.perf_counter() - s
    return time.perf_counter() - t, dict(steps)


def sqlite_tables(c, schema: str) -> dict:
    """{table: (its one-column primary key or None, its columns)}, SQLite's own tables aside."""
    out = {}
    names = (
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
    )
    for (t,) in c.execute(names).fetchall():
        info = c.execute(f"PRAGMA {schema}.table_info({q(t)})").fetchall()
        pks = [r[1] for r in info if r[5]]
        out[t] = (pks[0] if len(pks) == 1 else None, [r[1] for r in info])
    return out


def sqlite_stage(pristine: Path, post: Path, stage: Path) -> list[dict]:
    """Untimed: per table, by primary key, what the import wrote, into a staging file."""
    c = sqlite3.connect(stage, isolation_level=None)
    c.execute("PRAGMA journal_mode = OFF")
    c.execute("PRAGMA synchronous = OFF")
    c.execute("ATTACH DATABASE ? AS old", (str(pristine),))
    c.execute("ATTACH DATABASE ? AS new", (str(post),))
    old, new = sqlite_tables(c, "old"), sqlite_tables(c, "new")
    refs = {t: {r[2] for r in c.execute(f"PRAGMA new.foreign_key_list({q(t)})")} for t in new}
    writes = []
    for t in fk_order(new, refs):
        (pk, cols), n, o = new[t], f"new.{q(t)}", f"old.{q(t)}"
        if old.get(t) != new[t] or pk is None:
            log(f"  floor: table {t} left out (no one-column key, or its shape changed)")
            continue
        sel = ", ".join(f"n.{q(x)}" for x in cols)
        c.execute(
            f"CREATE TABLE {q('ins_' + t)} AS SELECT {sel} FROM {n} AS n"
            f" WHERE n.{q(pk)} NOT IN (SELECT {q(pk)} FROM {o})"
        )
        c.execute(
            f"CREATE TABLE {q('del_' + t)} AS SELECT o.{q(pk)} FROM {o} AS o"
            f" WHERE o.{q(pk)} NOT IN (SELECT {q(pk)} FROM {n})"
        )
        join = f"{n} AS n JOIN {o} AS o ON o.{q(pk)} = n.{q(pk)}"
        differs = f"({', '.join(f'o.{q(x)}' for x in cols)}) IS NOT ({sel})"
        flags = ", ".join(f"max(o.{q(x)} IS NOT n.{q(x)})" for x in cols)
        upd, *diff = c.execute(f"SELECT count(*), {flags} FROM {join} WHERE {differs}").fetchone()
        changed = [x for x, d in zip(cols, diff, strict=True) if d]
        if upd:
            keep = ", ".join(f"n.{q(x)}" for x in [pk, *changed])
            c.execute(f"CREATE TABLE {q('upd_' + t)} AS SELECT {keep} FROM {join} WHERE {differs}")
        ins, dele = (
            c.execute(f"SELECT count(*) FROM {q(k + t)}").fetchone()[0] for k in ("ins_", "del_")
        )
        if ins or upd or dele:
            w = {"table": t, "pk": pk, "columns": cols, "changed": changed}
            writes.append({**w, "ins": ins, "upd": upd, "del": dele})
    c.close()
    return writes


def sqlite_floor(db: Path, stage: Path, writes: list[dict], pragmas: dict) -> tuple[float, dict]:
    """Timed: the writes in one transaction on the pristine copy, with the import's settings."""
    c = sqlite3.connect(db, isolation_level=None)
    for k, v in pragmas.items():
        c.execute(f"PRAGMA {k} = {v}")
    c.execute("ATTACH DATABASE ? AS stage", (str(stage),))
    statements = floor_statements(writes, "main", "stage", pg=False)

    def execute(sql):
        if not c.in_transaction:
            c.execute("BEGIN IMMEDIATE")  # the application's transaction_mode
        return c.execute(sql).rowcount

    try:
        return run_floor(execute, lambda: c.execute("COMMIT"), statements)
    finally:
        c.close()


def csv_header(path: Path) -> list[str]:
    """The CSV file's column names."""
    with open(path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f, delimiter=";"))


def sqlite_raw(db: Path, path: Path, pragmas: dict) -> float:
    """The raw limit: the file into a bare table of text columns, one executemany, one commit."""
    c = sqlite3.connect(db, isolation_level=None)
    for k, v in pragmas.items():
        c.execute(f"PRAGMA {k} = {v}")
    cols = csv_header(path)
    c.execute(f"CREATE TABLE bench_raw ({', '.join(q(x) + ' TEXT' for x in cols)})")
    t = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter=";")
        next(rows)
        c.execute("BEGIN IMMEDIATE")
        c.executemany(f"INSERT INTO bench_raw VALUES ({', '.join('?' * len(cols))})", rows)
        c.execute("COMMIT")
    seconds = time.perf_counter() - t
    c.execute("DROP TABLE bench_raw")
    c.close()
    return seconds


def pg_tables(c) -> dict:
    """{table: (its one-column primary key or None, its columns)} of the public schema."""
    rows = c.execute(
        "SELECT c.relname::text, (SELECT a.attname::text FROM pg_index i JOIN pg_attribute a"
        "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        "  WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1),"
        " array(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0"
        "  AND NOT attisdropped AND attgenerated = '' ORDER BY attnum)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r'"
    ).fetchall()
    return {t: (pk, cols) for t, pk, cols in rows}


def pg_fingerprint(c, t: str) -> tuple:
    """A table's row count and sum of row hashes: equal when its rows are."""
    return c.execute(
        "SELECT count(*), coalesce(sum(hashtextextended(bench_row::text, 0)), 0)::text"
        f" FROM public.{q(t)} AS bench_row"
    ).fetchone()


def pg_stage(post_url: str, floor_url: str) -> list[dict]:
    """Untimed: the changed tables' rows COPYed into the pristine copy, split by primary key."""
    import psycopg

    with (
        psycopg.connect(post_url, autocommit=True) as post,
        psycopg.connect(floor_url, autocommit=True) as flo,
    ):
        tables = pg_tables(post)
        refs = collections.defaultdict(set)
        for t, r in post.execute(
            "SELECT c.relname::text, r.relname::text FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid"
            " WHERE k.contype = 'f'"
        ):
            refs[t].add(r)
        before = pg_tables(flo)
        changed = [t for t in tables if pg_fingerprint(post, t) != pg_fingerprint(flo, t)]
        flo.execute(f"DROP SCHEMA IF EXISTS {STAGE} CASCADE")
        flo.execute(f"CREATE SCHEMA {STAGE}")
        writes = []
        for t in fk_order(changed, refs):
            pk, cols = tables[t]
            if before.get(t) != tables[t] or pk is None:
                log(f"  floor: table {t} left out (no one-column key, or its shape changed)")
                continue
            cl = ", ".join(q(x) for x in cols)
            o, n = f"public.{q(t)} AS bench_old", f"{STAGE}.{q('new_' + t)} AS bench_new"
            flo.execute(f"CREATE UNLOGGED TABLE {STAGE}.{q('new_' + t)} (LIKE public.{q(t)})")
            with (
                post.cursor().copy(f"COPY public.{q(t)} ({cl}) TO STDOUT (FORMAT binary)") as src,
                flo.cursor().copy(
                    f"COPY {STAGE}.{q('new_' + t)} ({cl}) FROM STDIN (FORMAT binary)"
                ) as dst,
            ):
                for data in src:
                    dst.write(data)
            flo.execute(f"ANALYZE {STAGE}.{q('new_' + t)}")
            key = f"bench_old.{q(pk)} = bench_new.{q(pk)}"
            sel = ", ".join(f"bench_new.{q(x)}" for x in cols)
            flo.execute(
                f"CREATE UNLOGGED TABLE {STAGE}.{q('ins_' + t)} AS SELECT {sel} FROM {n}"
                f" WHERE NOT EXISTS (SELECT FROM {o} WHERE {key})"
            )
            flo.execute(
                f"CREATE UNLOGGED TABLE {STAGE}.{q('del_' + t)} AS SELECT bench_old.{q(pk)}"
                f" FROM {o} WHERE NOT EXISTS (SELECT FROM {n} WHERE {key})"
            )
            old_row = ", ".join(f"bench_old.{q(x)}" for x in cols)
            differs = f"ROW({old_row})::text IS DISTINCT FROM ROW({sel})::text"
            flags = ", ".join(
                f"bool_or(bench_old.{q(x)}::text IS DISTINCT FROM bench_new.{q(x)}::text)"
                for x in cols
            )
            join = f"{n} JOIN {o} ON {key}"
            upd, *diff = flo.execute(
                f"SELECT count(*), {flags} FROM {join} WHERE {differs}"
            ).fetchone()
            changed_cols = [x for x, d in zip(cols, diff, strict=True) if d]
            if upd:
                keep = ", ".join(f"bench_new.{q(x)}" for x in [pk, *changed_cols])
                flo.execute(
                    f"CREATE UNLOGGED TABLE {STAGE}.{q('upd_' + t)} AS"
                    f" SELECT {keep} FROM {join} WHERE {differs}"
                )
                flo.execute(f"ANALYZE {STAGE}.{q('upd_' + t)}")
            flo.execute(f"DROP TABLE {STAGE}.{q('new_' + t)}")
            ins, dele = (
                flo.execute(f"SELECT count(*) FROM {STAGE}.{q(k + t)}").fetchone()[0]
                for k in ("ins_", "del_")
            )
            for k in ("ins_", "del_"):
                flo.execute(f"ANALYZE {STAGE}.{q(k + t)}")
            if ins or upd or dele:
                w = {"table": t, "pk": pk, "columns": cols, "changed": changed_cols}
                writes.append({**w, "ins": ins, "upd": upd, "del": dele})
    return writes


def pg_floor(url: str, writes: list[dict]) -> tuple[float, dict]:
    """Timed: the writes in one transaction on the pristine copy, COMMIT (deferred keys) in."""
    import psycopg

    statements = floor_statements(writes, "public", STAGE, pg=True)
    with psycopg.connect(url) as c:
        c.execute("SELECT 1")
        c.commit()
        return run_floor(lambda sql: c.execute(sql).rowcount, c.commit, statements)


def pg_raw(url: str, path: Path) -> float:
    """The raw limit: the file COPYed into an UNLOGGED table of text columns, no index."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        cols = ", ".join(q(x) + " text" for x in csv_header(path))
        c.execute(f"CREATE UNLOGGED TABLE {STAGE}.raw ({cols})")
        t = time.perf_counter()
        with (
            c.cursor().copy(
                f"COPY {STAGE}.raw FROM STDIN (FORMAT csv, DELIMITER ';', HEADER true)"
            ) as cp,
            open(path, "rb") as f,
        ):
            while chunk := f.read(1 << 20):
                cp.write(chunk)
        seconds = time.perf_counter() - t
        c.execute(f"DROP TABLE {STAGE}.raw")
    return seconds


def floor(args, work: Path, prep: dict, csv_path: Path) -> dict:
    """After the import: what it wrote, staged untimed, then the floor and the raw load, timed."""
    if args.db == "postgres":
        url = pg_url_for(args.pg_url, pristine_name(args.pg_url))
        writes = pg_stage(args.pg_url, url)
        seconds, steps = pg_floor(url, writes)
        raw = pg_raw(url, csv_path)
    else:
        writes, seconds, steps = [], 0.0, {}
        for db in SQLITE_FILES:
            pristine, stage = work / f"pristine-{db}.sqlite3", work / f"stage-{db}.sqlite3"
            w = sqlite_stage(pristine, work / f"{db}.sqlite3", stage)
            if not w:
                continue
            s, st = sqlite_floor(pristine, stage, w, prep["pragmas"][db])
            prefix = "" if db == "bench" else "jobs."
            writes += [{**x, "table": prefix + x["table"]} for x in w]
            seconds += s
            steps.update({prefix + k: v for k, v in st.items()})
        raw = sqlite_raw(work / "pristine-bench.sqlite3", csv_path, prep["pragmas"]["bench"])
    return {
        "seconds": seconds,
        "steps": {k: round(v, 4) for k, v in steps.items()},
        "raw_seconds": raw,
        "writes": {w["table"]: [w["ins"], w["upd"], w["del"]] for w in writes},
    }


def writes_summary(writes: dict) -> str:
    """table: +inserted ~updated -deleted, for every table the import changed."""
    return "; ".join(f"{t}: +{i:,} ~{u:,} -{d:,}" for t, (i, u, d) in writes.items())


# -- the child processes -------------------------------------------------------------------------


def prepare(args) -> None:
    """Child: a migrated database with the base data and the case's, and the CSV."""
    import django

    django.setup()
    case, n, work = CASES[args.case], args.rows, Path(args.prepare)
    b = Base(args.users, args.courses)
    t = time.perf_counter()
    sizes = setup_data(case, n, b)
    setup = time.perf_counter() - t
    path = work / f"{case.name}-{n}.csv"
    write_csv(case, n, b, path)
    out = {"setup_seconds": setup, "csv": str(path), "sizes": sizes}
    print(json.dumps({**out, "pragmas": import_pragmas()}))


def import_pragmas() -> dict:
    """SQLite: the settings of the import's connections, the main one in its durable block."""
    from django.db import connection, connections

    from registrar.journal import service

    if connection.vendor != "sqlite":
        return {}

    def read(alias):
        out = {}
        with connections[alias].cursor() as cur:
            for k in PRAGMAS:
                cur.execute(f"PRAGMA {k}")
                out[k] = cur.fetchone()[0]
        return out

    with service.durable():
        main = read("default")
    return {"bench": main, "bench-jobs": read("jobs")}


class Calls:
    """Database calls during the import: every statement, executemany (once) and COPY."""

    def __init__(self):
        self.n = 0
        self.top = collections.Counter() if os.environ.get("BENCH_TOP_QUERIES") else None

    def count(self, sql) -> None:
        self.n += 1
        if self.top is not None:
            self.top[str(sql)[:160]] += 1

    def install(self):
        from django.db import connection

        if connection.vendor == "postgresql":
            # psycopg level: the engine also talks to psycopg directly (COPY, server-side
            # binding lookups), past Django's execute wrappers.
            import psycopg

            for name in ("execute", "executemany", "copy"):
                orig = getattr(psycopg.Cursor, name)

                def wrapped(cur, *a, _orig=orig, **k):
                    self.count(a[0] if a else "")
                    return _orig(cur, *a, **k)

                setattr(psycopg.Cursor, name, wrapped)
            return None

        def wrapper(execute, sql, params, many, context):
            self.count(sql)
            return execute(sql, params, many, context)

        return connection.execute_wrapper(wrapper)


def child(args) -> None:
    """Child: one import through the engine, timed around run_import; prints JSON."""
    import contextlib

    import django

    django.setup()
    import registrar
    from registrar.bulk import engine

    if Path(registrar.__file__).resolve().parent != SRC / "registrar":
        raise SystemExit(f"measuring {registrar.__file__}, not {SRC}")

    case = CASES[args.case]
    calls = Calls()
    ctx = calls.install() or contextlib.nullcontext()
    with ctx:
        t = time.perf_counter()
        report = engine.run_import(
            engine.Request(kind=case.kind, path=args.child, options=dict(case.options))
        )
        seconds = time.perf_counter() - t
    if calls.top is not None:
        for sql, k in calls.top.most_common(8):
            log(f"{k:>9,}  {sql}")
    hwm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    print(
        json.dumps(
            {
                "seconds": seconds,
                "counts": report.counts,
                "calls": calls.n,
                "vmhwm_kb": hwm,
                "log": report.log_path,
            }
        )
    )


def hash_floor(path: str) -> None:
    """Child: the file's clear passwords hashed by the bulk hasher alone (every core, the
    import's cost), timed; prints JSON. What an import with passwords cannot go under."""
    import django

    django.setup()
    from registrar.directory import passwords

    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter=";")
        clear = [r["user_password"] for r in rows if r.get("user_password")]
    passwords.hash_many(clear[:64])  # the threads started, as an import's first batch has them
    t = time.perf_counter()
    passwords.hash_many(clear)
    print(json.dumps({"seconds": time.perf_counter() - t, "hashes": len(clear)}))


def run(cmd: list[str], env: dict) -> tuple[dict, float, int]:
    """A child process: its last stdout line as JSON, its wall time and its own ru_maxrss (KB).
    os.wait4 gives this child's own rusage, not the maximum over every child so far."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"child process failed: {' '.join(cmd)}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, usage.ru_maxrss


def measure(args, case: Case, n: int) -> dict:
    """One case at n rows: a fresh database and directory, the setup, then the import."""
    work = Path(tempfile.mkdtemp(prefix=f"registrar-bench-{case.name}-"))
    env = environment(args, work)
    me = [sys.executable, os.path.abspath(__file__)]
    sizes = ["--users", str(args.users), "--courses", str(args.courses), "--rows", str(n)]
    try:
        if args.db == "postgres":
            fresh_postgres(args.pg_url)
        prep, prep_wall, _ = run([*me, "--case", case.name, "--prepare", str(work), *sizes], env)
        csv_path = Path(prep["csv"])
        keep_pristine(args, work)
        log(
            f"{case.name}: setup {prep['setup_seconds']:.1f} s (process {prep_wall:.1f} s), "
            f"CSV of {n:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB"
        )
        child = [*me, "--case", case.name, "--child", str(csv_path)]
        if os.environ.get("BENCH_PROFILE"):  # a directory: one cProfile file per case
            out = Path(os.environ["BENCH_PROFILE"]) / f"{case.name}.prof"
            child[1:1] = ["-m", "cProfile", "-o", str(out)]
        res, wall, maxrss = run(child, env)
        load = os.getloadavg()[0]
        flo = floor(args, work, prep, csv_path)
        hashing = None
        if "user_password" in csv_header(csv_path) and case.name == "users-new":
            hashing = run([*me, "--hash-floor", str(csv_path)], env)[0]
        c = res["counts"]
        good = c.get(case.expect, 0) == n and not c["rejected"]
        if not good:
            log(f"  WARNING {case.name}: not every row {case.expect}: {c}; see {res['log']}")
            if args.keep:
                log(f"  kept: {work}")
        out = {
            "case": case.name,
            "kind": case.kind,
            "what": case.what,
            "expect": case.expect,
            "rows": n,
            "seconds": round(res["seconds"], 3),
            "wall_seconds": round(wall, 2),
            "rows_per_s": round(n / res["seconds"]),
            "peak_rss_mb": round(maxrss / 1024, 1),
            "peak_vmhwm_mb": round(res["vmhwm_kb"] / 1024, 1),
            "counts": c,
            "calls": res["calls"],
            "calls_per_1000_rows": round(1000 * res["calls"] / n, 1),
            "setup_seconds": round(prep["setup_seconds"], 1),
            "load_1min": round(load, 2),
            "floor_seconds": round(flo["seconds"], 4),
            "import_floor_ratio": round(res["seconds"] / max(flo["seconds"], 1e-6), 2),
            "raw_seconds": round(flo["raw_seconds"], 4),
            "floor_steps": flo["steps"],
            "writes": flo["writes"],
            "ok": good,
        }
        if hashing is not None:
            out["hash_floor_seconds"] = round(hashing["seconds"], 3)
            out["hashes"] = hashing["hashes"]
            out["import_hash_floor_ratio"] = round(res["seconds"] / hashing["seconds"], 2)
        log(
            f"  {out['seconds']:.2f} s, {out['rows_per_s']:,} rows/s, {out['peak_rss_mb']:.0f} MB, "
            f"{res['calls']:,} database calls, {c}"
        )
        log(
            f"  floor {flo['seconds']:.3f} s (import/floor {out['import_floor_ratio']:.1f}x), "
            f"raw load {flo['raw_seconds']:.3f} s; wrote {writes_summary(flo['writes'])}"
        )
        if hashing is not None:
            log(
                f"  hashing floor {hashing['seconds']:.2f} s for {hashing['hashes']:,} passwords "
                f"(import/hashing floor {out['import_hash_floor_ratio']:.2f}x)"
            )
        return out
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if args.db == "postgres":
                drop_postgres(pg_url_for(args.pg_url, pristine_name(args.pg_url)))


def git(*a) -> str:
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run(["git", *a], cwd=root, capture_output=True, text=True)
    return r.stdout.rstrip() if r.returncode == 0 else ""


def source_version() -> str:
    """The commit measured, + dirty when the tree has uncommitted changes to tracked files."""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def source_changes() -> list[str]:
    """The files of src/ that differ from the commit (other work in the same tree)."""
    out = git("status", "--porcelain", "--", "src")
    return [line[3:] for line in out.splitlines()]


def table(results: list[dict], scaling: bool) -> str:
    head = ["case", "rows", "seconds", "rows/s", "peak MB", "created", "updated", "deleted"]
    head += ["unchanged", "skipped", "rejected", "warnings", "db calls / 1,000 rows"]
    head += ["floor s", "import/floor"]
    if scaling:
        head += ["growth ×10 rows"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        c = r["counts"]
        cells = [
            r["case"] + ("" if r["ok"] else " (NOT ALL " + r["expect"].upper() + ")"),
            f"{r['rows']:,}",
            f"{r['seconds']:.1f}",
            f"{r['rows_per_s']:,}",
            f"{r['peak_rss_mb']:.0f}",
            *(f"{c[k]:,}" for k in ("created", "updated", "deleted", "unchanged", "skipped")),
            f"{c['rejected']:,}",
            f"{c['warnings']:,}",
            f"{r['calls_per_1000_rows']:.1f}",
            f"{r['floor_seconds']:.2f}",
            f"{r['import_floor_ratio']:.1f}×",
        ]
        if scaling:
            cells.append(f"{r['growth']:.2f}" if "growth" in r else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows per case (default 100,000)")
    ap.add_argument(
        "--kinds", help=f"comma-separated kinds or cases (default all): {', '.join(CASES)}"
    )
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--pg-url", default=PG_URL, help=f"its own database (default {PG_URL})")
    ap.add_argument("--users", type=int, default=100_000, help="users in the base data")
    ap.add_argument("--courses", type=int, default=1_000, help="courses in the base data")
    ap.add_argument(
        "--password-rows",
        type=int,
        default=10_000,
        help="rows of users-new (Argon2 hashing of every password; default 10,000, SPEC §11's "
        "size; 0: --rows)",
    )
    ap.add_argument(
        "--rows-for",
        action="append",
        default=[],
        metavar="CASE=N",
        help="rows for one case (repeatable), e.g. course-records=10000 for a very slow kind",
    )
    ap.add_argument(
        "--scaling", action="store_true", help="also measure every case at rows/10 (growth)"
    )
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    ap.add_argument("--keep", action="store_true", help="keep work directories (and database)")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--prepare", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--child", metavar="CSV", help=argparse.SUPPRESS)
    ap.add_argument("--hash-floor", metavar="CSV", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare:
        prepare(args)
        return
    if args.hash_floor:
        hash_floor(args.hash_floor)
        return
    if args.child:
        child(args)
        return
    if args.db == "postgres":
        check_pg_name(args.pg_url)
    cases = select_cases(args.kinds)
    rows_for = {}
    for spec in args.rows_for:
        name, _, value = spec.partition("=")
        if name not in CASES or not value.isdigit():
            raise SystemExit(f"--rows-for {spec!r}: expects CASE=N, CASE one of {', '.join(CASES)}")
        rows_for[name] = int(value)
    started = time.strftime("%Y-%m-%d %H:%M")
    version = source_version()
    results = []
    try:
        for case in cases:
            n = args.rows
            if case.name == "users-new" and args.password_rows:
                n = min(n, args.password_rows)
            n = rows_for.get(case.name, n)
            r = measure(args, case, n)
            if args.scaling and n >= 10:
                small = measure(args, case, n // 10)
                r["small"] = small
                r["growth"] = round((r["seconds"] / small["seconds"]) / (n / (n // 10)), 2)
            results.append(r)
            if args.json:  # after each case: a long run keeps what it measured so far
                write_json(args, results, started, version)
    finally:
        if args.db == "postgres" and not args.keep:
            drop_postgres(args.pg_url)
    print(
        f"Registrar import kinds benchmark: {args.db}, source {version}, {started}, "
        f"{os.cpu_count()} CPUs, base data {args.users:,} users / {args.courses:,} courses, "
        f"1-min load average at the end {os.getloadavg()[0]:.2f}"
    )
    print(table(results, args.scaling))
    bad = [r["case"] for r in results if not r["ok"]]
    if bad:
        print(f"WARNING: not every row ended as expected in: {', '.join(bad)}")


def write_json(args, results, started, version) -> None:
    with open(args.json, "w") as f:
        json.dump(
            {
                "db": args.db,
                "version": version,
                "started": started,
                "cpus": os.cpu_count(),
                "users": args.users,
                "courses": args.courses,
                "src_changes": source_changes(),
                "results": results,
            },
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
