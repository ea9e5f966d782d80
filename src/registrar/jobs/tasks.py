"""The background task that runs a job (django-tasks; `registrar worker` executes it)."""

from django_tasks import task

from . import service


@task()
def run_job(job_id: str) -> None:
    service.run(job_id)
