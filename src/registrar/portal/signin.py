"""Sign-in must not wait for a running import: on SQLite the last-login time is recorded only
when the database is free at once (an import holds its write lock for minutes)."""

from django.db import OperationalError, connection
from django.utils import timezone


def record_last_login(sender, user, **kwargs):
    now = timezone.now()
    model = type(user)
    if connection.vendor != "sqlite":
        model.objects.filter(pk=user.pk).update(last_login=now)
        return
    with connection.cursor() as c:
        c.execute("PRAGMA busy_timeout")
        (timeout,) = c.fetchone()
        c.execute("PRAGMA busy_timeout = 200")
        try:
            model.objects.filter(pk=user.pk).update(last_login=now)
        except OperationalError:
            pass  # locked by an import: the next sign-in records it
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(timeout)}")
