"""Password hashing (bcrypt) and the minimum a password must meet.

Every check of a typed password goes through ``bcrypt_input``: one bcrypt
call on at most 72 bytes, whatever was typed (bcrypt 5 raises past 72 bytes
instead of hashing, which made long passwords answer faster). A password is
refused when it is too short, longer than bcrypt reads, or one of the most
common passwords (OWASP ASVS V2.1.7; the list is ``common_passwords.txt``
beside this file, its source in its header).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import bcrypt

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


class WeakPassword(ValueError):
    pass


@cache
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as fh:
        return frozenset(line.rstrip("\n") for line in fh if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        # bcrypt ignores everything past 72 bytes; refuse rather than mislead.
        raise WeakPassword(f"The password must be at most {MAX_PASSWORD_BYTES} bytes long.")
    if is_common(password):
        raise WeakPassword("This password is one of the most commonly used ones, which attackers "
                           "try first. Choose another.")


def bcrypt_input(password: str) -> bytes:
    """What bcrypt is given for a typed password: the same cut for every caller."""
    return (password or "").encode()[:MAX_PASSWORD_BYTES]


def hash_password(password: str) -> str:
    return bcrypt.hashpw(bcrypt_input(password), bcrypt.gensalt()).decode()


def check_against(password: str, password_hash: str) -> bool:
    """One bcrypt check of ``password`` against a hash; always the same work.

    A password longer than bcrypt reads is checked on its first 72 bytes (the
    same work as any other) and then refused: no stored password is that long.
    """
    try:
        matched = bcrypt.checkpw(bcrypt_input(password), password_hash.encode())
    except ValueError:  # not a bcrypt hash
        return False
    return matched and len((password or "").encode()) <= MAX_PASSWORD_BYTES


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    return check_against(password, password_hash)
