"""ui.patient_view: the words and frames of a patient's record, from the engine's rows."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from db.protocol import OutcomeSummary
from db.queries.patient import patient_record
from tests.record_fixtures import AS_OF, add_long_history, build_clinic
from ui import patient_view as v


@pytest.fixture
def records(session):
    clinic = build_clinic(session)
    return {chart: patient_record(session, pk, AS_OF) for chart, pk in clinic.patients.items()}


def test_attendance_in_words(records):
    ar = v.attendance_lines(records["KAP-AR"].current, AS_OF)
    assert ar[0].startswith("**Preparation:** met, session on")
    assert "1 of 2 attended, none booked: 1 more to book and attend by" in ar[1]
    ot = v.attendance_lines(records["KAP-OT"].current, AS_OF)
    assert "the minimum is met if the booked sessions are attended by" in ot[1]
    st_ = v.attendance_lines(records["KAP-ST"].current, AS_OF)
    assert st_[1].endswith("the minimum is met.")
    di = v.attendance_lines(records["KAP-DI"].current, AS_OF)
    assert "2 short of the minimum; the window closed on" in di[1]
    pd_ = v.attendance_lines(records["KAP-PD"].current, AS_OF)
    assert pd_[0].startswith("**Preparation:** missing")
    assert "The window opens with the first infusion." in pd_[1]


def test_attendance_frame_adds_up_to_the_minimum(records):
    frame = v.attendance_frame(records["KAP-AR"].current)
    assert dict(zip(frame["Sessions"], frame["Count"])) == {"Attended": 1, "Booked": 0,
                                                            "Missing": 1}
    frame = v.attendance_frame(records["KAP-ST"].current)
    assert dict(zip(frame["Sessions"], frame["Count"])) == {"Attended": 2, "Booked": 0,
                                                            "Missing": 0}


def test_timeline_frame_and_windows(records):
    rec = records["KAP-AR"]
    events = v.timeline_frame(rec.events)
    assert len(events) == len(rec.events)
    assert set(events["Status"]) == {"Done", "Booked"}
    windows = v.windows_frame(rec.series)
    assert list(windows["Series"]) == ["Series 1"]
    assert windows["To"].iloc[0] == pd.Timestamp(rec.current.window_end)
    assert v.windows_frame(records["KAP-PD"].series).empty  # not started: no window


def test_time_domain_keeps_today_only_when_near(records, session):
    rec = records["KAP-AR"]
    events, windows = v.timeline_frame(rec.events), v.windows_frame(rec.series)
    start, end = v.time_domain(events, windows, AS_OF)
    assert start < events["Date"].min() and end > windows["To"].max()
    far = AS_OF + timedelta(days=v.TODAY_WITHIN_DAYS + 60)
    _, end_far = v.time_domain(events, windows, far)
    assert end_far < pd.Timestamp(far)
    assert v.time_domain(v.timeline_frame([]), v.windows_frame([]), AS_OF) is None


def _summary(**kw) -> OutcomeSummary:
    base = dict(patient_pk=1, patient_id="X", instrument="PHQ-9", baseline=18,
                baseline_date=date(2026, 6, 1), latest=9, latest_date=date(2026, 6, 15),
                change=-9, band="mild", response=True, remission=False, worsening=False,
                n_scores=2)
    return OutcomeSummary(**(base | kw))


def test_outcome_words():
    assert v.outcome_words(_summary()).endswith(
        "9 (mild) on Mon 15 Jun 2026: 9 points lower: **response** (50% or more lower).")
    assert "1 point higher" in v.outcome_words(
        _summary(latest=19, change=1, response=False, band="moderately severe"))
    worse = v.outcome_words(_summary(latest=23, change=5, response=False, worsening=True))
    assert "**worse by 5 points or more**" in worse
    assert v.outcome_words(_summary(n_scores=1)).startswith("one score so far: 9 (mild)")


def test_md_escape_keeps_text_literal():
    assert v.md_escape("a*b_c [d](e) $f$ #g") == r"a\*b\_c \[d\]\(e\) \$f\$ \#g"
    assert v.md_escape("line\nbreak\ttab") == "line break tab"


def test_habit_frames_are_bounded_for_years_of_logs(session):
    clinic = build_clinic(session)
    rec = patient_record(session, add_long_history(session, clinic.ther_a), AS_OF)
    weeks = v.habit_weeks_frame(rec.habit_weeks)
    calendar = v.calendar_frame(rec.calendar)
    assert len(weeks) == 2 * 26 and len(calendar) <= 2 * 27 * 7
    assert set(calendar["Day"]) == set(v.WEEKDAYS)
