"""Recording care: every write the care team makes from the app.

Each function takes a Session, the acting user and explicit values; checks
access in one place (``common.check_patient_access``); validates with field
messages (:class:`ValidationError`); refuses stale forms (:class:`RecordChanged`);
audits before/after values; and commits or rolls back as one transaction.
"""
from .common import AccessDenied, Actor, RecordChanged, ValidationError, fmt_day
from .habits import add_habit, end_habit, save_habit_week, week_of
from .infusions import (
    book_infusion,
    discontinue_series,
    schedule_series_infusions,
    series_dates,
    set_infusion_status,
    start_series,
)
from .measures import add_measure
from .patients import add_patient, reassign_therapist, update_patient
from .sessions import Saved, book_session, set_session_status

__all__ = [
    "AccessDenied", "Actor", "RecordChanged", "Saved", "ValidationError", "add_habit",
    "add_measure", "add_patient", "book_infusion", "book_session", "discontinue_series",
    "end_habit", "fmt_day", "reassign_therapist", "save_habit_week", "schedule_series_infusions",
    "series_dates", "set_infusion_status", "set_session_status", "start_series",
    "update_patient", "week_of",
]
