"""Writes to the main database that must not wait minutes behind a running import."""

from contextlib import contextmanager

from django.db import connections

QUICK_MS = 1000  # how long such a write waits for SQLite's write lock before it gives up


@contextmanager
def quick(alias: str = "default"):
    """On SQLite, writes in here (to database `alias`, the main one by default) give up after
    QUICK_MS instead of waiting for a running import's write lock (minutes): the reaper tries
    again on its next round."""
    conn = connections[alias]
    if conn.vendor != "sqlite":
        yield
        return
    conn.ensure_connection()
    usual = int(float(conn.settings_dict.get("OPTIONS", {}).get("timeout", 30)) * 1000)
    with conn.cursor() as c:
        c.execute(f"PRAGMA busy_timeout = {QUICK_MS}")
    try:
        yield
    finally:
        with conn.cursor() as c:
            c.execute(f"PRAGMA busy_timeout = {usual}")
