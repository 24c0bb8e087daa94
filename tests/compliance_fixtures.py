"""A hand-built clinic whose October 2026 compliance figures are known by heart,
for the compliance queries, PDF and page tests."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from db.models import Infusion, Patient, Staff, TherapySession, TreatmentSeries

# October 2026 is judged on 1 November; "today" is later so that the trend sees it.
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
TODAY = date(2026, 11, 20)


class Builder:
    def __init__(self, session: Session):
        self.session = session
        self.n = 0

    def therapist(self, username: str, full_name: str) -> Staff:
        s = Staff(username=username, full_name=full_name, role="therapist")
        self.session.add(s)
        self.session.flush()
        return s

    def patient(self, chart: str, therapist: Staff) -> Patient:
        self.n += 1
        p = Patient(patient_id=chart, pseudonym=f"PS{self.n:05d}", first_name="Test",
                    last_name=f"Patient {self.n}", date_of_birth=date(1980, 1, 1),
                    therapist_id=therapist.id, intake_date=date(2026, 1, 1))
        self.session.add(p)
        self.session.flush()
        return p

    def series(self, patient: Patient, infusions: list[tuple[date, str]], *, number: int = 1,
               planned: int = 1, status: str = "active") -> TreatmentSeries:
        s = TreatmentSeries(patient_id=patient.id, number=number, kind="induction",
                            planned_infusions=planned, status=status)
        self.session.add(s)
        self.session.flush()
        self.session.add_all(Infusion(series_id=s.id, date=d, status=st) for d, st in infusions)
        self.session.flush()
        return s

    def visit(self, patient: Patient, day: date, kind: str, status: str) -> None:
        self.session.add(TherapySession(patient_id=patient.id, therapist_id=patient.therapist_id,
                                        date=day, kind=kind, status=status))
        self.session.flush()


def build_october_clinic(session: Session) -> dict[str, Staff]:
    """Two therapists; what each series is meant to be is said beside it.

    With the default settings (2 integration sessions, 7 grace days), October
    judged on 1 November holds: closed 3 (compliant 1, non-compliant 2),
    preparation met 2 of 3, 3 integration sessions attended, 1 discontinued,
    1 at risk, 1 stalled, 1 preparation due; infusions due 6 with 1 no-show,
    sessions due 7 with 1 no-show.
    """
    b = Builder(session)
    ana = b.therapist("ana", "Ana Alvarez")
    ben = b.therapist("ben", "=HYPERLINK(\"x\") Ben")  # hostile name: must print as text

    # C001 (Ana): compliant, window ends 17 Oct.
    p = b.patient("C001", ana)
    b.visit(p, date(2026, 9, 28), "preparation", "attended")
    b.series(p, [(date(2026, 10, 3), "no_show"), (date(2026, 10, 10), "completed")])
    b.visit(p, date(2026, 10, 12), "integration", "attended")
    b.visit(p, date(2026, 10, 15), "integration", "attended")

    # C002 (Ana): no preparation: non-compliant, window ends 8 Oct.
    p = b.patient("C002", ana)
    b.series(p, [(date(2026, 10, 1), "completed")])

    # C003 (Ben): one integration session of two: non-compliant, window ends 12 Oct.
    p = b.patient("C003", ben)
    b.visit(p, date(2026, 10, 1), "preparation", "attended")
    b.series(p, [(date(2026, 10, 5), "completed")])
    b.visit(p, date(2026, 10, 7), "integration", "attended")
    b.visit(p, date(2026, 10, 9), "integration", "no_show")

    # C004 (Ben): at risk on 1 Nov: window ends 4 Nov, nothing booked.
    p = b.patient("C004", ben)
    b.visit(p, date(2026, 10, 20), "preparation", "attended")
    b.series(p, [(date(2026, 10, 28), "completed")])

    # C005 (Ana): compliant, but its window closed in September: not October's.
    p = b.patient("C005", ana)
    b.visit(p, date(2026, 9, 1), "preparation", "attended")
    b.series(p, [(date(2026, 9, 3), "completed")])
    b.visit(p, date(2026, 9, 5), "integration", "attended")
    b.visit(p, date(2026, 9, 8), "integration", "attended")

    # C006 (Ben): discontinued, window ends 13 Oct: counted apart, not in the rate.
    p = b.patient("C006", ben)
    b.visit(p, date(2026, 10, 1), "preparation", "attended")
    b.series(p, [(date(2026, 10, 6), "completed")], planned=6, status="discontinued")

    # C007 (Ana): stalled: 2 of 6 done in September, nothing booked since.
    p = b.patient("C007", ana)
    b.visit(p, date(2026, 9, 1), "preparation", "attended")
    b.series(p, [(date(2026, 9, 2), "completed"), (date(2026, 9, 9), "completed")], planned=6)
    b.visit(p, date(2026, 9, 10), "integration", "attended")
    b.visit(p, date(2026, 9, 12), "integration", "attended")

    # C008 (Ana): not started, first infusion 5 Nov, no preparation: preparation due.
    p = b.patient("C008", ana)
    b.series(p, [(date(2026, 11, 5), "scheduled")])

    # C009 (Ben): first infusion 10 Nov without preparation: not October's business,
    # although October is judged (on 1 Nov) with every event recorded since.
    p = b.patient("C009", ben)
    b.series(p, [(date(2026, 11, 10), "completed")])
    session.commit()
    return {"ana": ana, "ben": ben}
