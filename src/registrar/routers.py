"""Database routing: jobs, uploads, task results, API tokens, sessions and the throttle's cache
table (app label `django_cache`: failed sign-ins are counted there) go to the `jobs` alias."""

from django.conf import settings

JOBS_APPS = {"jobs", "api", "django_tasks_database", "sessions", "django_cache"}
# On PostgreSQL the `jobs` alias is a second connection to the same database, needed only where a
# write must be seen while an import's transaction is open (a job's progress). django-tasks' rows
# stay on the default connection there: its migrations' data steps run while the test database is
# created, before the `jobs` mirror points at it.
SQLITE_ONLY = {"django_tasks_database"}


def separate_jobs_db() -> bool:
    """True when `jobs` is a database of its own (SQLite), not a second connection to `default`."""
    return settings.DATABASES["jobs"]["ENGINE"].endswith("sqlite3")


class JobsRouter:
    def db_for_read(self, model, **hints):
        label = model._meta.app_label
        if label not in JOBS_APPS or (label in SQLITE_ONLY and not separate_jobs_db()):
            return None
        return "jobs"

    db_for_write = db_for_read

    def allow_relation(self, a, b, **hints):
        return None

    def allow_migrate(self, db, app_label, **hints):
        if not separate_jobs_db():
            return db == "default"
        return db == ("jobs" if app_label in JOBS_APPS else "default")
