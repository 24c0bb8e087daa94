"""A small hand-built clinic for the caseload and patient-record tests.

Each patient of therapist ``ther_a`` is built to land on one protocol status
or flag as of ``AS_OF``, so that the caseload order can be checked against
the need the issue describes. ``ther_b`` has one patient, to test scope.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

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

AS_OF = date(2026, 6, 17)  # a Wednesday
LONG_YEARS = 5


def d(offset: int) -> date:
    return AS_OF + timedelta(days=offset)


@dataclass
class Clinic:
    ther_a: int
    ther_b: int
    director: int
    # chart number -> patient pk
    patients: dict[str, int] = field(default_factory=dict)


class _Builder:
    def __init__(self, session: Session):
        self.s = session
        self._pseudo = 0

    def staff(self, username: str, full_name: str, role: str) -> int:
        st = Staff(username=username, full_name=full_name, role=role, active=True)
        self.s.add(st)
        self.s.flush()
        return st.id

    def patient(self, chart: str, first: str, last: str, therapist: int, *,
                intake: date | None = None, intentions: str = "") -> int:
        self._pseudo += 1
        p = Patient(patient_id=chart, pseudonym=f"PS{self._pseudo:04d}", first_name=first,
                    last_name=last, date_of_birth=date(1980, 6, 18), therapist_id=therapist,
                    intake_date=intake or d(-90), intentions=intentions)
        self.s.add(p)
        self.s.flush()
        return p.id

    def series(self, pk: int, number: int, infusions: list[tuple[int, str]], *,
               status: str = "active", planned: int = 6, kind: str = "induction") -> int:
        ts = TreatmentSeries(patient_id=pk, number=number, kind=kind, planned_infusions=planned,
                             status=status)
        self.s.add(ts)
        self.s.flush()
        for offset, st in infusions:
            self.s.add(Infusion(series_id=ts.id, date=d(offset), status=st,
                                dose_mg_per_kg=0.5 if st == "completed" else None,
                                route="IV" if st == "completed" else None))
        return ts.id

    def sessions(self, pk: int, therapist: int, kind: str, items: list[tuple[int, str]]) -> None:
        for offset, st in items:
            self.s.add(TherapySession(patient_id=pk, therapist_id=therapist, date=d(offset),
                                      kind=kind, status=st, duration_minutes=50))

    def scores(self, pk: int, instrument: str, items: list[tuple[int, int]]) -> None:
        for offset, score in items:
            self.s.add(OutcomeMeasure(patient_id=pk, instrument=instrument, date=d(offset),
                                      score=score))

    def habit(self, pk: int, name: str, target: int, start: int, done_days: list[int]) -> int:
        h = Habit(patient_id=pk, name=name, target_per_week=target, start_date=d(start))
        self.s.add(h)
        self.s.flush()
        self.s.add_all(HabitLog(habit_id=h.id, date=d(o), completed=True) for o in done_days)
        return h.id


def build_clinic(session: Session) -> Clinic:
    """The clinic described in the module docstring; committed."""
    b = _Builder(session)
    c = Clinic(ther_a=b.staff("ther_a", "Alma Therapist", "therapist"),
               ther_b=b.staff("ther_b", "Bo Therapist", "therapist"),
               director=b.staff("md", "Mona Director", "medical_director"))
    a = c.ther_a
    P = c.patients

    # Infusions without a preparation session: non-compliant.
    P["KAP-NC"] = pk = b.patient("KAP-NC", "Nora", "Noprep", a)
    b.series(pk, 1, [(-10, "completed"), (-7, "completed"), (2, "scheduled")])

    # One integration attended, none booked, window still open: at risk.
    P["KAP-AR"] = pk = b.patient("KAP-AR", "Ari", "Risk", a,
                                 intentions="Sleep through the night; reconnect with my sister.")
    b.sessions(pk, a, "preparation", [(-20, "attended")])
    b.series(pk, 1, [(-15, "completed"), (-12, "completed"), (-9, "completed"),
                     (-6, "completed"), (1, "scheduled"), (4, "scheduled")])
    b.sessions(pk, a, "integration", [(-5, "attended")])
    b.scores(pk, "PHQ-9", [(-25, 18), (-2, 9)])
    b.scores(pk, "GAD-7", [(-25, 12), (-2, 4)])
    # Started 5 weeks before the week of AS_OF: every reported week counts.
    monday = -AS_OF.weekday()
    b.habit(pk, "Walk", 3, monday - 35,
            [monday - 7 * w + day for w in range(1, 5) for day in (0, 2)])  # 2 of 3 a week

    # Compliant but no infusion for six weeks and none booked: stalled.
    P["KAP-ST"] = pk = b.patient("KAP-ST", "Stan", "Stall", a)
    b.sessions(pk, a, "preparation", [(-60, "attended")])
    b.series(pk, 1, [(-50, "completed"), (-47, "completed"), (-44, "completed")])
    b.sessions(pk, a, "integration", [(-42, "attended"), (-38, "attended")])

    # Not started, first infusion in three days, no preparation: preparation due.
    P["KAP-PD"] = pk = b.patient("KAP-PD", "Pia", "Prepdue", a)
    b.series(pk, 1, [(3, "scheduled"), (6, "scheduled")])

    # Prepared, one integration attended and one booked: on track.
    P["KAP-OT"] = pk = b.patient("KAP-OT", "Otto", "Ontrack", a)
    b.sessions(pk, a, "preparation", [(-10, "attended")])
    b.series(pk, 1, [(-8, "completed"), (-5, "completed"), (2, "scheduled"), (5, "scheduled")])
    b.sessions(pk, a, "integration", [(-4, "attended"), (6, "scheduled")])
    # Agreed at the last session, starting next week: nothing to chart yet.
    b.habit(pk, "Journal", 4, 5, [])

    # A completed series, months ago.
    P["KAP-CO"] = pk = b.patient("KAP-CO", "Cora", "Closed", a)
    b.sessions(pk, a, "preparation", [(-200, "attended")])
    b.series(pk, 1, [(-190 + 3 * i, "completed") for i in range(6)], status="completed")
    b.sessions(pk, a, "integration", [(-180, "attended"), (-170, "attended")])

    # A discontinued series.
    P["KAP-DI"] = pk = b.patient("KAP-DI", "Dina", "Disc", a)
    b.sessions(pk, a, "preparation", [(-40, "attended")])
    b.series(pk, 1, [(-35, "completed")], status="discontinued")

    # Referred, no series yet.
    P["KAP-NS"] = b.patient("KAP-NS", "Ned", "Noseries", a)

    # Another therapist's patient, at risk: must never reach ther_a.
    P["KAP-B1"] = pk = b.patient("KAP-B1", "Bea", "Other", c.ther_b)
    b.sessions(pk, c.ther_b, "preparation", [(-20, "attended")])
    b.series(pk, 1, [(-15, "completed"), (1, "scheduled")])

    session.commit()
    return c


def add_long_history(session: Session, therapist_id: int, chart: str = "KAP-LH") -> int:
    """A patient of ``therapist_id`` followed for five years: two habits logged
    daily all along, a monthly PHQ-9, a booster series every year."""
    b = _Builder(session)
    b._pseudo = 9000
    days = 365 * LONG_YEARS
    pk = b.patient(chart, "Lana", "Long", therapist_id, intake=d(-days - 30))
    for name, every in (("Meditate", 1), ("Journal", 2)):
        b.habit(pk, name, 5, -days, [o for o in range(-days, 0) if o % every == 0])
    b.scores(pk, "PHQ-9", [(-days + 30 * i, 20 - (i % 10)) for i in range(days // 30)])
    for year in range(LONG_YEARS):
        start = -days + 365 * year + 10
        b.sessions(pk, therapist_id, "preparation", [(start - 3, "attended")])
        b.series(pk, year + 1, [(start + 3 * i, "completed") for i in range(6)],
                 status="completed", kind="induction" if year == 0 else "booster")
        b.sessions(pk, therapist_id, "integration", [(start + 5, "attended"),
                                                     (start + 15, "attended")])
    session.commit()
    return pk
