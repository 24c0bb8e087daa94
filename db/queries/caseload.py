"""A therapist's caseload: one row per patient's current series, ordered by need.

Every protocol figure on a row (status, reason, flags, preparation,
integration counts, habit adherence, PHQ-9 change) comes from ``db.protocol``;
this module scopes the engine's calls to one therapist (or the whole clinic
for the medical director), joins them to the patients' names and orders them.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Patient, Staff
from ..protocol import (
    SeriesCompliance,
    attention_rank,
    compute_compliance,
    habit_adherence,
    outcome_summaries,
)
from ..protocol.rates import percent

ADHERENCE_WEEKS = 4
# Statuses of a series still running; completed and discontinued ones hide
# behind the "show closed series" filter.
OPEN_SERIES = ("active",)


@dataclass(frozen=True)
class CaseloadRow:
    patient_pk: int
    chart: str
    first_name: str
    last_name: str
    therapist_id: int
    therapist_name: str
    # Series fields are None for a patient with no series yet.
    series_number: int | None
    series_kind: str | None
    series_status: str | None
    infusions_completed: int
    infusions_planned: int
    next_infusion: date | None
    window_end: date | None
    preparation: str | None
    preparation_date: date | None
    integration_attended: int
    integration_upcoming: int
    integration_required: int
    status: str | None
    reason: str
    flags: tuple[str, ...]
    habit_adherence_pct: float | None
    habits_counted: int
    phq9_latest: int | None
    phq9_change: int | None
    phq9_band: str | None
    rank: tuple

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_open(self) -> bool:
        """A series still running, or a patient whose first series is yet to come."""
        return self.series_status is None or self.series_status in OPEN_SERIES

    @property
    def integration_text(self) -> str:
        return integration_text(self.integration_attended, self.integration_required,
                                self.integration_upcoming)


@dataclass(frozen=True)
class CaseloadTiles:
    active_series: int
    at_risk: int
    non_compliant: int
    stalled: int
    prep_due: int


@dataclass(frozen=True)
class TherapistOption:
    id: int
    full_name: str
    username: str


def integration_text(attended: int, required: int, upcoming: int) -> str:
    """"1 of 2, 1 booked": attended against the minimum, and what is booked."""
    text = f"{attended} of {required}"
    return f"{text}, {upcoming} booked" if upcoming else text


def therapists(session: Session) -> list[TherapistOption]:
    """Active therapists, for the medical director's picker."""
    rows = session.execute(
        select(Staff.id, Staff.full_name, Staff.username)
        .where(Staff.role == "therapist", Staff.active.is_(True))
        .order_by(Staff.full_name)
    ).all()
    return [TherapistOption(*r) for r in rows]


def pooled_adherence(habits: Iterable) -> tuple[float | None, int]:
    """One patient's adherence over all their habits, and how many habits counted.

    The engine's weekly rows already hold done (capped at the target) and the
    target for every counted week, so pooling is the engine's own formula
    over more rows: days done over days targeted, across habits.
    """
    done = target = counted = 0
    for h in habits:
        weeks = [w for w in h.weekly if w.counted]
        if not weeks:
            continue
        counted += 1
        done += sum(w.done for w in weeks)
        target += sum(w.target for w in weeks)
    return (percent(done, target) if target else None), counted


def caseload(session: Session, as_of: date, *, therapist_id: int | None) -> list[CaseloadRow]:
    """The caseload of one therapist (``therapist_id``), or of the whole clinic
    (None: the medical director's "All therapists"), ordered by need.

    Four scoped queries and the engine's own ones; nothing per patient.
    """
    patients_q = (select(Patient.id, Patient.patient_id, Patient.first_name, Patient.last_name,
                         Patient.therapist_id, Staff.full_name)
                  .join(Staff, Staff.id == Patient.therapist_id))
    if therapist_id is not None:
        patients_q = patients_q.where(Patient.therapist_id == therapist_id)
    patients = session.execute(patients_q).all()

    current: dict[int, SeriesCompliance] = {
        sc.patient_pk: sc
        for sc in compute_compliance(session, as_of, therapist_id=therapist_id)
        if sc.is_current
    }
    habits_by_patient: dict[int, list] = defaultdict(list)
    for h in habit_adherence(session, as_of, weeks=ADHERENCE_WEEKS, therapist_id=therapist_id):
        habits_by_patient[h.patient_pk].append(h)
    phq9 = {o.patient_pk: o
            for o in outcome_summaries(session, as_of, therapist_id=therapist_id)
            if o.instrument == "PHQ-9"}

    rows = [_row(p, current.get(p[0]), habits_by_patient.get(p[0], ()), phq9.get(p[0]))
            for p in patients]
    # Active series first ("completed and discontinued behind a filter"), each
    # group by need: a series closed non-compliant months ago is history, not
    # today's first call.
    rows.sort(key=lambda r: (not r.is_open, r.rank))
    return rows


def _row(patient: Sequence, sc: SeriesCompliance | None, habits: Iterable, phq9) -> CaseloadRow:
    pk, chart, first, last, tid, therapist = patient
    pct, counted = pooled_adherence(habits)
    if sc is None:
        # No series yet: after every series, with the patients waiting to start.
        series = dict(series_number=None, series_kind=None, series_status=None,
                      infusions_completed=0, infusions_planned=0, next_infusion=None,
                      window_end=None, preparation=None, preparation_date=None,
                      integration_attended=0, integration_upcoming=0, integration_required=0,
                      status=None, reason="No treatment series yet.", flags=(),
                      rank=(4, date.max, chart, 0))
    else:
        series = dict(series_number=sc.series_number, series_kind=sc.kind,
                      series_status=sc.series_status, infusions_completed=sc.infusions_completed,
                      infusions_planned=sc.infusions_planned, next_infusion=sc.next_infusion,
                      window_end=sc.window_end, preparation=sc.preparation,
                      preparation_date=sc.preparation_date,
                      integration_attended=sc.integration_attended,
                      integration_upcoming=sc.integration_upcoming,
                      integration_required=sc.integration_required, status=sc.status,
                      reason=sc.reason, flags=sc.flags, rank=attention_rank(sc))
    return CaseloadRow(
        patient_pk=pk, chart=chart, first_name=first, last_name=last, therapist_id=tid,
        therapist_name=therapist, habit_adherence_pct=pct, habits_counted=counted,
        phq9_latest=phq9.latest if phq9 else None,
        phq9_change=phq9.change if phq9 else None,
        phq9_band=phq9.band if phq9 else None,
        **series,
    )


def tiles(rows: Iterable[CaseloadRow]) -> CaseloadTiles:
    """The counts at the top of the page, over the open series of ``rows``."""
    open_rows = [r for r in rows if r.series_status in OPEN_SERIES]
    return CaseloadTiles(
        active_series=len(open_rows),
        at_risk=sum(r.status == "at_risk" for r in open_rows),
        non_compliant=sum(r.status == "non_compliant" for r in open_rows),
        stalled=sum("stalled" in r.flags for r in open_rows),
        prep_due=sum("prep_due" in r.flags for r in open_rows),
    )


def filter_rows(rows: Iterable[CaseloadRow], *, statuses: Sequence[str] = (),
                flags: Sequence[str] = (), include_closed: bool = False,
                search: str = "") -> list[CaseloadRow]:
    """Rows that pass the page's filters, in their given (need) order.

    ``statuses`` and ``flags`` empty mean no filter; a row passes the flag
    filter when it carries any of them. ``search`` matches every word against
    the name or the chart number, ignoring case.
    """
    words = (search or "").lower().split()
    out = []
    for r in rows:
        if not include_closed and not r.is_open:
            continue
        if statuses and r.status not in statuses:
            continue
        if flags and not set(flags) & set(r.flags):
            continue
        haystack = f"{r.first_name} {r.last_name} {r.chart}".lower()
        if any(w not in haystack for w in words):
            continue
        out.append(r)
    return out
