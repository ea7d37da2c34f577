"""How every simulator keeps passwords: a salted SHA-256 instead of the panels' bcrypt, so thousands of users seed in
milliseconds, and a test can check what a request did to a password without any API ever showing it.
"""

from __future__ import annotations

import hashlib
import secrets


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    return f"sha256${salt}${_digest(salt, password)}"


def password_matches(stored: str | None, password: str) -> bool:
    if stored is None:
        return False
    _, salt, digest = stored.split("$")
    return _digest(salt, password) == digest


def _digest(salt: str, password: str) -> str:
    return hashlib.sha256((salt + password).encode()).hexdigest()
