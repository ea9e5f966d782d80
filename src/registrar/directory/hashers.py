"""Password hashes brought from another system (users import, `user_password_hash`): read as they
are, checked at sign-in by the matching hasher, and upgraded to Argon2 then (Django does that
for every hasher but the first of PASSWORD_HASHERS).

Moodle and most PHP platforms store SHA-512 crypt (`$6$`) or bcrypt (`$2y$`); Django stores
`algorithm$…`. SHA-512 crypt is computed here (Python's `crypt` module is deprecated and gone
in 3.13), following Drepper's specification, which the tests check against its own vectors."""

import hashlib
import re

from django.contrib.auth.hashers import BasePasswordHasher, identify_hasher, mask_hash
from django.utils.crypto import constant_time_compare

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ROUNDS_DEFAULT = 5000
ROUNDS_MAX = 100_000  # a hash costing more would let an import slow every sign-in down
SHA512_CRYPT = re.compile(r"^\$6\$(?:rounds=(\d{1,9})\$)?([^$\n]{0,16})\$([./0-9A-Za-z]{86})$")
BCRYPT = re.compile(r"^\$2[aby]\$(\d\d)\$[./0-9A-Za-z]{53}$")
BCRYPT_COST_MAX = 16


def sha512_crypt(password: str, salt: str, rounds: int | None = None) -> str:
    """The `$6$` hash of `password` (glibc's crypt(3) with SHA-512)."""
    pw = password.encode()
    s = salt[:16].encode()
    n = ROUNDS_DEFAULT if rounds is None else min(max(rounds, 1000), 999_999_999)
    b = hashlib.sha512(pw + s + pw).digest()
    a = hashlib.sha512(pw + s)
    a.update(_repeat(b, len(pw)))
    i = len(pw)
    while i:
        a.update(b if i & 1 else pw)
        i >>= 1
    da = a.digest()
    p = _repeat(hashlib.sha512(pw * len(pw)).digest(), len(pw))
    ds = _repeat(hashlib.sha512(s * (16 + da[0])).digest(), len(s))
    c = da
    for r in range(n):
        h = hashlib.sha512(p if r & 1 else c)
        if r % 3:
            h.update(ds)
        if r % 7:
            h.update(p)
        h.update(c if r & 1 else p)
        c = h.digest()
    head = "$6$" + (f"rounds={n}$" if rounds is not None else "") + s.decode()
    return f"{head}${_b64(c)}"


def _repeat(block: bytes, length: int) -> bytes:
    return (block * (length // len(block) + 1))[:length]


# The byte order of SHA-512 crypt's final base-64 encoding (the specification's table).
_ORDER = [((k, k + 21, k + 42), (k + 21, k + 42, k), (k + 42, k, k + 21))[k % 3] for k in range(21)]


def _b64(c: bytes) -> str:
    out = []
    for a, b, d in _ORDER:
        out.append(_b64_bytes(c[a], c[b], c[d], 4))
    out.append(_b64_bytes(0, 0, c[63], 2))
    return "".join(out)


def _b64_bytes(b2: int, b1: int, b0: int, n: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    chars = []
    for _ in range(n):
        chars.append(ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(chars)


class SHA512CryptPasswordHasher(BasePasswordHasher):
    """`sha512_crypt$$6$…`: a Moodle (or Linux) SHA-512 crypt hash, kept as it came."""

    algorithm = "sha512_crypt"

    def encode(self, password, salt):
        return f"{self.algorithm}${sha512_crypt(password, salt)}"

    def decode(self, encoded):
        _algorithm, crypted = encoded.split("$", 1)
        m = SHA512_CRYPT.match(crypted)
        rounds = int(m[1]) if m and m[1] else ROUNDS_DEFAULT
        return {
            "algorithm": self.algorithm,
            "hash": crypted,
            "salt": m[2] if m else "",
            "rounds": rounds,
            "explicit": bool(m and m[1]),
        }

    def verify(self, password, encoded):
        d = self.decode(encoded)
        if not SHA512_CRYPT.match(d["hash"]) or d["rounds"] > ROUNDS_MAX:
            return False
        again = sha512_crypt(password, d["salt"], d["rounds"] if d["explicit"] else None)
        return constant_time_compare(again, d["hash"])

    def safe_summary(self, encoded):
        d = self.decode(encoded)
        return {"algorithm": d["algorithm"], "rounds": d["rounds"], "hash": mask_hash(d["hash"])}

    def harden_runtime(self, password, encoded):
        pass

    def must_update(self, encoded):
        return True


def normalise(value: str) -> str | None:
    """The stored form of a hash from another system, or None if it is not one we can check:
    `$6$…` and `$2y$`/`$2a$`/`$2b$` as they are (prefixed for Django), Django's own formats when
    one of PASSWORD_HASHERS reads them. Unusable (`!…`) and unsalted legacy hashes are refused."""
    if SHA512_CRYPT.match(value):
        m = SHA512_CRYPT.match(value)
        if m[1] and not 1000 <= int(m[1]) <= ROUNDS_MAX:
            return None
        return f"sha512_crypt${value}"
    m = BCRYPT.match(value)
    if m:
        if not 4 <= int(m[1]) <= BCRYPT_COST_MAX:
            return None
        # PHP's $2y$ is bcrypt's $2b$ (the same algorithm, another name for the fixed bug).
        return "bcrypt$" + ("$2b$" + value[4:] if value.startswith("$2y$") else value)
    if value.startswith("!") or "$" not in value:
        return None
    try:
        hasher = identify_hasher(value)
    except ValueError:
        return None
    if hasher.algorithm in ("unsalted_md5", "unsalted_sha1", "md5", "sha1", "crypt"):
        return None
    try:
        hasher.safe_summary(value)
    except Exception:  # noqa: BLE001 - a malformed hash of a known algorithm
        return None
    return value
