#!/usr/bin/env python
"""Every import kind's throughput: N valid rows through the engine, on SQLite or PostgreSQL.

For each case (one per import kind; the users kind twice: new users with passwords, and existing
users updated without passwords) it builds a fresh database holding what the rows refer to
(organisations, users, a catalogue of courses, lessons, curricula and programmes, credit types,
lists, and the assignments some kinds need), writes a file of N valid rows in the vendor's format
(semicolon CSV with the kind's canonical headers, every column present), then times
registrar.bulk.engine.run_import on it in a child process: parsed, validated, resolved, planned,
applied, journalled, results/rejects/log files written, operation closed. The setup is not timed.

It prints, per case: rows, seconds, rows/s, the import process's peak memory, the row results
(every row must end as the case expects, and none rejected: a benchmark of rejected rows measures
nothing) and the number of database calls the import made (statements and COPYs; executemany
counts once). With --scaling every case is also measured at N/10 rows in an equally fresh
database: `growth` is (time for N / time for N/10) / 10, 1.0 when the time is linear in the rows.
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
    setup: str = ""  # extra data this case needs: "assign", "assign-lessons"


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
    return env


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
    print(json.dumps({"setup_seconds": setup, "csv": str(path), "sizes": sizes}))


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
            "ok": good,
        }
        log(
            f"  {out['seconds']:.2f} s, {out['rows_per_s']:,} rows/s, {out['peak_rss_mb']:.0f} MB, "
            f"{res['calls']:,} database calls, {c}"
        )
        return out
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


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
    args = ap.parse_args()
    if args.prepare:
        prepare(args)
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
