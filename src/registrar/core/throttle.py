"""Counters of failed attempts (sign-ins, API tokens, password-reset requests) that lock a key
for a while once it has failed too often.

They live in Django's cache alias `throttle`: a DatabaseCache whose table is in the `jobs`
database (registrar.routers), so that counting a failure never waits for an import's write lock
on the main SQLite file, and every web and worker process shares the counts. The read-modify-
write of a counter is serialised (SQLite: the jobs file's IMMEDIATE transaction; PostgreSQL: an
advisory lock on the key), so that parallel attempts cannot lose counts.
"""

import contextlib
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction

ALIAS = "throttle"


def now() -> float:
    """The clock the counters use (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class Rule:
    """At most `limit` failures of one key within `window` seconds; past that, the key is locked
    for `lockout` seconds. A limit of 0 turns the rule off."""

    name: str
    limit: int
    window: float
    lockout: float


def rule(name: str) -> Rule:
    """The rule named in settings.REGISTRAR_THROTTLE (read each time: settings may change)."""
    limits = settings.REGISTRAR_THROTTLE
    return Rule(name, int(limits[name]), float(limits["window"]), float(limits["lockout"]))


def _key(rule: Rule, ident: str) -> str:
    return f"{rule.name}:{hashlib.sha256(ident.encode()).hexdigest()}"


def _cache():
    return caches[ALIAS]


@contextlib.contextmanager
def _serialised(key: str):
    """Hold the key alone while its counter is read and written back."""
    cache = _cache()
    if not isinstance(cache, DatabaseCache):
        yield  # another backend: its own semantics (a local-memory cache is per process)
        return
    db = router.db_for_write(cache.cache_model_class)
    with transaction.atomic(using=db):
        conn = connections[db]
        if conn.vendor == "postgresql":
            lock = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            with conn.cursor() as c:
                c.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        yield


def retry_after(rule: Rule, ident: str) -> int:
    """Seconds until the key may try again (0: it may now)."""
    if rule.limit <= 0:
        return 0
    state = _cache().get(_key(rule, ident))
    left = (state or {}).get("locked_until", 0) - now()
    return math.ceil(left) if left > 0 else 0


def fail(rule: Rule, ident: str) -> int:
    """Count one failure of the key; returns the seconds it is now locked for (0: not locked)."""
    if rule.limit <= 0:
        return 0
    key, t = _key(rule, ident), now()
    with _serialised(key):
        state = _cache().get(key)
        if not state or (t >= state["start"] + rule.window and t >= state["locked_until"]):
            state = {"start": t, "count": 0, "locked_until": 0}
        state["count"] += 1
        if state["count"] >= rule.limit:
            state["locked_until"] = max(state["locked_until"], t + rule.lockout)
        ends = max(state["start"] + rule.window, state["locked_until"])
        _cache().set(key, state, timeout=math.ceil(ends - t) + 1)
    left = state["locked_until"] - t
    return math.ceil(left) if left > 0 else 0


def reserve(rule: Rule, ident: str) -> int:
    """Count an attempt before it is tried, so that attempts sent in parallel cannot all pass a
    check made before any of them failed: returns 0 when it may go on (counted as a failure
    until `release`), else the seconds the key is locked for (the lock starts once `limit`
    attempts are counted in the window)."""
    if rule.limit <= 0:
        return 0
    key, t = _key(rule, ident), now()
    with _serialised(key):
        state = _cache().get(key)
        if not state or (t >= state["start"] + rule.window and t >= state["locked_until"]):
            state = {"start": t, "count": 0, "locked_until": 0}
        if state["locked_until"] <= t and state["count"] >= rule.limit:
            state["locked_until"] = t + rule.lockout
        if state["locked_until"] > t:
            wait = state["locked_until"] - t
        else:
            state["count"] += 1
            wait = 0
        ends = max(state["start"] + rule.window, state["locked_until"])
        _cache().set(key, state, timeout=math.ceil(ends - t) + 1)
    return math.ceil(wait) if wait > 0 else 0


def release(rule: Rule, ident: str) -> None:
    """Take back an attempt `reserve` counted, which turned out to succeed."""
    if rule.limit <= 0:
        return
    key = _key(rule, ident)
    with _serialised(key):
        state = _cache().get(key)
        if state and state["count"] > 0:
            state["count"] -= 1
            ends = max(state["start"] + rule.window, state["locked_until"])
            _cache().set(key, state, timeout=max(1, math.ceil(ends - now()) + 1))


def clear(rule: Rule, ident: str) -> None:
    """Forget the key's failures and lock (a successful sign-in, a password set by mail)."""
    _cache().delete(_key(rule, ident))


def client_address(request) -> str:
    """Who is asking, as counted: the peer address, or behind a trusted reverse proxy
    (REGISTRAR_BEHIND_PROXY) the address it appended last to X-Forwarded-For. An IPv6 client
    counts as its /64 network, which one person usually holds whole."""
    raw = request.META.get("REMOTE_ADDR", "")
    if settings.REGISTRAR_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        raw = forwarded or raw
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def minutes(seconds: int) -> int:
    """Seconds as whole minutes for messages (at least 1)."""
    return max(1, math.ceil(seconds / 60))
