"""Clinic-wide state: protocol settings and the append-only audit trail."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..limits import (
    DEFAULT_GRACE_DAYS,
    DEFAULT_MIN_INTEGRATION_SESSIONS,
    DEFAULT_PLANNED_INFUSIONS,
    GRACE_DAYS,
    IDENTIFIER_MAX,
    MIN_INTEGRATION_SESSIONS,
    PLANNED_INFUSIONS,
)
from .base import Base


class ProtocolSettings(Base):
    """The single row of protocol settings (id is always 1)."""

    __tablename__ = "protocol_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(MIN_INTEGRATION_SESSIONS.sql("min_integration_sessions"),
                        name="min_integration"),
        CheckConstraint(GRACE_DAYS.sql("grace_days"), name="grace_days"),
        CheckConstraint(PLANNED_INFUSIONS.sql("default_planned_infusions"), name="default_planned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    min_integration_sessions: Mapped[int] = mapped_column(default=DEFAULT_MIN_INTEGRATION_SESSIONS)
    grace_days: Mapped[int] = mapped_column(default=DEFAULT_GRACE_DAYS)
    default_planned_infusions: Mapped[int] = mapped_column(default=DEFAULT_PLANNED_INFUSIONS)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(IDENTIFIER_MAX))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class AuditEvent(Base):
    """Who did what, when, to whose record. Triggers forbid UPDATE and DELETE.

    ``actor`` and ``patient_ref`` are plain text, not foreign keys, so that the
    trail outlives any change to the rows it speaks of.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        Index("ix_audit_event_actor_at", "actor", "at"),
        Index("ix_audit_event_patient_ref_at", "patient_ref", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(IDENTIFIER_MAX))
    action: Mapped[str] = mapped_column(String(IDENTIFIER_MAX), index=True)
    # The patient's chart number, when the event concerns one patient.
    patient_ref: Mapped[str | None] = mapped_column(String(IDENTIFIER_MAX))
    # JSON text: values before and after, the page viewed, the reason refused...
    detail: Mapped[str] = mapped_column(Text, default="{}")
