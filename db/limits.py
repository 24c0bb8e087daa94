"""Every numeric limit and default of the clinic's data, in one place (issue 16).

The model CHECK constraints, the recording checks, the importer's field checks,
the protocol settings' validation and the widgets' labels and help are all
derived from these values, as ``db.models.measures`` derives its score check
from ``INSTRUMENT_MAX``. Change a bound here and every layer follows; a
constraint whose SQL text changes needs a migration (``tests/test_limits.py``
compares each one with the migrations).

This module sits below ``db.models`` and imports nothing, so every layer can
read it. A limit that belongs to one rule only stays with its rule (e.g.
``STALLED_AFTER_DAYS`` in ``db.protocol.compliance``, ``YEARS_AHEAD`` in
``db.recording.common``).
"""
from __future__ import annotations

from typing import NamedTuple


class Bounds(NamedTuple):
    """An inclusive range of whole numbers."""

    low: int
    high: int

    def holds(self, value: int) -> bool:
        return self.low <= value <= self.high

    def sql(self, column: str) -> str:
        """The CHECK constraint text: ``'column BETWEEN low AND high'``."""
        return f"{column} BETWEEN {self.low} AND {self.high}"

    @property
    def words(self) -> str:
        """'1 and 30', for 'must be between 1 and 30'."""
        return f"{self.low} and {self.high}"

    @property
    def span(self) -> str:
        """'1–30', for a widget's label."""
        return f"{self.low}–{self.high}"


# --- treatment series ---------------------------------------------------------------------
#: Infusions planned for one series (treatment_series.planned_infusions, the
#: clinic's default for a new series, the importer's series.csv).
PLANNED_INFUSIONS = Bounds(1, 30)
#: Infusions booked at once by "Book the series' infusions".
MAX_BOOKED_AT_ONCE = PLANNED_INFUSIONS.high

# --- habits -------------------------------------------------------------------------------
#: Days a week a habit aims for (habit.target_per_week).
HABIT_TARGET_PER_WEEK = Bounds(1, 7)

# --- therapy sessions ---------------------------------------------------------------------
#: A therapy session's length in minutes, when recorded.
SESSION_DURATION_MINUTES = Bounds(1, 600)

# --- protocol settings (the single protocol_settings row) ---------------------------------
MIN_INTEGRATION_SESSIONS = Bounds(0, 20)
GRACE_DAYS = Bounds(0, 90)
#: The settings when the row is missing, and the values a new row starts with.
DEFAULT_MIN_INTEGRATION_SESSIONS = 2
DEFAULT_GRACE_DAYS = 7
DEFAULT_PLANNED_INFUSIONS = 6

# --- text ---------------------------------------------------------------------------------
#: The longest chart number, username, audit actor or action (String(64) columns).
IDENTIFIER_MAX = 64
#: The longest first name, last name or habit name (String(100) columns).
NAME_MAX = 100
