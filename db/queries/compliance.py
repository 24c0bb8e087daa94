"""The medical director's compliance figures: a period's rates, per therapist,
a monthly trend and the exceptions to act on.

Every status and flag comes from ``db.protocol.compute_compliance``; this
module only counts its rows. A series is *closed in a period* when its
window_end falls within the period and before the period's evaluation date
(the window has ended: the engine's "as-of date after window_end"). Only the
no-show rates need SQL of their own: the engine never reads cancelled or
no-show rows.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Infusion, Patient, Staff, TherapySession, TreatmentSeries
from ..protocol import (
    FLAG_LABELS,
    STALLED_AFTER_DAYS,
    STATUS_LABELS,
    SeriesCompliance,
    attention_rank,
    percent,
)
from .periods import Period, last_months

# The engine's statuses that settle a series for the compliance rate.
SETTLED = ("compliant", "non_compliant")
EXCEPTION_FLAGS = ("stalled", "prep_due")


@dataclass(frozen=True)
class NoShowCounts:
    """Appointments that were due (kept or missed) and those missed.

    Cancelled ones were called off in advance and past ones still marked
    scheduled were never recorded: neither is a no-show nor a kept visit.
    """

    infusions_due: int = 0
    infusion_no_shows: int = 0
    sessions_due: int = 0
    session_no_shows: int = 0

    def __add__(self, other: NoShowCounts) -> NoShowCounts:
        return NoShowCounts(self.infusions_due + other.infusions_due,
                            self.infusion_no_shows + other.infusion_no_shows,
                            self.sessions_due + other.sessions_due,
                            self.session_no_shows + other.session_no_shows)


@dataclass(frozen=True)
class ComplianceFigures:
    closed: int  # compliant + non_compliant series whose window ended in the period
    compliant: int
    non_compliant: int
    prep_met: int  # closed series whose preparation was met before the first infusion
    integration_attended: int  # summed over closed series
    discontinued: int  # discontinued series whose window ended in the period
    at_risk: int  # open series at risk on the evaluation date
    stalled: int
    prep_due: int
    no_shows: NoShowCounts = field(default_factory=NoShowCounts)

    @property
    def compliance_rate(self) -> float | None:
        return percent(self.compliant, self.closed)

    @property
    def prep_rate(self) -> float | None:
        return percent(self.prep_met, self.closed)

    @property
    def mean_integration(self) -> float | None:
        return round(self.integration_attended / self.closed, 2) if self.closed else None

    @property
    def infusion_no_show_rate(self) -> float | None:
        return percent(self.no_shows.infusion_no_shows, self.no_shows.infusions_due)

    @property
    def session_no_show_rate(self) -> float | None:
        return percent(self.no_shows.session_no_shows, self.no_shows.sessions_due)


@dataclass(frozen=True)
class TherapistFigures:
    therapist_id: int
    therapist_username: str
    therapist_name: str
    figures: ComplianceFigures


@dataclass(frozen=True)
class TrendPoint:
    month: date  # first day of the month
    label: str
    closed: int
    compliant: int

    @property
    def compliance_rate(self) -> float | None:
        return percent(self.compliant, self.closed)


@dataclass(frozen=True)
class ExceptionRow:
    series_id: int
    patient_pk: int
    patient_id: str
    series_number: int
    kind: str
    therapist_id: int
    therapist_username: str
    status: str
    status_label: str
    flags: tuple[str, ...]
    why: str  # the exceptions this series counts under, in words
    reason: str  # the engine's reason
    first_infusion: date | None
    last_infusion: date | None
    next_infusion: date | None
    window_end: date | None
    preparation: str
    integration_attended: int
    integration_required: int


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    evaluated_on: date
    figures: ComplianceFigures
    previous_period: Period
    previous: ComplianceFigures
    by_therapist: list[TherapistFigures]
    exceptions: list[ExceptionRow]


def closed_in(sc: SeriesCompliance, period: Period, evaluated_on: date) -> bool:
    """Whether the series' window ended within the period (and before its evaluation)."""
    return (sc.window_end is not None and period.start <= sc.window_end <= period.end
            and sc.window_end < evaluated_on)


def began_after(sc: SeriesCompliance, period: Period) -> bool:
    """Whether the series' first infusion came after the period.

    The engine reads every recorded event whatever the as-of date, so a past
    period judged today would otherwise count a series that had not begun.
    """
    return sc.first_infusion is not None and sc.first_infusion > period.end


def figures(rows: Iterable[SeriesCompliance], period: Period, evaluated_on: date,
            no_shows: NoShowCounts | None = None) -> ComplianceFigures:
    """The period's figures from engine rows computed as of ``evaluated_on``."""
    closed = compliant = non_compliant = prep_met = attended = discontinued = 0
    at_risk = stalled = prep_due = 0
    for sc in rows:
        if closed_in(sc, period, evaluated_on):
            if sc.status in SETTLED:
                closed += 1
                compliant += sc.status == "compliant"
                non_compliant += sc.status == "non_compliant"
                prep_met += sc.preparation == "met"
                attended += sc.integration_attended
            elif sc.status == "discontinued":
                discontinued += 1
        if began_after(sc, period):
            continue
        at_risk += sc.status == "at_risk"
        stalled += "stalled" in sc.flags
        prep_due += "prep_due" in sc.flags
    return ComplianceFigures(closed, compliant, non_compliant, prep_met, attended, discontinued,
                             at_risk, stalled, prep_due, no_shows or NoShowCounts())


def is_exception(sc: SeriesCompliance, period: Period, evaluated_on: date) -> bool:
    """Non-compliant series closed in the period or still open, and every series
    at risk, stalled or with preparation due on the evaluation date; never one
    that began after the period."""
    if began_after(sc, period):
        return False
    if sc.status == "at_risk" or any(f in sc.flags for f in EXCEPTION_FLAGS):
        return True
    if sc.status == "non_compliant":
        still_open = sc.window_end is None or sc.window_end >= evaluated_on
        return still_open or closed_in(sc, period, evaluated_on)
    return False


def _why(sc: SeriesCompliance) -> str:
    parts = [STATUS_LABELS[sc.status]] if sc.status in ("non_compliant", "at_risk") else []
    parts += [FLAG_LABELS[f] for f in sc.flags if f in EXCEPTION_FLAGS]
    return ", ".join(parts)


def exceptions(rows: Iterable[SeriesCompliance], period: Period,
               evaluated_on: date) -> list[ExceptionRow]:
    """The series to act on, most urgent first (the engine's attention order)."""
    picked = sorted((sc for sc in rows if is_exception(sc, period, evaluated_on)),
                    key=attention_rank)
    return [ExceptionRow(
        series_id=sc.series_id, patient_pk=sc.patient_pk, patient_id=sc.patient_id,
        series_number=sc.series_number, kind=sc.kind, therapist_id=sc.therapist_id,
        therapist_username=sc.therapist_username, status=sc.status,
        status_label=STATUS_LABELS[sc.status], flags=sc.flags, why=_why(sc), reason=sc.reason,
        first_infusion=sc.first_infusion, last_infusion=sc.last_infusion,
        next_infusion=sc.next_infusion, window_end=sc.window_end, preparation=sc.preparation,
        integration_attended=sc.integration_attended,
        integration_required=sc.integration_required,
    ) for sc in picked]


def monthly_trend(rows: Sequence[SeriesCompliance], as_of: date,
                  months: int = 12) -> list[TrendPoint]:
    """Closed series and compliant ones per calendar month, the last ``months``
    months up to ``as_of``'s, from rows computed as of ``as_of``.

    A closed series' status no longer depends on the as-of date (its window is
    over), so one computation serves every month.
    """
    periods = last_months(as_of, months)
    first, last = periods[0].start, periods[-1].end
    counts: dict[date, list[int]] = {p.start: [0, 0] for p in periods}
    for sc in rows:
        end = sc.window_end
        if (end is None or not first <= end <= last or end >= as_of
                or sc.status not in SETTLED):
            continue
        bucket = counts[end.replace(day=1)]
        bucket[0] += 1
        bucket[1] += sc.status == "compliant"
    return [TrendPoint(p.start, p.label, *counts[p.start]) for p in periods]


def _due_and_missed(rows: Iterable[tuple[int, str, int]], missed: str) -> dict[int, tuple[int, int]]:
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for therapist_id, status, n in rows:
        out[therapist_id][0] += n
        if status == missed:
            out[therapist_id][1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


def no_show_counts(session: Session, start: date, end: date, *,
                   therapist_id: int | None = None) -> dict[int, NoShowCounts]:
    """Infusions and therapy sessions due between ``start`` and ``end`` (inclusive)
    and those missed, per the patient's primary therapist: two grouped queries."""
    inf_q = (select(Patient.therapist_id, Infusion.status, func.count())
             .join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
             .join(Patient, Patient.id == TreatmentSeries.patient_id)
             .where(Infusion.date >= start, Infusion.date <= end,
                    Infusion.status.in_(("completed", "no_show")))
             .group_by(Patient.therapist_id, Infusion.status))
    ses_q = (select(Patient.therapist_id, TherapySession.status, func.count())
             .join(Patient, Patient.id == TherapySession.patient_id)
             .where(TherapySession.date >= start, TherapySession.date <= end,
                    TherapySession.status.in_(("attended", "no_show")))
             .group_by(Patient.therapist_id, TherapySession.status))
    if therapist_id is not None:
        inf_q = inf_q.where(Patient.therapist_id == therapist_id)
        ses_q = ses_q.where(Patient.therapist_id == therapist_id)
    infusions = _due_and_missed(session.execute(inf_q), "no_show")
    sessions = _due_and_missed(session.execute(ses_q), "no_show")
    return {tid: NoShowCounts(*infusions.get(tid, (0, 0)), *sessions.get(tid, (0, 0)))
            for tid in infusions.keys() | sessions.keys()}


def no_show_window(period: Period, evaluated_on: date) -> tuple[date, date]:
    """Appointments counted for a period: within it, and not after its evaluation date."""
    return period.start, min(period.end, evaluated_on)


def therapist_names(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Staff id -> (username, full name) for the ids given."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(Staff.id, Staff.username, Staff.full_name)
                           .where(Staff.id.in_(wanted)))
    return {sid: (username, name) for sid, username, name in rows}


def therapist_options(session: Session) -> list[tuple[int, str]]:
    """Staff who are primary therapist to at least one patient: (id, full name)."""
    q = (select(Staff.id, Staff.full_name)
         .where(Staff.id.in_(select(Patient.therapist_id).distinct()))
         .order_by(Staff.full_name))
    return [(sid, name) for sid, name in session.execute(q)]


def by_therapist(session: Session, rows: Sequence[SeriesCompliance], period: Period,
                 evaluated_on: date, no_shows: dict[int, NoShowCounts]) -> list[TherapistFigures]:
    """The period's figures per primary therapist, ordered by name."""
    grouped: dict[int, list[SeriesCompliance]] = defaultdict(list)
    for sc in rows:
        grouped[sc.therapist_id].append(sc)
    ids = grouped.keys() | no_shows.keys()
    names = therapist_names(session, ids)
    out = [TherapistFigures(tid, names.get(tid, ("?", "?"))[0], names.get(tid, ("?", "?"))[1],
                            figures(grouped.get(tid, ()), period, evaluated_on,
                                    no_shows.get(tid, NoShowCounts())))
           for tid in ids]
    return sorted(out, key=lambda t: (t.therapist_name.lower(), t.therapist_id))


def period_report(session: Session, period: Period, previous: Period,
                  rows: Sequence[SeriesCompliance], evaluated_on: date,
                  previous_rows: Sequence[SeriesCompliance], previous_evaluated_on: date,
                  *, therapist_id: int | None = None) -> PeriodReport:
    """Everything the compliance page and its PDF show for one period.

    ``rows`` must come from ``compute_compliance`` as of ``evaluated_on``
    (``period.evaluation_date(today)``), ``previous_rows`` as of
    ``previous_evaluated_on``, both scoped like ``therapist_id``.
    """
    shows = no_show_counts(session, *no_show_window(period, evaluated_on),
                           therapist_id=therapist_id)
    prev_shows = no_show_counts(session, *no_show_window(previous, previous_evaluated_on),
                                therapist_id=therapist_id)
    return PeriodReport(
        period=period,
        evaluated_on=evaluated_on,
        figures=figures(rows, period, evaluated_on, sum(shows.values(), NoShowCounts())),
        previous_period=previous,
        previous=figures(previous_rows, previous, previous_evaluated_on,
                         sum(prev_shows.values(), NoShowCounts())),
        by_therapist=by_therapist(session, rows, period, evaluated_on, shows),
        exceptions=exceptions(rows, period, evaluated_on),
    )


@dataclass(frozen=True)
class Tile:
    """One headline figure as the page and the PDF both print it."""

    key: str
    label: str
    value: str
    detail: str  # the count behind the figure
    change: str | None  # against the previous period, in words; None when not comparable
    delta: float | None  # the same change as a number (percentage points, sessions, series)
    higher_is_better: bool


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _change(now: float | None, before: float | None, unit: str,
            digits: int = 1) -> tuple[str | None, float | None]:
    if now is None or before is None:
        return None, None
    delta = round(now - before, digits)
    if delta == 0:
        return "no change", 0
    sign = "+" if delta > 0 else ""
    return f"{sign}{delta:.{digits}f}{unit}", delta


def summary_tiles(now: ComplianceFigures, before: ComplianceFigures) -> list[Tile]:
    """The headline figures of a period against the previous one."""
    tiles: list[Tile] = []

    def add(key: str, label: str, value: str, detail: str, change: tuple[str | None, float | None],
            higher_is_better: bool) -> None:
        tiles.append(Tile(key, label, value, detail, change[0], change[1], higher_is_better))

    add("compliance", "Compliance rate", _pct(now.compliance_rate),
        f"{now.compliant} of {now.closed} closed series compliant"
        + (f" ({now.discontinued} discontinued, not counted)" if now.discontinued else ""),
        _change(now.compliance_rate, before.compliance_rate, " pts"), True)
    add("preparation", "Preparation first", _pct(now.prep_rate),
        f"{now.prep_met} of {now.closed} closed series prepared before the first infusion",
        _change(now.prep_rate, before.prep_rate, " pts"), True)
    mean = now.mean_integration
    add("integration", "Integration per series",
        "–" if mean is None else f"{mean:.1f}",
        f"{now.integration_attended} sessions attended over {now.closed} closed series",
        _change(mean, before.mean_integration, ""), True)
    add("at_risk", "Open series at risk", str(now.at_risk), "open series behind on integration at the end of the period",
        _change(now.at_risk, before.at_risk, "", 0), False)
    add("stalled", "Stalled series", str(now.stalled), f"no infusion in {STALLED_AFTER_DAYS} days, none booked",
        _change(now.stalled, before.stalled, "", 0), False)
    add("infusion_no_show", "Infusion no-show rate", _pct(now.infusion_no_show_rate),
        f"{now.no_shows.infusion_no_shows} of {now.no_shows.infusions_due} infusions due",
        _change(now.infusion_no_show_rate, before.infusion_no_show_rate, " pts"), False)
    add("session_no_show", "Session no-show rate", _pct(now.session_no_show_rate),
        f"{now.no_shows.session_no_shows} of {now.no_shows.sessions_due} therapy sessions due",
        _change(now.session_no_show_rate, before.session_no_show_rate, " pts"), False)
    return tiles
