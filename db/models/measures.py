"""Standard outcome scales: PHQ-9, GAD-7, PCL-5 total scores."""
from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# Instrument -> highest possible total score (the lowest is 0 for all).
INSTRUMENT_MAX = {"PHQ-9": 27, "GAD-7": 21, "PCL-5": 80}

_RANGE_CHECK = " OR ".join(
    f"(instrument = '{name}' AND score BETWEEN 0 AND {top})" for name, top in INSTRUMENT_MAX.items()
)


class OutcomeMeasure(Base):
    __tablename__ = "outcome_measure"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "instrument", "date", name="uq_outcome_measure_patient_instrument_date"
        ),
        CheckConstraint(_RANGE_CHECK, name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(8))
    date: Mapped[date]
    score: Mapped[int]
