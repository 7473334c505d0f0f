"""Password hashes: scrypt from the standard library, in the ``method$salt$hex`` format the service has
always stored (``scrypt:32768:8:1$<salt>$<hash>``, and ``pbkdf2:sha256:<iterations>$…`` for older
hashes), so every existing account keeps working and services need no web framework."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

SALT_CHARS = string.ascii_letters + string.digits
SALT_LENGTH = 16
DEFAULT_SCRYPT = (2**15, 8, 1)  # n, r, p: about 32 MiB and a few tens of milliseconds per check
SCRYPT = DEFAULT_SCRYPT  # what new hashes use (the test suite lowers it: it makes thousands of accounts)
MAX_SCRYPT_N = 2**20  # a stored hash never makes a check cost more than this


def _derive(method: str, salt: str, password: str) -> str | None:
    name, *args = method.split(":")
    if name == "scrypt":
        try:
            n, r, p = (int(a) for a in args) if args else SCRYPT
        except ValueError:
            return None
        if not (1 < n <= MAX_SCRYPT_N and 0 < r <= 32 and 0 < p <= 16):
            return None
        return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
    if name == "pbkdf2" and len(args) == 2 and args[1].isdigit():
        return hashlib.pbkdf2_hmac(args[0], password.encode(), salt.encode(), int(args[1])).hex()
    return None


def hash_password(password: str) -> str:
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(SALT_LENGTH))
    method = "scrypt:{}:{}:{}".format(*SCRYPT)
    digest = _derive(method, salt, password)
    assert digest is not None
    return f"{method}${salt}${digest}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; an unreadable hash matches nothing."""
    try:
        method, salt, digest = stored.split("$", 2)
        derived = _derive(method, salt, password)
    except (ValueError, TypeError):
        return False
    return derived is not None and hmac.compare_digest(derived, digest)
