"""Outcome measures: bands, baseline choice, response, remission, worsening."""
from __future__ import annotations

from datetime import date

import pytest

from db.protocol import (
    BANDS,
    PCL5_CUTPOINT,
    choose_baseline,
    is_remission,
    is_response,
    is_worsening,
    outcome_summaries,
    severity_band,
)
from db.models import INSTRUMENT_MAX
from tests.protocol_builders import Clinic


def d(month_day: str) -> date:
    return date.fromisoformat(f"2026-{month_day}")


@pytest.mark.parametrize("instrument,score,band", [
    ("PHQ-9", 0, "minimal"), ("PHQ-9", 4, "minimal"), ("PHQ-9", 5, "mild"), ("PHQ-9", 9, "mild"),
    ("PHQ-9", 10, "moderate"), ("PHQ-9", 14, "moderate"), ("PHQ-9", 15, "moderately severe"),
    ("PHQ-9", 19, "moderately severe"), ("PHQ-9", 20, "severe"), ("PHQ-9", 27, "severe"),
    ("GAD-7", 4, "minimal"), ("GAD-7", 5, "mild"), ("GAD-7", 9, "mild"), ("GAD-7", 10, "moderate"),
    ("GAD-7", 14, "moderate"), ("GAD-7", 15, "severe"), ("GAD-7", 21, "severe"),
    ("PCL-5", 0, None), ("PCL-5", 31, None), ("PCL-5", 80, None), ("PHQ-9", None, None),
])
def test_severity_bands(instrument, score, band):
    assert severity_band(instrument, score) == band


def test_bands_cover_each_scale_without_gaps():
    for instrument, bands in BANDS.items():
        if not bands:
            continue
        assert bands[0][0] == 0 and bands[-1][1] == INSTRUMENT_MAX[instrument]
        for (_, high, _), (low, _, _) in zip(bands, bands[1:]):
            assert low == high + 1
    assert PCL5_CUTPOINT == 31 and BANDS["PCL-5"] == ()


@pytest.mark.parametrize("baseline,latest,response", [
    (20, 10, True), (20, 11, False), (15, 7, True), (15, 8, False), (1, 0, True),
    (0, 0, False), (10, 12, False), (10, 10, False),
])
def test_response_is_a_drop_of_half(baseline, latest, response):
    assert is_response(baseline, latest) is response


@pytest.mark.parametrize("instrument,latest,remission", [
    ("PHQ-9", 4, True), ("PHQ-9", 5, False), ("GAD-7", 4, True), ("GAD-7", 5, False),
    ("PCL-5", 0, False),
])
def test_remission_below_five(instrument, latest, remission):
    assert is_remission(instrument, latest) is remission


@pytest.mark.parametrize("instrument,baseline,latest,worse", [
    ("PHQ-9", 10, 15, True), ("PHQ-9", 10, 14, False), ("GAD-7", 5, 15, False),
    ("PCL-5", 10, 40, False),
])
def test_worsening_phq9_only(instrument, baseline, latest, worse):
    assert is_worsening(instrument, baseline, latest) is worse


SCORES = [(d("04-01"), 18), (d("04-28"), 16), (d("05-04"), 15), (d("05-20"), 7)]


@pytest.mark.parametrize("anchor,expected", [
    (d("05-04"), (d("05-04"), 15)),  # a score on the infusion day is on or before it
    (d("05-03"), (d("04-28"), 16)),
    (d("03-01"), (d("04-01"), 18)),  # nothing before: the first score
    (None, (d("04-01"), 18)),  # no series: the first score
])
def test_baseline_choice(anchor, expected):
    assert choose_baseline(SCORES, anchor) == expected


def test_summaries_from_the_database(session):
    clinic = Clinic(session)
    p = clinic.patient("P1")
    clinic.series(p, 1, infusions=[(d("02-02"), "completed")], status="completed")
    # The latest series: its first completed infusion, not its cancelled one, anchors.
    clinic.series(p, 2, kind="booster", infusions=[(d("05-01"), "cancelled"),
                                                   (d("05-05"), "completed")])
    clinic.scores(p, "PHQ-9", [(d("01-20"), 22), (d("04-28"), 16), (d("05-20"), 7),
                               (d("06-20"), 2)])
    clinic.scores(p, "GAD-7", [(d("05-10"), 12), (d("05-25"), 4)])
    clinic.scores(p, "PCL-5", [(d("04-01"), 50), (d("05-20"), 25)])
    q = clinic.patient("P2")  # not started: the booked first infusion anchors
    clinic.series(q, 1, infusions=[(d("06-10"), "scheduled")])
    clinic.scores(q, "PHQ-9", [(d("03-01"), 10), (d("05-30"), 16)])
    clinic.patient("P3")  # no scores: no rows
    session.commit()
    got = {(o.patient_id, o.instrument): o for o in outcome_summaries(session, d("06-01"))}
    assert list(got) == [("P1", "PHQ-9"), ("P1", "GAD-7"), ("P1", "PCL-5"), ("P2", "PHQ-9")]
    phq = got[("P1", "PHQ-9")]
    assert (phq.baseline, phq.baseline_date, phq.latest, phq.latest_date) == (
        16, d("04-28"), 7, d("05-20"))  # the June score is after as_of
    assert (phq.change, phq.band, phq.response, phq.remission, phq.worsening, phq.n_scores) == (
        -9, "mild", True, False, False, 3)
    gad = got[("P1", "GAD-7")]
    assert (gad.baseline, gad.latest, gad.band, gad.response, gad.remission) == (
        12, 4, "minimal", True, True)
    pcl = got[("P1", "PCL-5")]
    assert (pcl.baseline, pcl.latest, pcl.band, pcl.response, pcl.remission) == (
        50, 25, None, True, False)
    p2 = got[("P2", "PHQ-9")]
    assert (p2.baseline, p2.latest, p2.change, p2.worsening) == (16, 16, 0, False)
    # Scoped by patient: only P2.
    assert [o.patient_id for o in outcome_summaries(session, d("06-01"),
                                                    patient_ids=[q.id])] == ["P2"]


def test_worsening_from_the_database(session):
    clinic = Clinic(session)
    p = clinic.patient("P1")
    clinic.series(p, 1, infusions=[(d("05-05"), "completed")])
    clinic.scores(p, "PHQ-9", [(d("05-01"), 9), (d("05-20"), 14)])
    session.commit()
    [o] = outcome_summaries(session, d("06-01"), therapist_id=clinic.therapist.id)
    assert (o.change, o.worsening, o.band) == (5, True, "moderate")
