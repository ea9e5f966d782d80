"""Background jobs: imports and undos queued by the portal and the API, run by the worker."""

from unittest.mock import patch

import pytest
from django.core.management import call_command

from registrar.jobs import service
from registrar.jobs.models import Job
from registrar.journal.models import Operation
from registrar.learning.models import CourseRecord

from .portal_fixtures import BOTH, COMPLETIONS, run_jobs

pytestmark = pytest.mark.django_db(databases=BOTH)


def upload(user, text=COMPLETIONS, kind="completions", name="completions.csv"):
    return service.save_upload(user, kind, [text.encode()], name)


def test_import_job_runs_in_background_with_its_results(world):
    job = service.start_import(world.admin, upload(world.admin), {}, verify_only=False)
    assert Job.objects.get(pk=job.pk).status == "queued"
    run_jobs()
    job.refresh_from_db()
    assert job.status == "done"
    assert (job.result["created"], job.result["rejected"]) == (2, 1)
    assert job.rows_done == 3 and job.fraction == 1.0
    op = Operation.objects.get(pk=job.operation_id)
    assert op.actor == world.admin and op.status == "done"
    assert CourseRecord.objects.filter(course=world.course).count() == 2


def test_verify_job_writes_nothing(world):
    job = service.start_import(world.admin, upload(world.admin), {}, verify_only=True)
    run_jobs()
    job.refresh_from_db()
    assert job.result["status"] == "verified" and job.result["created"] == 2
    assert CourseRecord.objects.count() == 0


def test_scoped_job_rejects_rows_outside_scope_out_of_scope(world):
    job = service.start_import(
        world.eu_admin, upload(world.eu_admin), {}, verify_only=False, scope="ACME-EU"
    )
    run_jobs()
    job.refresh_from_db()
    assert (job.result["created"], job.result["rejected"]) == (1, 2)
    rows, total = service.result_rows(Operation.objects.get(pk=job.operation_id), "rejected")
    assert total == 2
    assert {r["codes"] for r in rows} == {"out_of_scope", "course_not_found"}
    assert list(CourseRecord.objects.values_list("user__login", flat=True)) == ["eve"]


def test_job_runs_once_whatever_the_number_of_workers(world):
    job = service.start_import(world.admin, upload(world.admin), {}, verify_only=False)
    run_jobs()
    run_jobs()
    service.run(str(job.pk))  # a second worker that got the same job id: it does nothing
    assert Operation.objects.filter(kind="import").count() == 1
    assert CourseRecord.objects.count() == 2


def test_unusable_file_fails_the_job_with_its_code(world):
    up = upload(world.admin, "course_id;completion_date\r\nSAFE-101;2024-06-15\r\n")
    job = service.start_import(world.admin, up, {}, verify_only=False)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("missing_column:") and "user_email" in job.error


def test_undo_job_restores_and_its_check_changes_nothing(world):
    job = service.start_import(world.admin, upload(world.admin), {}, verify_only=False)
    run_jobs()
    job.refresh_from_db()
    op = Operation.objects.get(pk=job.operation_id)
    check = service.start_undo(world.admin, op, verify_only=True)
    run_jobs()
    check.refresh_from_db()
    assert check.status == "done" and check.result["deleted"] >= 2  # records, assignments
    assert CourseRecord.objects.count() == 2
    real = service.start_undo(world.admin, op, verify_only=False)
    run_jobs()
    real.refresh_from_db()
    assert real.status == "done" and real.result["conflict_count"] == 0
    assert CourseRecord.objects.count() == 0
    assert Operation.objects.get(pk=op.pk).undone_by_id == real.operation_id


def test_job_messages_follow_the_users_culture(world):
    # us_admin's culture is fr-FR: the results file speaks French.
    job = service.start_import(
        world.us_admin, upload(world.us_admin), {}, verify_only=False, scope="ACME-US"
    )
    run_jobs()
    job.refresh_from_db()
    rows, _ = service.result_rows(Operation.objects.get(pk=job.operation_id), "rejected")
    messages = " ".join(r["message"] for r in rows)
    assert "hors" in messages or "périmètre" in messages, messages


def test_upload_larger_than_the_limit_is_refused(world, settings):
    settings.REGISTRAR_MAX_UPLOAD_BYTES = 10
    with pytest.raises(service.Refused) as e:
        upload(world.admin)
    assert e.value.status == 413


def test_upload_of_an_unknown_file_type_is_refused(world):
    with pytest.raises(service.Refused):
        upload(world.admin, name="completions.exe")


def test_worker_command_runs_queued_jobs(world, settings):
    settings.SECRET_KEY = "a-key-of-this-installation"  # the worker refuses the published one
    job = service.start_import(world.admin, upload(world.admin), {}, verify_only=True)
    with patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        call_command("worker", batch=True, verbosity=0)
    job.refresh_from_db()
    assert job.status == "done"


def test_task_rows_live_in_the_jobs_database_on_sqlite():
    """Queueing a job or claiming one never waits for a running import's write lock on the main
    SQLite file (django-tasks-db's app label is django_tasks_database, not django_tasks_db)."""
    from django_tasks_db.models import DBTaskResult

    from registrar.routers import JobsRouter, separate_jobs_db

    want = "jobs" if separate_jobs_db() else None
    assert JobsRouter().db_for_write(DBTaskResult) == want
    assert JobsRouter().allow_migrate("jobs", "django_tasks_database") is separate_jobs_db()
