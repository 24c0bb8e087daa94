"""Short random codes that stand for a patient where a name must not appear."""
from __future__ import annotations

import secrets

# No 0/O, 1/I/L: a code read aloud or copied by hand stays unambiguous.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6


def new_pseudonym(existing: set[str], length: int = LENGTH) -> str:
    """A fresh code not in ``existing``; the caller adds it to the set once used.

    ``secrets`` rather than ``random``: a seeded generator would let someone who
    knows the seed map codes back to patients.
    """
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if code not in existing:
            return code
