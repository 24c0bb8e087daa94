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

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character_problem(value: str, *, multiline: bool = False) -> str | None:
    """A plain sentence when ``value`` holds a control character, else None."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value or "")
    if found is None:
        return None
    return (f"contains an invisible control character (U+{ord(found.group()):04X}) at position "
            f"{found.start() + 1}; retype or paste the text again without it")
