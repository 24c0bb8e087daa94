"""Typed SQLAlchemy 2 models, split by domain; import them from here."""
from .base import Base
from .clinic import AuditEvent, ProtocolSettings
from .habits import Habit, HabitLog
from .measures import INSTRUMENT_MAX, OutcomeMeasure
from .patients import (
    INFUSION_STATUSES,
    ROUTES,
    SERIES_KINDS,
    SERIES_STATUSES,
    SESSION_KINDS,
    SESSION_STATUSES,
    Infusion,
    Patient,
    TherapySession,
    TreatmentSeries,
)
from .staff import ROLES, AuthSession, LoginThrottle, Staff

__all__ = [
    "Base", "AuditEvent", "ProtocolSettings", "Habit", "HabitLog", "INSTRUMENT_MAX",
    "OutcomeMeasure", "INFUSION_STATUSES", "ROUTES", "SERIES_KINDS", "SERIES_STATUSES",
    "SESSION_KINDS", "SESSION_STATUSES", "Infusion", "Patient", "TherapySession",
    "TreatmentSeries", "ROLES", "AuthSession", "LoginThrottle", "Staff",
]
