"""What free text the clinic stores: any printable character in any script
(emoji, right-to-left text, zero-width joiners included), but no control
characters.

PostgreSQL cannot store a NUL character at all (the save failed with a
database error instead of a message), and the other control characters have
no use in a name or a note: they only hide text or garble a terminal or a CSV.
Multi-line fields keep tab and line breaks. One rule for the forms, the staff
admin and the CSV import.
"""
from __future__ import annotations

import re

from .limits import IDENTIFIER_MAX

__all__ = ["IDENTIFIER_MAX", "control_character_problem", "identifier_problem",
           "storable_identifier"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """A plain sentence when ``value`` holds a control character, else None."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value or "")
    if found is None:
        return None
    return (f"contains an invisible control character (U+{ord(found.group()):04X}) at position "
            f"{found.start() + 1}; retype or paste the text again without it")


# --- identifiers: chart numbers and usernames (issue 15) ------------------------------------
# The longest chart number or username the database holds: IDENTIFIER_MAX, from db.limits.


def identifier_problem(value: str, *, max_length: int = IDENTIFIER_MAX) -> str | None:
    """A plain sentence when ``value`` cannot be a chart number or username, else None.

    Checked before any lookup: PostgreSQL refuses a NUL in a query parameter
    and a value longer than the column, with a database error instead of an
    answer (a ``?patient=`` with either gave a generic error and no audit).
    """
    problem = control_character_problem(value or "")
    if problem:
        return problem
    if len(value or "") > max_length:
        return f"is {len(value)} characters long; at most {max_length} are allowed"
    return None


def storable_identifier(value: str | None, *, max_length: int = IDENTIFIER_MAX) -> str | None:
    """``value`` as it can be written to an identifier column (an audit event's
    patient reference, a throttle's username): control characters shown as
    ``\\uXXXX``, then cut to ``max_length`` characters, the cut marked with '…'.
    A valid identifier comes back unchanged."""
    if value is None:
        return None
    shown = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return shown if len(shown) <= max_length else shown[:max_length - 1] + "…"
