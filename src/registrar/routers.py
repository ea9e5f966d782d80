"""Database routing: jobs, uploads, task results, API tokens and sessions go to the `jobs` alias."""

from django.conf import settings

JOBS_APPS = {"jobs", "api", "django_tasks_db", "sessions"}


def separate_jobs_db() -> bool:
    """True when `jobs` is a database of its own (SQLite), not a second connection to `default`."""
    return settings.DATABASES["jobs"]["ENGINE"].endswith("sqlite3")


class JobsRouter:
    def db_for_read(self, model, **hints):
        return "jobs" if model._meta.app_label in JOBS_APPS else None

    db_for_write = db_for_read

    def allow_relation(self, a, b, **hints):
        return None

    def allow_migrate(self, db, app_label, **hints):
        if not separate_jobs_db():
            return db == "default"
        return db == ("jobs" if app_label in JOBS_APPS else "default")
