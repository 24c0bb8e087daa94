"""The team meeting screen's data: order, counts, and minimum-necessary fields."""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import pytest

from db.queries import team_meeting as tm
from db.queries.team_meeting import (
    AT_RISK,
    CLOSED_NON_COMPLIANT,
    HABIT_LOW,
    PHQ9_WORSE,
    PREP_DUE,
    STALLED,
    WIN_COMPLETED,
    WIN_HABIT,
    WIN_OUTCOME,
    team_meeting,
)
from tests.team_meeting_fixtures import AS_OF, build_team_clinic, d


@pytest.fixture
def clinic(session):
    return build_team_clinic(session)


def _strings(value) -> list[str]:
    """Every string reachable in a result, field by field."""
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_result_types_have_no_identifying_fields():
    allowed = {"topic", "kind", "initials", "code", "therapist", "progress", "reason", "detail"}
    for cls in (tm.DiscussionItem, tm.WinItem):
        assert {f.name for f in dataclasses.fields(cls)} <= allowed
    for cls in (tm.TeamMeeting, tm.Headline, tm.DayLoad):
        names = " ".join(f.name for f in dataclasses.fields(cls))
        assert not re.search(r"name|patient|chart|birth|dob|intention|pk\b", names)


def test_no_name_chart_number_or_intention_in_any_field(session, clinic):
    result = team_meeting(session, AS_OF)
    text = "\n".join(_strings(result))
    assert result.discussion and result.wins  # the check below must have something to read
    for _pk, _code, chart, first, last in clinic.patients.values():
        for word in (first, last, chart):
            assert not re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE), word
    assert "Secret intention" not in text
    assert "1979" not in text
    assert "Whitfield" not in text and "Park" not in text  # staff surnames too


def test_needs_discussion_in_the_issues_order(session, clinic):
    rows = team_meeting(session, AS_OF).discussion
    assert [(r.topic, r.code) for r in rows] == [
        (CLOSED_NON_COMPLIANT, clinic.code("closed")),
        (AT_RISK, clinic.code("risk")),
        (STALLED, clinic.code("stalled")),
        (PREP_DUE, clinic.code("prep")),
        (PHQ9_WORSE, clinic.code("phq")),
        (HABIT_LOW, clinic.code("habit_low")),
    ]
    by_code = {r.code: r for r in rows}
    closed = by_code[clinic.code("closed")]
    assert (closed.initials, closed.therapist, closed.progress) == ("M.O.", "Dana", "6 of 6")
    assert closed.reason == "Window closed Fri 20 Nov with 1 of 2 integration sessions"
    risk = by_code[clinic.code("risk")]
    # One row per patient: the worsening PHQ-9 is named, not listed again.
    assert (risk.therapist, risk.progress) == ("Lee", "2 of 4")
    assert risk.reason.startswith("0 of 2 integration sessions, 1 booked; window closes Tue 8 Dec")
    assert risk.reason.endswith("also phq-9 worse")
    assert by_code[clinic.code("stalled")].reason == "Last infusion Mon 26 Oct, none booked"
    assert by_code[clinic.code("prep")].progress == "0 of 6"
    assert by_code[clinic.code("phq")].reason == "PHQ-9 up from 9 to 15"
    assert by_code[clinic.code("habit_low")].progress == "2 of 2"
    assert by_code[clinic.code("habit_low")].reason == "A habit under 25% two weeks running"


def test_window_closed_more_than_a_week_ago_is_not_listed(session, clinic):
    codes = {r.code for r in team_meeting(session, AS_OF).discussion}
    assert clinic.code("old_closed") not in codes
    # A slipping habit of a patient discharged long ago is not raised either.
    assert clinic.code("habit_gone") not in codes
    # Seen from the day its window closed + 1, it is news.
    early = {r.code for r in team_meeting(session, d(-29)).discussion}
    assert clinic.code("old_closed") in early


def test_wins(session, clinic):
    wins = team_meeting(session, AS_OF).wins
    assert [(w.kind, w.code) for w in wins] == [
        (WIN_COMPLETED, clinic.code("done")),
        (WIN_OUTCOME, clinic.code("better")),
        (WIN_HABIT, clinic.code("habit_held")),
    ]
    assert wins[0].detail == "Series completed, 3 of 3 infusions"
    # One line per patient: PHQ-9 named first, the GAD-7 remission counted.
    assert wins[1].detail == "PHQ-9 20 to 4, remission (+1 more)"
    assert wins[2].detail == "Habit held 5 weeks running"
    assert clinic.code("held_gone") not in {w.code for w in wins}
    # Staying below the remission line from a baseline already below it is no win.
    assert clinic.code("was_fine") not in {w.code for w in wins}
    # A score from last month is no longer news.
    later = team_meeting(session, d(10)).wins
    assert clinic.code("better") not in {w.code for w in later if w.kind == WIN_OUTCOME}


def test_headline(session, clinic):
    h = team_meeting(session, AS_OF).headline
    assert h.active_series == 6
    # Windows closed in November: closed (non-compliant), stalled and closed_ok (compliant).
    assert h.closed_this_month == 3
    assert h.compliance_rate == pytest.approx(2 / 3)
    assert (h.at_risk, h.stalled) == (1, 1)
    # Mon 23 to Sun 29: Monday's completed infusion, Friday and Saturday bookings.
    assert h.infusions_this_week == 3
    # Tuesday attended, Thursday and Saturday booked; Sunday's cancelled one is not.
    assert h.sessions_this_week == 3
    assert h.completed_this_week == 1


def test_coming_week_per_day(session, clinic):
    result = team_meeting(session, AS_OF)
    assert [x.day for x in result.coming_week] == [d(i) for i in range(7)]
    assert [(x.infusions, x.sessions) for x in result.coming_week] == [
        (0, 0), (0, 1), (1, 0), (1, 1), (0, 0), (0, 0), (1, 0)]
    assert (result.week_start, result.week_end) == (d(-2), d(4))


def test_therapist_scope(session, clinic):
    result = team_meeting(session, AS_OF, therapist_id=clinic.lee)
    assert {r.therapist for r in result.discussion} == {"Lee"}
    assert {r.code for r in result.discussion} == {
        clinic.code("risk"), clinic.code("prep"), clinic.code("habit_low")}
    assert result.headline.infusions_this_week == 2
    assert sum(x.sessions for x in result.coming_week) == 2


def test_therapist_first_name_skips_titles():
    assert tm.first_name("Dr. Maya Lee") == "Maya"
    assert tm.first_name("Dr Maya") == "Maya"
    assert tm.first_name("Dr.") == "Dr."
    assert tm.first_name("  ") == "?"


def test_dates_far_from_today_carry_their_year():
    assert tm._day(d(-30), AS_OF) == "Mon 26 Oct"
    assert tm._day(d(-362), AS_OF) == "28 Nov 2025"
    assert tm._day(None, AS_OF) == "?"


def test_read_at_is_passed_through(session, clinic):
    when = datetime(2026, 11, 25, 9, 41)
    assert team_meeting(session, AS_OF, read_at=when).read_at == when


def test_empty_clinic(session):
    result = team_meeting(session, AS_OF)
    assert result.discussion == () and result.wins == ()
    assert result.headline.compliance_rate is None
    assert all(x.infusions == 0 and x.sessions == 0 for x in result.coming_week)
