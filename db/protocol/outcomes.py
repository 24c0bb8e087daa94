"""Outcome measures: severity bands, baseline, response, remission, worsening.

Rules (see docs/protocol.md):

* Bands: PHQ-9 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe,
  20-27 severe; GAD-7 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe;
  PCL-5 has none (31 or more is the provisional PTSD cut-point).
* Baseline: the latest score on or before the first infusion of the patient's
  latest series (highest number); that series' first infusion is its earliest
  completed one or, before it starts, its earliest booked one. With no such
  infusion, or no score on or before it, the baseline is the first score.
* Response: latest <= baseline / 2 (a drop of at least 50%), needs a baseline
  above 0. Remission: PHQ-9 or GAD-7 latest below 5. Worsening (PHQ-9 only):
  latest - baseline >= 5.
* Only scores dated on or before the as-of date are read.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Infusion, OutcomeMeasure, Patient, TreatmentSeries
from .compliance import _chunks

INSTRUMENTS = ("PHQ-9", "GAD-7", "PCL-5")
PCL5_CUTPOINT = 31
REMISSION_BELOW = 5
WORSENING_POINTS = 5

# (lowest score, highest score, label), inclusive, for charts and severity_band.
BANDS: dict[str, tuple[tuple[int, int, str], ...]] = {
    "PHQ-9": ((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"),
              (15, 19, "moderately severe"), (20, 27, "severe")),
    "GAD-7": ((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")),
    "PCL-5": (),
}


def severity_band(instrument: str, score: int | None) -> str | None:
    if score is None:
        return None
    for low, high, label in BANDS.get(instrument, ()):
        if low <= score <= high:
            return label
    return None


def is_response(baseline: int, latest: int) -> bool:
    # Integers only: 2 x drop >= baseline is "a drop of at least 50%" with no rounding.
    return baseline > 0 and 2 * (baseline - latest) >= baseline


def is_remission(instrument: str, latest: int) -> bool:
    return instrument in ("PHQ-9", "GAD-7") and latest < REMISSION_BELOW


def is_worsening(instrument: str, baseline: int, latest: int) -> bool:
    return instrument == "PHQ-9" and latest - baseline >= WORSENING_POINTS


@dataclass(frozen=True)
class OutcomeSummary:
    patient_pk: int
    patient_id: str
    instrument: str
    baseline: int
    baseline_date: date
    latest: int
    latest_date: date
    change: int
    band: str | None
    response: bool
    remission: bool
    worsening: bool
    n_scores: int


def choose_baseline(scores: Sequence[tuple[date, int]], anchor: date | None) -> tuple[date, int]:
    """The baseline among ``scores`` sorted by date, given the latest series' first infusion."""
    if anchor is not None:
        before = [s for s in scores if s[0] <= anchor]
        if before:
            return before[-1]
    return scores[0]


def summarise(patient_pk: int, patient_id: str, instrument: str,
              scores: Sequence[tuple[date, int]], anchor: date | None) -> OutcomeSummary:
    scores = sorted(scores)
    base_date, base = choose_baseline(scores, anchor)
    latest_date, latest = scores[-1]
    return OutcomeSummary(
        patient_pk=patient_pk, patient_id=patient_id, instrument=instrument,
        baseline=base, baseline_date=base_date, latest=latest, latest_date=latest_date,
        change=latest - base, band=severity_band(instrument, latest),
        response=is_response(base, latest), remission=is_remission(instrument, latest),
        worsening=is_worsening(instrument, base, latest), n_scores=len(scores),
    )


def _anchors(session: Session, scope) -> dict[int, date]:
    """Patient pk -> first infusion of the latest series (completed, else booked)."""
    latest = scope(select(TreatmentSeries.patient_id, func.max(TreatmentSeries.number))
                   .join(Patient, Patient.id == TreatmentSeries.patient_id)
                   .group_by(TreatmentSeries.patient_id))
    latest_no = dict(session.execute(latest).all())
    firsts = scope(select(TreatmentSeries.patient_id, TreatmentSeries.number, Infusion.status,
                          func.min(Infusion.date))
                   .join(TreatmentSeries, TreatmentSeries.id == Infusion.series_id)
                   .join(Patient, Patient.id == TreatmentSeries.patient_id)
                   .where(Infusion.status.in_(("completed", "scheduled")))
                   .group_by(TreatmentSeries.patient_id, TreatmentSeries.number, Infusion.status))
    completed: dict[int, date] = {}
    booked: dict[int, date] = {}
    for pk, number, status, first in session.execute(firsts):
        if latest_no.get(pk) != number:
            continue
        (completed if status == "completed" else booked)[pk] = first
    return {pk: completed.get(pk, booked.get(pk)) for pk in latest_no
            if pk in completed or pk in booked}


def outcome_summaries(session: Session, as_of: date, *, therapist_id: int | None = None,
                      patient_ids: Sequence[int] | None = None) -> list[OutcomeSummary]:
    """One summary per patient and instrument with a score on or before as_of,
    ordered by chart number and instrument."""
    if patient_ids is not None:
        scopes = [lambda q, c=chunk: q.where(Patient.id.in_(c)) for chunk in _chunks(patient_ids)]
    elif therapist_id is not None:
        scopes = [lambda q: q.where(Patient.therapist_id == therapist_id)]
    else:
        scopes = [lambda q: q]
    scores: dict[tuple[int, str], list[tuple[date, int]]] = defaultdict(list)
    charts: dict[int, str] = {}
    anchors: dict[int, date] = {}
    for scope in scopes:
        q = scope(select(OutcomeMeasure.patient_id, Patient.patient_id, OutcomeMeasure.instrument,
                         OutcomeMeasure.date, OutcomeMeasure.score)
                  .join(Patient, Patient.id == OutcomeMeasure.patient_id)
                  .where(OutcomeMeasure.date <= as_of))
        for pk, chart, instrument, day, score in session.execute(q):
            scores[(pk, instrument)].append((day, score))
            charts[pk] = chart
        anchors.update(_anchors(session, scope))
    out = [summarise(pk, charts[pk], instrument, rows, anchors.get(pk))
           for (pk, instrument), rows in scores.items()]
    order = {name: i for i, name in enumerate(INSTRUMENTS)}
    out.sort(key=lambda o: (o.patient_id, order.get(o.instrument, 99), o.instrument))
    return out
