"""Bulk password hashing: cheaper Argon2 in parallel threads; Django upgrades the hash at first sign-in."""

import secrets
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password


class BulkArgon2PasswordHasher(Argon2PasswordHasher):
    """Same algorithm name as Django's, lighter cost; must_update() is true for it at sign-in."""

    time_cost = settings.REGISTRAR_BULK_ARGON2["time_cost"]
    memory_cost = settings.REGISTRAR_BULK_ARGON2["memory_cost"]
    parallelism = settings.REGISTRAR_BULK_ARGON2["parallelism"]


_hasher = BulkArgon2PasswordHasher()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:  # argon2-cffi releases the GIL while hashing: threads use every core
        import os

        _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    return _pool


def hash_many(passwords: list[str]) -> list[str]:
    return list(
        _executor().map(lambda p: _hasher.encode(p, _hasher.salt()), passwords, chunksize=64)
    )


def check_many(pairs: list[tuple[str, str]]) -> list[bool]:
    """(clear, stored hash) pairs: does each clear password match its hash?"""
    return list(
        _executor().map(lambda p: bool(p[1]) and check_password(p[0], p[1]), pairs, chunksize=64)
    )


def unusable() -> str:
    """A password no one can sign in with (Django's unusable mark, "!" and 40 random
    characters, as make_password(None) writes it): set one with the link. secrets.token_hex
    costs a microsecond where Django's random string costs a hundred (10,000 new users: 1 s)."""
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20)


def generate() -> str:
    return secrets.token_urlsafe(12)
