"""Healthy habits the therapist helps build, and their daily logs."""
from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..limits import HABIT_TARGET_PER_WEEK, NAME_MAX
from .base import Base


class Habit(Base):
    __tablename__ = "habit"
    __table_args__ = (
        UniqueConstraint("patient_id", "name", name="uq_habit_patient_name"),
        CheckConstraint(HABIT_TARGET_PER_WEEK.sql("target_per_week"), name="target_per_week"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    target_per_week: Mapped[int]
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class HabitLog(Base):
    """One row per habit and day; the unique key doubles as the query index."""

    __tablename__ = "habit_log"
    __table_args__ = (UniqueConstraint("habit_id", "date", name="uq_habit_log_habit_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    habit_id: Mapped[int] = mapped_column(ForeignKey("habit.id", ondelete="CASCADE"))
    date: Mapped[date]
    completed: Mapped[bool]
