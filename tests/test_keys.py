"""Issue 15 item 2: the set-based foreign keys of the course records and assignments
(registrar.core.keys) keep referential integrity, also against a concurrent delete."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from registrar.bulk import engine
from registrar.directory.models import User
from registrar.learning.models import CourseAssignment, CourseRecord

from . import factories as f
from .conftest import read_results, write_csv
from .test_hardening import Paused, postgres_race

KEYED = [
    ("learning_courserecord", "user_id", "directory_user"),
    ("learning_courserecord", "course_id", "catalogue_course"),
    ("learning_courseassignment", "user_id", "directory_user"),
    ("learning_courseassignment", "course_id", "catalogue_course"),
    ("learning_courseassignment", "tutors_id", "directory_userlist"),
]
COMPLETIONS = ["course_id", "user_email", "completion_date"]


def foreign_keys(table: str) -> dict[str, str]:
    """The native foreign keys of a table: column -> referenced table."""
    with connection.cursor() as c:
        if connection.vendor == "sqlite":
            c.execute(f'PRAGMA foreign_key_list("{table}")')
            return {r[3]: r[2] for r in c.fetchall()}
        c.execute(
            "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.contype = 'f' AND c.conrelid = %s::regclass",
            [table],
        )
        return dict(c.fetchall())


def orphans() -> int:
    """Course records and assignments whose user or course does not exist."""
    with connection.cursor() as c:
        n = 0
        for table, column, parent in KEYED:
            c.execute(
                f'SELECT count(*) FROM "{table}" t LEFT JOIN "{parent}" p ON p.id = t."{column}"'
                f' WHERE t."{column}" IS NOT NULL AND p.id IS NULL'
            )
            n += c.fetchone()[0]
        return n


@pytest.mark.django_db
def test_the_course_records_and_assignments_keys_are_set_based_on_postgresql_native_on_sqlite():
    for table, column, parent in KEYED:
        native = foreign_keys(table)
        if connection.vendor == "postgresql":
            assert column not in native, (table, column)
            with connection.cursor() as c:
                c.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", [f"sbk_{table}_{column}%"]
                )
                names = {r[0][len(f"sbk_{table}_{column}") :] for r in c.fetchall()}
            assert names == {"_ins", "_upd", "_del", "_pid"}, (table, column)
        else:
            assert native[column] == parent, (table, column)


pg_only = pytest.mark.skipif("connection.vendor != 'postgresql'")


@pg_only
@pytest.mark.django_db
def test_a_record_naming_a_missing_user_or_course_is_refused_at_its_statement():
    u, c = f.user("alice"), f.course("SAFE-101")
    for kw in ({"user_id": u.pk + 1000, "course": c}, {"user": u, "course_id": c.pk + 1000}):
        with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
            CourseRecord.objects.bulk_create([CourseRecord(**kw)])
    with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
        CourseAssignment.objects.create(user=u, course=c, tutors_id=999_999)
    assert orphans() == 0


@pg_only
@pytest.mark.django_db
def test_moving_a_record_to_a_missing_user_is_refused_and_keeping_its_key_is_not_checked():
    u, c = f.user("alice"), f.course("SAFE-101")
    rec = CourseRecord.objects.create(user=u, course=c)
    CourseRecord.objects.filter(pk=rec.pk).update(user_id=u.pk, attempts=2)  # same key: fine
    with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
        CourseRecord.objects.filter(pk=rec.pk).update(user_id=u.pk + 1000)
    assert CourseRecord.objects.get(pk=rec.pk).user_id == u.pk


@pg_only
@pytest.mark.django_db
def test_deleting_a_referenced_user_or_course_is_refused_even_past_the_orm():
    u, c = f.user("alice"), f.course("SAFE-101")
    CourseAssignment.objects.create(user=u, course=c)
    for table, pk in (("directory_user", u.pk), ("catalogue_course", c.pk)):
        with (
            pytest.raises(IntegrityError, match="still reference"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(f'DELETE FROM "{table}" WHERE id = %s', [pk])
    with pytest.raises(IntegrityError, match="fixed"), transaction.atomic():
        User.objects.filter(pk=u.pk).update(id=u.pk + 1000)
    assert orphans() == 0


def _waiting_on_a_lock(n: int = 1, seconds: float = 20) -> None:
    """Until n other sessions of this database wait on a lock."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as c:
        while time.monotonic() < deadline:
            c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            if c.fetchone()[0] >= n:
                return
            time.sleep(0.05)
    raise AssertionError("nobody waited on a lock")


@pytest.fixture
def two_learners(tmp_path, settings):
    settings.REGISTRAR_BATCH_SIZE = 1
    settings.REGISTRAR_COLUMNAR_BATCH_SIZE = 1
    f.course("SAFE-101", "Workplace safety")
    carol, alice = f.user("carol"), f.user("alice")
    rows = [["SAFE-101", "carol@example.com", "2026-01-05"]]
    rows.append(["SAFE-101", "alice@example.com", "2026-01-06"])
    return carol, alice, write_csv(tmp_path / "c.csv", [COMPLETIONS, *rows])


@postgres_race
@pytest.mark.django_db(transaction=True)
def test_a_user_deleted_while_an_import_writes_her_records_is_refused_and_leaves_no_orphan(
    two_learners,
):
    carol, alice, path = two_learners
    running = Paused(engine.Request("completions", path)).start()  # carol's batch written
    outcome = {}

    def delete():
        try:
            User.objects.filter(pk=carol.pk).delete()
            outcome["deleted"] = True
        except IntegrityError as e:
            outcome["refused"] = str(e)
        finally:
            connections.close_all()

    deleting = threading.Thread(target=delete)
    deleting.start()
    _waiting_on_a_lock()  # the delete waits for the import's lock on carol
    running.hold.set()
    report = running.join()
    deleting.join(30)
    assert "still reference" in outcome.get("refused", ""), outcome
    assert report.counts["created"] == 2
    assert User.objects.filter(pk=carol.pk).exists()
    assert CourseRecord.objects.filter(user=carol).count() == 1
    assert orphans() == 0


@postgres_race
@pytest.mark.django_db(transaction=True)
def test_an_import_meeting_a_user_deleted_meanwhile_rejects_her_row_and_leaves_no_orphan(
    two_learners,
):
    carol, alice, path = two_learners
    deleted, commit = threading.Event(), threading.Event()

    def delete():
        try:
            with transaction.atomic():
                User.objects.filter(pk=carol.pk).delete()
                deleted.set()
                commit.wait(30)
        finally:
            connections.close_all()

    deleting = threading.Thread(target=delete)
    deleting.start()
    assert deleted.wait(30)
    result = {}

    def run():
        try:
            result["report"] = engine.run_import(engine.Request("completions", path))
        finally:
            connections.close_all()

    importing = threading.Thread(target=run)
    importing.start()
    _waiting_on_a_lock()  # the import's key check waits for the delete
    commit.set()
    deleting.join(30)
    importing.join(60)
    report = result["report"]
    rows = read_results(report.results_path)
    assert [r["result"] for r in rows] == ["rejected", "created"]
    assert rows[0]["codes"] == "user_not_found"
    assert not User.objects.filter(pk=carol.pk).exists()
    assert CourseRecord.objects.filter(user=alice).count() == 1
    assert orphans() == 0
