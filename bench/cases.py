"""What the harness measures: each page, for each role that opens it, beside its floor."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Habit, HabitLog, Patient, Staff
from ui.access import CurrentUser

# Target groups (issue 9).
SCOPED = "scoped"  # caseload and patient record: <= 1.5 x floor, flat in clinic size
CLINIC_WIDE = "clinic-wide"  # compliance and team meeting: <= 2 x floor, warm <= 0.2 x cold


@dataclass(frozen=True)
class Case:
    page: str  # "caseload" | "patient" | "compliance" | "team_meeting"
    role: str
    script: str
    floor: str
    user: CurrentUser
    query: dict[str, str]
    floor_query: dict[str, str]
    group: str
    subject: str  # what is being shown, for the table

    @property
    def name(self) -> str:
        return f"{self.page} / {self.role}"


def _user(session: Session, username: str) -> CurrentUser:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        raise LookupError(f"no staff account {username!r}: is this a benchmark clinic?")
    return CurrentUser(staff.id, staff.username, staff.full_name, staff.role)


def _busiest_therapist(session: Session) -> CurrentUser:
    """The active therapist with the most patients: the heaviest caseload there is,
    and about the same size in every clinic (the demo gives ~32 patients each)."""
    staff = session.scalars(
        select(Staff).join(Patient, Patient.therapist_id == Staff.id)
        .where(Staff.role == "therapist", Staff.active.is_(True))
        .group_by(Staff.id).order_by(func.count(Patient.id).desc(), Staff.id).limit(1)).first()
    if staff is None:
        raise LookupError("no therapist with patients: is this a benchmark clinic?")
    return CurrentUser(staff.id, staff.username, staff.full_name, staff.role)


def _busiest_patient(session: Session, therapist_id: int) -> tuple[str, int]:
    """The therapist's patient with the most habit-log rows: the heaviest record they open."""
    row = session.execute(
        select(Patient.patient_id, func.count(HabitLog.id).label("logs"))
        .join(Habit, Habit.patient_id == Patient.id)
        .join(HabitLog, HabitLog.habit_id == Habit.id)
        .where(Patient.therapist_id == therapist_id)
        .group_by(Patient.patient_id)
        .order_by(func.count(HabitLog.id).desc(), Patient.patient_id)
        .limit(1)).first()
    if row is None:
        chart = session.scalar(select(Patient.patient_id)
                               .where(Patient.therapist_id == therapist_id).limit(1))
        return chart, 0
    return row[0], row[1]


def _longest_history(session: Session) -> tuple[str, int]:
    """The patient with the earliest intake (one of the five-year histories)."""
    chart = session.scalar(select(Patient.patient_id)
                           .order_by(Patient.intake_date, Patient.patient_id).limit(1))
    logs = session.scalar(select(func.count(HabitLog.id)).join(Habit)
                          .join(Patient).where(Patient.patient_id == chart))
    return chart, logs or 0


def cases(session: Session, pages: set[str] | None = None) -> list[Case]:
    """Every case for the clinic behind ``session``; ``pages`` limits them."""
    therapist = _busiest_therapist(session)
    director = _user(session, "director")
    screen = _user(session, "teamscreen")
    own_chart, own_logs = _busiest_patient(session, therapist.id)
    long_chart, long_logs = _longest_history(session)
    own = session.scalar(select(func.count()).select_from(Patient)
                         .where(Patient.therapist_id == therapist.id))
    out = [
        Case("caseload", "therapist", "pages/caseload.py", "bench/floors/caseload.py",
             therapist, {}, {"therapist": str(therapist.id)}, SCOPED,
             f"own caseload, {own} patients"),
        Case("caseload", "medical_director", "pages/caseload.py", "bench/floors/caseload.py",
             director, {}, {}, CLINIC_WIDE, "all therapists"),
        Case("patient", "therapist", "pages/patient.py", "bench/floors/patient.py",
             therapist, {"patient": own_chart}, {"chart": own_chart}, SCOPED,
             f"own patient, {own_logs:,} habit logs"),
        Case("patient", "medical_director", "pages/patient.py", "bench/floors/patient.py",
             director, {"patient": long_chart}, {"chart": long_chart}, SCOPED,
             f"5-year history, {long_logs:,} habit logs"),
        Case("compliance", "medical_director", "pages/compliance.py",
             "bench/floors/compliance.py", director, {}, {}, CLINIC_WIDE, "whole clinic"),
        Case("team_meeting", "therapist", "pages/team_meeting.py",
             "bench/floors/team_meeting.py", therapist, {}, {}, CLINIC_WIDE, "whole clinic"),
        Case("team_meeting", "team_screen", "pages/team_meeting.py",
             "bench/floors/team_meeting.py", screen, {}, {}, CLINIC_WIDE, "whole clinic"),
    ]
    return [c for c in out if pages is None or c.page in pages]
