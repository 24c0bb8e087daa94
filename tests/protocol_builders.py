"""Builders that put a hand-made clinic into a test database, for the protocol tests."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from db.models import (
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    Staff,
    TherapySession,
    TreatmentSeries,
)


class Clinic:
    """Adds rows with only the fields the rules read; every call flushes."""

    def __init__(self, session: Session):
        self.session = session
        self._n = 0
        self.therapist = self.staff("t_one")

    def _next(self) -> int:
        self._n += 1
        return self._n

    def staff(self, username: str) -> Staff:
        s = Staff(username=username, full_name=username.title(), role="therapist")
        self.session.add(s)
        self.session.flush()
        return s

    def patient(self, chart: str | None = None, therapist: Staff | None = None) -> Patient:
        n = self._next()
        p = Patient(patient_id=chart or f"C{n:04d}", pseudonym=f"P{n:05d}", first_name="A",
                    last_name="B", date_of_birth=date(1980, 1, 1),
                    therapist_id=(therapist or self.therapist).id, intake_date=date(2026, 1, 1))
        self.session.add(p)
        self.session.flush()
        return p

    def series(self, patient: Patient, number: int = 1, *, status: str = "active",
               planned: int = 6, kind: str = "induction",
               infusions: list[tuple[date, str]] = ()) -> TreatmentSeries:
        s = TreatmentSeries(patient_id=patient.id, number=number, kind=kind,
                            planned_infusions=planned, status=status)
        self.session.add(s)
        self.session.flush()
        for day, st in infusions:
            self.session.add(Infusion(series_id=s.id, date=day, status=st))
        self.session.flush()
        return s

    def therapy(self, patient: Patient, day: date, kind: str, status: str,
                pinned: TreatmentSeries | None = None) -> TherapySession:
        t = TherapySession(patient_id=patient.id, therapist_id=patient.therapist_id, date=day,
                           kind=kind, status=status,
                           series_id=pinned.id if pinned is not None else None)
        self.session.add(t)
        self.session.flush()
        return t

    def habit(self, patient: Patient, name: str, target: int, start: date,
              end: date | None = None, *, done: list[date] = (),
              not_done: list[date] = ()) -> Habit:
        h = Habit(patient_id=patient.id, name=name, target_per_week=target, start_date=start,
                  end_date=end)
        self.session.add(h)
        self.session.flush()
        for d in done:
            self.session.add(HabitLog(habit_id=h.id, date=d, completed=True))
        for d in not_done:
            self.session.add(HabitLog(habit_id=h.id, date=d, completed=False))
        self.session.flush()
        return h

    def scores(self, patient: Patient, instrument: str, rows: list[tuple[date, int]]) -> None:
        for day, score in rows:
            self.session.add(OutcomeMeasure(patient_id=patient.id, instrument=instrument,
                                            date=day, score=score))
        self.session.flush()
