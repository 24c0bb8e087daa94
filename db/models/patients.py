"""Patients and their treatment: series, infusions and therapy sessions."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..limits import (
    DEFAULT_PLANNED_INFUSIONS,
    IDENTIFIER_MAX,
    NAME_MAX,
    PLANNED_INFUSIONS,
    SESSION_DURATION_MINUTES,
)
from .base import Base, enum_check

SERIES_KINDS = ("induction", "booster")
SERIES_STATUSES = ("active", "completed", "discontinued")
INFUSION_STATUSES = ("scheduled", "completed", "cancelled", "no_show")
ROUTES = ("IV", "IM", "SL", "IN")
SESSION_KINDS = ("preparation", "integration")
SESSION_STATUSES = ("scheduled", "attended", "cancelled", "no_show")


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The clinic's chart number: identifying, never shown on the team screen.
    patient_id: Mapped[str] = mapped_column(String(IDENTIFIER_MAX), unique=True)
    # A short random code for places that must not identify the patient.
    pseudonym: Mapped[str] = mapped_column(String(12), unique=True)
    first_name: Mapped[str] = mapped_column(String(NAME_MAX))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX))
    date_of_birth: Mapped[date]
    therapist_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    intake_date: Mapped[date]
    intentions: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class TreatmentSeries(Base):
    __tablename__ = "treatment_series"
    __table_args__ = (
        UniqueConstraint("patient_id", "number", name="uq_treatment_series_patient_number"),
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint(enum_check("kind", SERIES_KINDS), name="kind"),
        CheckConstraint(enum_check("status", SERIES_STATUSES), name="status"),
        CheckConstraint(PLANNED_INFUSIONS.sql("planned_infusions"), name="planned_infusions"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16), default="induction")
    planned_infusions: Mapped[int] = mapped_column(default=DEFAULT_PLANNED_INFUSIONS)
    status: Mapped[str] = mapped_column(String(16), default="active")
    discontinued_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Infusion(Base):
    __tablename__ = "infusion"
    __table_args__ = (
        UniqueConstraint("series_id", "date", name="uq_infusion_series_date"),
        CheckConstraint(enum_check("status", INFUSION_STATUSES), name="status"),
        CheckConstraint(f"route IS NULL OR {enum_check('route', ROUTES)}", name="route"),
        CheckConstraint(
            "dose_mg_per_kg IS NULL OR (dose_mg_per_kg > 0 AND dose_mg_per_kg <= 5)",
            name="dose",
        ),
        Index("ix_infusion_date", "date"),
        # Covers the clinic-wide GROUP BY summary of infusions (compliance):
        # read from the index alone, in series order, without visiting rows.
        Index("ix_infusion_series_id_date_status", "series_id", "date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("treatment_series.id", ondelete="CASCADE"))
    # The clinical day drives every rule; the time is kept when the source had one.
    date: Mapped[date] = mapped_column(Date)
    time: Mapped[time | None] = mapped_column(Time)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float)
    route: Mapped[str | None] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class TherapySession(Base):
    __tablename__ = "therapy_session"
    __table_args__ = (
        UniqueConstraint("patient_id", "date", "kind", name="uq_therapy_session_patient_date_kind"),
        CheckConstraint(enum_check("kind", SESSION_KINDS), name="kind"),
        CheckConstraint(enum_check("status", SESSION_STATUSES), name="status"),
        CheckConstraint(
            "duration_minutes IS NULL OR " + SESSION_DURATION_MINUTES.sql("duration_minutes"),
            name="duration"
        ),
        Index("ix_therapy_session_therapist_id_date", "therapist_id", "date"),
        Index("ix_therapy_session_date", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    date: Mapped[date] = mapped_column(Date)
    time: Mapped[time | None] = mapped_column(Time)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    duration_minutes: Mapped[int | None]
    # Pinning overrides the date-based assignment of a session to a series.
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_series.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
