"""The one way a part of a whole becomes a percentage (issue 16).

Habit adherence, compliance, preparation and no-show rates all go through
:func:`percent`, so the same fraction reads the same on every page, export and
report: one decimal, halves rounded up, computed exactly in decimal (1 of 16
is 6.3%, not the 6.2% that float ``round`` gives for the binary 6.25).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_ONE_DECIMAL = Decimal("0.1")


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal, halves up; None when there is no whole."""
    if whole <= 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(_ONE_DECIMAL, ROUND_HALF_UP))
