"""Compliance page figures: hand-built cases, and a cross-check against the
rows of `python -m db report compliance` over a demo clinic."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from db.demo import generate_demo
from db.models import Infusion, Patient, TherapySession, TreatmentSeries
from db.protocol import compute_compliance
from db.queries import compliance as cq
from db.queries.periods import Period, period_for, previous_period
from db.reports import compliance_rows
from tests.compliance_fixtures import OCTOBER, TODAY, build_october_clinic

OCT = Period(*OCTOBER, "October 2026")
SEP = Period(date(2026, 9, 1), date(2026, 9, 30), "September 2026")


def _october_report(session, therapist_id=None):
    evaluated = OCT.evaluation_date(TODAY)
    prev_eval = SEP.evaluation_date(TODAY)
    rows = compute_compliance(session, evaluated, therapist_id=therapist_id)
    prev_rows = compute_compliance(session, prev_eval, therapist_id=therapist_id)
    return cq.period_report(session, OCT, SEP, rows, evaluated, prev_rows, prev_eval,
                            therapist_id=therapist_id)


def test_hand_built_october(session):
    staff = build_october_clinic(session)
    report = _october_report(session)
    assert report.evaluated_on == date(2026, 11, 1)
    f = report.figures
    assert (f.closed, f.compliant, f.non_compliant) == (3, 1, 2)
    assert f.compliance_rate == 33.3
    assert (f.prep_met, f.prep_rate) == (2, 66.7)
    assert (f.integration_attended, f.mean_integration) == (3, 1.0)
    assert (f.discontinued, f.at_risk, f.stalled, f.prep_due) == (1, 1, 1, 1)
    assert f.no_shows == cq.NoShowCounts(infusions_due=6, infusion_no_shows=1,
                                         sessions_due=7, session_no_shows=1)
    assert f.infusion_no_show_rate == 16.7
    assert f.session_no_show_rate == 14.3
    # September: C005 and C007 closed, both compliant.
    assert (report.previous.closed, report.previous.compliant) == (2, 2)

    tiles = {t.key: t for t in cq.summary_tiles(report.figures, report.previous)}
    assert tiles["compliance"].value == "33.3%"
    assert tiles["compliance"].detail == ("1 of 3 closed series compliant "
                                          "(1 discontinued, not counted)")
    assert tiles["compliance"].change == "-66.7 pts"
    assert tiles["compliance"].delta == -66.7

    by_name = {t.therapist_username: t.figures for t in report.by_therapist}
    assert set(by_name) == {"ana", "ben"}
    assert (by_name["ana"].closed, by_name["ana"].compliant) == (2, 1)
    assert (by_name["ben"].closed, by_name["ben"].compliant) == (1, 0)
    assert by_name["ben"].at_risk == 1 and by_name["ana"].stalled == 1
    assert by_name["ana"].no_shows.infusion_no_shows == 1
    assert by_name["ben"].no_shows.session_no_shows == 1

    charts = {e.patient_id: e for e in report.exceptions}
    # Non-compliant closed in October, at risk, stalled, preparation due; not
    # the compliant, the discontinued or September's compliant series.
    assert set(charts) == {"C002", "C003", "C004", "C007", "C008"}
    assert charts["C004"].why == "At risk"
    assert charts["C007"].why == "Stalled"
    assert charts["C008"].why == "Preparation due"
    assert charts["C002"].why == "Not compliant"
    assert "preparation" in charts["C002"].reason.lower()
    assert [e.patient_id for e in report.exceptions][:2] == ["C002", "C003"]

    only_ben = _october_report(session, therapist_id=staff["ben"].id)
    assert (only_ben.figures.closed, only_ben.figures.at_risk) == (1, 1)
    assert only_ben.figures.no_shows.infusions_due == 3
    assert [t.therapist_username for t in only_ben.by_therapist] == ["ben"]


def test_trend_counts_closed_series_per_month(session):
    build_october_clinic(session)
    rows = compute_compliance(session, TODAY)
    trend = cq.monthly_trend(rows, TODAY)
    assert len(trend) == 12 and trend[-1].month == date(2026, 11, 1)
    by_month = {p.month: (p.closed, p.compliant) for p in trend}
    assert by_month[date(2026, 9, 1)] == (2, 2)
    assert by_month[date(2026, 10, 1)] == (3, 1)
    # C004's window closed on 4 November without integration, C009's on 17 November.
    assert by_month[date(2026, 11, 1)] == (2, 0)
    assert trend[0].closed == 0 and trend[0].compliance_rate is None


def test_window_ending_today_is_still_open(session):
    build_october_clinic(session)
    # Judged on 17 October, C001's window (ends 17 Oct) has not closed yet.
    mid = Period(date(2026, 10, 1), date(2026, 10, 31), "October")
    rows = compute_compliance(session, date(2026, 10, 17))
    assert cq.figures(rows, mid, date(2026, 10, 17)).compliant == 0
    rows = compute_compliance(session, date(2026, 10, 18))
    assert cq.figures(rows, mid, date(2026, 10, 18)).compliant == 1


def _recompute_from_report(rows: list[dict], period: Period, evaluated: date) -> dict:
    """The rules of the page, written again straight from the report's rows."""
    begun = [r for r in rows if r["first_infusion"] is None or r["first_infusion"] <= period.end]
    closed = [r for r in rows if r["window_end"] is not None
              and period.start <= r["window_end"] <= period.end and r["window_end"] < evaluated
              and r["status"] in ("compliant", "non_compliant")]
    return {
        "closed": len(closed),
        "compliant": sum(r["status"] == "compliant" for r in closed),
        "prep_met": sum(r["preparation"] == "met" for r in closed),
        "integration": sum(r["integration_attended"] for r in closed),
        "at_risk": sum(r["status"] == "at_risk" for r in begun),
        "stalled": sum("stalled" in r["flags"] for r in begun),
        "prep_due": sum("prep_due" in r["flags"] for r in begun),
    }


@pytest.mark.slow
def test_demo_clinic_figures_match_report_compliance(session):
    today = date(2026, 11, 20)
    generate_demo(session, patients=80, seed=11, as_of=today)
    last_month = period_for("Last month", today)
    prev = previous_period(last_month)
    evaluated = last_month.evaluation_date(today)
    rows = compute_compliance(session, evaluated)
    report = cq.period_report(session, last_month, prev, rows, evaluated,
                              compute_compliance(session, prev.evaluation_date(today)),
                              prev.evaluation_date(today))
    expected = _recompute_from_report(compliance_rows(session, evaluated), last_month, evaluated)
    f = report.figures
    assert expected["closed"] > 0, "the demo clinic should close series every month"
    assert {"closed": f.closed, "compliant": f.compliant, "prep_met": f.prep_met,
            "integration": f.integration_attended, "at_risk": f.at_risk,
            "stalled": f.stalled, "prep_due": f.prep_due} == expected

    # Per therapist figures add up to the clinic's.
    assert sum(t.figures.closed for t in report.by_therapist) == f.closed
    assert sum(t.figures.compliant for t in report.by_therapist) == f.compliant
    assert sum(t.figures.no_shows.infusions_due for t in report.by_therapist) \
        == f.no_shows.infusions_due

    # Exceptions: exactly the report rows the rule names.
    report_rows = compliance_rows(session, evaluated)
    want = Counter(
        (r["patient_id"], r["series"]) for r in report_rows
        if (r["first_infusion"] is None or r["first_infusion"] <= last_month.end)
        and (r["status"] == "at_risk" or {"stalled", "prep_due"} & set(r["flags"])
        or (r["status"] == "non_compliant"
            and (r["window_end"] >= evaluated or r["window_end"] >= last_month.start))))
    assert Counter((e.patient_id, e.series_number) for e in report.exceptions) == want

    # Trend months from the rows of today's report.
    today_rows = compliance_rows(session, today)
    for point in cq.monthly_trend(compute_compliance(session, today), today):
        month = Period(point.month, period_for("This month", point.month).end, "")
        again = _recompute_from_report(today_rows, month, today)
        assert (point.closed, point.compliant) == (again["closed"], again["compliant"])

    # No-show counts against a plain walk over every appointment.
    start, end = cq.no_show_window(last_month, evaluated)
    inf = [st for d, st in session.execute(select(Infusion.date, Infusion.status))
           if start <= d <= end and st in ("completed", "no_show")]
    ses = [st for d, st in session.execute(select(TherapySession.date, TherapySession.status))
           if start <= d <= end and st in ("attended", "no_show")]
    assert f.no_shows == cq.NoShowCounts(len(inf), inf.count("no_show"),
                                         len(ses), ses.count("no_show"))


def test_no_shows_follow_the_patients_therapist(session):
    staff = build_october_clinic(session)
    counts = cq.no_show_counts(session, *OCTOBER)
    assert counts[staff["ana"].id].infusion_no_shows == 1
    assert counts[staff["ben"].id].sessions_due == 5
    assert cq.no_show_counts(session, date(2027, 1, 1), date(2027, 1, 31)) == {}


def test_therapist_options_lists_who_has_patients(session):
    staff = build_october_clinic(session)
    ids = [sid for sid, _ in cq.therapist_options(session)]
    assert sorted(ids) == sorted(s.id for s in staff.values())
    assert session.scalar(select(TreatmentSeries.id).limit(1)) is not None
    assert session.scalar(select(Patient.id).limit(1)) is not None


def test_tiles_say_no_change_and_dash_without_figures():
    empty = cq.ComplianceFigures(0, 0, 0, 0, 0, 0, 2, 0, 0)
    tiles = {t.key: t for t in cq.summary_tiles(empty, empty)}
    assert tiles["compliance"].value == "–" and tiles["compliance"].change is None
    assert (tiles["at_risk"].change, tiles["at_risk"].delta) == ("no change", 0)
    assert tiles["integration"].value == "–"
