"""Clinic-wide state: protocol settings and the append-only audit trail."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ProtocolSettings(Base):
    """The single row of protocol settings (id is always 1)."""

    __tablename__ = "protocol_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("min_integration_sessions BETWEEN 0 AND 20", name="min_integration"),
        CheckConstraint("grace_days BETWEEN 0 AND 90", name="grace_days"),
        CheckConstraint("default_planned_infusions BETWEEN 1 AND 30", name="default_planned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    min_integration_sessions: Mapped[int] = mapped_column(default=2)
    grace_days: Mapped[int] = mapped_column(default=7)
    default_planned_infusions: Mapped[int] = mapped_column(default=6)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(64))
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
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    # The patient's chart number, when the event concerns one patient.
    patient_ref: Mapped[str | None] = mapped_column(String(64))
    # JSON text: values before and after, the page viewed, the reason refused...
    detail: Mapped[str] = mapped_column(Text, default="{}")
