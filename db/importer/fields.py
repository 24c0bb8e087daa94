"""Turn one CSV text value into a Python value, or say plainly why not.

Each parser takes the raw text (already stripped) and raises ``FieldError``
with a message a clinic administrator can act on.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from datetime import date, datetime, time

from ..text_rules import control_character_problem

# The longest value any column accepts; longer means a broken export.
MAX_FIELD_CHARS = 10_000

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?$"
)
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}
# Dates outside these years are typing mistakes, not clinic history.
MIN_YEAR, MAX_YEAR = 1900, 2100


class FieldError(ValueError):
    """A value that cannot be used; ``str()`` is the plain-words reason."""


def text(raw: str, *, max_len: int, required: bool = True) -> str:
    if not raw:
        if required:
            raise FieldError("must not be empty")
        return ""
    if len(raw) > max_len:
        raise FieldError(f"is {len(raw):,} characters long; at most {max_len:,} are allowed")
    # Line breaks and tabs may sit inside a quoted note; other control
    # characters are refused as the forms refuse them (db.text_rules).
    if problem := control_character_problem(raw, multiline=True):
        raise FieldError(problem)
    return raw


# Big files repeat the same few thousand dates; parsing each once pays.
@lru_cache(maxsize=8192)
def day(raw: str) -> date:
    if not raw:
        raise FieldError("must not be empty; write the date as YYYY-MM-DD")
    if not _DATE_RE.match(raw):
        raise FieldError(f"{_show(raw)} is not a date in the form YYYY-MM-DD")
    return _real_date(raw)


@lru_cache(maxsize=8192)
def when(raw: str) -> tuple[date, time | None]:
    """A date, or an ISO 8601 date and time; the time is kept as written.

    A UTC offset is accepted and dropped: the clinic's local wall-clock time is
    what the care team reads, and the clinical day is what the rules use.
    """
    if not raw:
        raise FieldError("must not be empty; write YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    if _DATE_RE.match(raw):
        return _real_date(raw), None
    m = _DATETIME_RE.match(raw)
    if not m:
        raise FieldError(
            f"{_show(raw)} is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)"
        )
    d = _real_date(m.group(1))
    try:
        t = time.fromisoformat(m.group(2))
    except ValueError:
        raise FieldError(f"{_show(raw)} has a time that does not exist") from None
    return d, t


def whole(raw: str, lo: int, hi: int, *, what: str = "a whole number") -> int:
    if not raw:
        raise FieldError(f"must not be empty; expected {what} from {lo} to {hi}")
    if not _INT_RE.match(raw):
        raise FieldError(f"{_show(raw)} is not a whole number")
    n = int(raw)
    if not lo <= n <= hi:
        raise FieldError(f"{n} is out of range; expected {what} from {lo} to {hi}")
    return n


def dose(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FieldError(
            f"{_show(raw)} is not a number (use a dot for decimals, e.g. 0.5)") from None
    if not math.isfinite(value) or not 0 < value <= 5:
        raise FieldError(f"{raw[:40]} is out of range; a dose in mg/kg must be above 0 and at "
                         "most 5")
    return value


def choice(raw: str, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if raw in allowed:
        return raw
    # Forgive letter case ("IV" vs "iv"), never spelling.
    folded = {c.lower(): c for c in allowed}
    if raw.lower() in folded:
        return folded[raw.lower()]
    if not raw:
        raise FieldError(f"must not be empty; use one of: {', '.join(allowed)}")
    return _not_one_of(raw, allowed)


def flag(raw: str) -> bool:
    v = raw.lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    if not raw:
        raise FieldError("must not be empty; use 1/0, true/false or yes/no")
    raise FieldError(f"{_show(raw)} is not a yes/no value; use 1/0, true/false or yes/no")


def _not_one_of(raw: str, allowed: tuple[str, ...]) -> str:
    raise FieldError(f"{_show(raw)} is not allowed; use one of: {', '.join(allowed)}")


def _real_date(raw: str) -> date:
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        raise FieldError(f"{raw} is not a real calendar date") from None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise FieldError(f"{raw} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return d


def _show(raw: str) -> str:
    """The value quoted for a message, shortened so one bad cell cannot flood it."""
    return repr(raw if len(raw) <= 40 else raw[:37] + "...")
