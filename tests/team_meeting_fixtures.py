"""A small hand-built clinic for the team meeting tests.

Each patient is built to land in exactly one place on the team meeting screen
as of ``AS_OF`` (a Wednesday), so that the screen's order and counts can be
checked against the issue. Names and chart numbers are distinctive so that a
leak is easy to spot in any output.
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

AS_OF = date(2026, 11, 25)  # Wednesday; the week runs Mon 23 to Sun 29 November


def d(offset: int) -> date:
    return AS_OF + timedelta(days=offset)


@dataclass
class TeamClinic:
    dana: int
    lee: int
    # key -> (patient pk, pseudonym, chart number, first name, last name)
    patients: dict[str, tuple[int, str, str, str, str]] = field(default_factory=dict)

    def code(self, key: str) -> str:
        return self.patients[key][1]


class Builder:
    def __init__(self, session: Session):
        self.s = session
        self.n = 0

    def staff(self, username: str, full_name: str, role: str = "therapist") -> int:
        row = Staff(username=username, full_name=full_name, role=role, active=True)
        self.s.add(row)
        self.s.flush()
        return row.id

    def patient(self, first: str, last: str, therapist: int) -> tuple[int, str, str, str, str]:
        self.n += 1
        chart, code = f"CHART-{self.n:04d}", f"PQ{self.n:04d}"
        p = Patient(patient_id=chart, pseudonym=code, first_name=first, last_name=last,
                    date_of_birth=date(1979, 3, 14), therapist_id=therapist,
                    intake_date=d(-120), intentions="Secret intention text")
        self.s.add(p)
        self.s.flush()
        return p.id, code, chart, first, last

    def series(self, pk: int, *, planned: int, infusions: list[tuple[int, str]],
               number: int = 1, status: str = "active") -> int:
        sr = TreatmentSeries(patient_id=pk, number=number, planned_infusions=planned,
                             status=status)
        self.s.add(sr)
        self.s.flush()
        for offset, st in infusions:
            self.s.add(Infusion(series_id=sr.id, date=d(offset), status=st))
        return sr.id

    def sessions(self, pk: int, therapist: int, rows: list[tuple[int, str, str]]) -> None:
        for offset, kind, st in rows:
            self.s.add(TherapySession(patient_id=pk, therapist_id=therapist, date=d(offset),
                                      kind=kind, status=st))

    def score(self, pk: int, instrument: str, offset: int, value: int) -> None:
        self.s.add(OutcomeMeasure(patient_id=pk, instrument=instrument, date=d(offset),
                                  score=value))

    def habit(self, pk: int, target: int, start: int, done_days: list[int]) -> None:
        h = Habit(patient_id=pk, name="Morning walk", target_per_week=target, start_date=d(start))
        self.s.add(h)
        self.s.flush()
        for offset in done_days:
            self.s.add(HabitLog(habit_id=h.id, date=d(offset), completed=True))


def _compliant_series(b: Builder, pk: int, ther: int, first: int) -> None:
    """A compliant series well in the past: preparation, 2 infusions, 2 integrations."""
    b.series(pk, planned=2, infusions=[(first, "completed"), (first + 3, "completed")],
             status="completed")
    b.sessions(pk, ther, [(first - 2, "preparation", "attended"),
                          (first + 1, "integration", "attended"),
                          (first + 4, "integration", "attended")])


def build_team_clinic(session: Session) -> TeamClinic:
    b = Builder(session)
    dana = b.staff("dana", "Dana Whitfield")
    lee = b.staff("lee", "Lee Park")
    c = TeamClinic(dana, lee)

    # Non-compliant, window closed 5 days ago (last infusion -12, grace 7 -> -5).
    p = c.patients["closed"] = b.patient("Marguerite", "Okonkwo", dana)
    b.series(p[0], planned=6, infusions=[(-23, "completed"), (-21, "completed"),
                                         (-19, "completed"), (-16, "completed"),
                                         (-14, "completed"), (-12, "completed")])
    b.sessions(p[0], dana, [(-25, "preparation", "attended"), (-15, "integration", "attended")])

    # Non-compliant but its window closed 30 days ago: old news, not listed.
    p = c.patients["old_closed"] = b.patient("Bartholomew", "Quigley", dana)
    b.series(p[0], planned=2, infusions=[(-40, "completed"), (-37, "completed")])
    b.sessions(p[0], dana, [(-42, "preparation", "attended")])

    # At risk: 0 of 2 integration sessions, none booked, infusion booked Friday.
    p = c.patients["risk"] = b.patient("Ignatius", "Fairweather", lee)
    b.series(p[0], planned=4, infusions=[(-22, "completed"), (-15, "completed"),
                                         (2, "scheduled"), (6, "scheduled")])
    b.sessions(p[0], lee, [(-24, "preparation", "attended")])
    # ...and a PHQ-9 worsening: one row for this patient, under "at risk".
    b.score(p[0], "PHQ-9", -30, 8)
    b.score(p[0], "PHQ-9", -3, 15)

    # Stalled: compliant, 2 of 6 done, the last 30 days ago, nothing booked.
    p = c.patients["stalled"] = b.patient("Persephone", "Langstrom", dana)
    b.series(p[0], planned=6, infusions=[(-33, "completed"), (-30, "completed")])
    b.sessions(p[0], dana, [(-35, "preparation", "attended"), (-32, "integration", "attended"),
                            (-29, "integration", "attended")])

    # Preparation due: first infusion in 3 days, no preparation at all.
    p = c.patients["prep"] = b.patient("Cornelius", "Vandermeer", lee)
    b.series(p[0], planned=6, infusions=[(3, "scheduled")])

    # PHQ-9 worse by 6 with a compliant past series.
    p = c.patients["phq"] = b.patient("Evangeline", "Thistlewood", dana)
    _compliant_series(b, p[0], dana, -80)
    b.score(p[0], "PHQ-9", -82, 9)
    b.score(p[0], "PHQ-9", -6, 15)

    # Habit slipping: 1 of 5 days in each of the last two complete weeks.
    # Its series' window closed 30 days ago: still in aftercare.
    p = c.patients["habit_low"] = b.patient("Octavia", "Brightwater", lee)
    _compliant_series(b, p[0], lee, -40)
    b.habit(p[0], 5, -60, [-16, -9])

    # The same slipping habit, but the window closed 190 days ago: discharged, not raised.
    p = c.patients["habit_gone"] = b.patient("Ebenezer", "Hollingsworth", dana)
    _compliant_series(b, p[0], dana, -200)
    b.habit(p[0], 5, -300, [-16, -9])

    # Completed this week: third of three infusions on Monday, compliant.
    p = c.patients["done"] = b.patient("Leopold", "Ashcombe", dana)
    b.series(p[0], planned=3, infusions=[(-16, "completed"), (-9, "completed"),
                                         (-2, "completed")])
    b.sessions(p[0], dana, [(-18, "preparation", "attended"), (-8, "integration", "attended"),
                            (-1, "integration", "attended")])

    # Responder and remitter, latest PHQ-9 two days ago.
    p = c.patients["better"] = b.patient("Wilhelmina", "Carrington", lee)
    _compliant_series(b, p[0], lee, -70)
    b.score(p[0], "PHQ-9", -75, 20)
    b.score(p[0], "PHQ-9", -2, 4)
    b.score(p[0], "GAD-7", -75, 15)
    b.score(p[0], "GAD-7", -2, 4)

    # Already in remission at baseline: staying there is not news.
    p = c.patients["was_fine"] = b.patient("Clementine", "Ravensworth", lee)
    _compliant_series(b, p[0], lee, -70)
    b.score(p[0], "PHQ-9", -75, 3)
    b.score(p[0], "PHQ-9", -1, 2)

    # Habit held: 3 of 3 days in each of the last five complete weeks.
    p = c.patients["habit_held"] = b.patient("Barnaby", "Kettleworth", dana)
    _compliant_series(b, p[0], dana, -50)
    # Week k back starts on Monday -2 - 7k; Monday to Wednesday done.
    b.habit(p[0], 3, -60, [-2 - 7 * w + k for w in range(1, 6) for k in range(3)])

    # The same held habit, but discharged long ago: not shown as a win every week.
    p = c.patients["held_gone"] = b.patient("Philippa", "Worthington", lee)
    _compliant_series(b, p[0], lee, -200)
    b.habit(p[0], 3, -300, [-2 - 7 * w + k for w in range(1, 6) for k in range(3)])

    # Compliant, window closed this month (last infusion -17, window end -10).
    p = c.patients["closed_ok"] = b.patient("Rosalind", "Featherstone", lee)
    _compliant_series(b, p[0], lee, -20)

    # Coming week: sessions on Thursday and Saturday, one cancelled (not counted).
    b.sessions(c.patients["risk"][0], lee, [(1, "integration", "scheduled")])
    b.sessions(c.patients["closed_ok"][0], lee, [(3, "integration", "scheduled"),
                                                  (4, "integration", "cancelled")])
    session.commit()
    return c
