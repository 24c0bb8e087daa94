"""db.queries.patient: access, search and the rows behind the record's charts."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from db.queries import patient as q
from tests.record_fixtures import AS_OF, add_long_history, build_clinic


@pytest.fixture
def clinic(session):
    return build_clinic(session)


def test_find_patient_exact_chart_only(session, clinic):
    ref = q.find_patient(session, "  KAP-AR ")
    assert ref is not None and ref.name == "Ari Risk" and ref.therapist_id == clinic.ther_a
    assert q.find_patient(session, "KAP-A") is None
    assert q.find_patient(session, "") is None


def test_can_view_own_patient_director_any_others_none(session, clinic):
    own = q.find_patient(session, "KAP-AR")
    other = q.find_patient(session, "KAP-B1")
    assert q.can_view(session, "therapist", clinic.ther_a, own)
    assert not q.can_view(session, "therapist", clinic.ther_a, other)
    assert q.can_view(session, "therapist", clinic.ther_b, other)
    assert q.can_view(session, "medical_director", clinic.director, other)
    for role in ("admin", "team_screen", "nobody"):
        assert not q.can_view(session, role, clinic.ther_a, own)
    assert not q.can_view(session, "medical_director", clinic.director, None)


def test_search_is_scoped_to_the_therapist(session, clinic):
    assert [r.chart for r in q.search_patients(session, "risk", therapist_id=clinic.ther_a)] == [
        "KAP-AR"]
    # Bea is ther_b's: ther_a's search never finds her, by name or chart number.
    assert q.search_patients(session, "bea", therapist_id=clinic.ther_a) == []
    assert q.search_patients(session, "kap-b1", therapist_id=clinic.ther_a) == []
    assert [r.chart for r in q.search_patients(session, "bea", therapist_id=None)] == ["KAP-B1"]
    # Every word must match, in the name or the chart number.
    assert [r.chart for r in q.search_patients(session, "ari kap-ar",
                                               therapist_id=clinic.ther_a)] == ["KAP-AR"]
    assert q.search_patients(session, "ari stall", therapist_id=clinic.ther_a) == []
    assert q.search_patients(session, "   ", therapist_id=None) == []


def test_search_treats_wildcards_as_text(session, clinic):
    assert q.search_patients(session, "%", therapist_id=None) == []
    assert q.search_patients(session, "_", therapist_id=None) == []
    assert len(q.search_patients(session, "kap", therapist_id=None, limit=3)) == 3


def test_header(session, clinic):
    h = q.patient_header(session, clinic.patients["KAP-AR"], AS_OF)
    assert (h.chart, h.name, h.therapist_name) == ("KAP-AR", "Ari Risk", "Alma Therapist")
    # Born 1980-06-18: the day before the 46th birthday.
    assert h.age == 45
    assert h.intentions.startswith("Sleep through the night")
    assert q.patient_header(session, 10**6, AS_OF) is None


def test_age_on_birthday_boundaries():
    assert q.age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25
    assert q.age_on(date(2000, 2, 29), date(2026, 3, 1)) == 26
    assert q.age_on(date(2000, 6, 17), date(2026, 6, 17)) == 26


def test_timeline_has_every_event_with_its_details(session, clinic):
    events = q.timeline_events(session, clinic.patients["KAP-AR"])
    kinds = [e.kind for e in events]
    assert kinds.count("infusion") == 6
    assert kinds.count("preparation") == 1 and kinds.count("integration") == 1
    assert events == sorted(events, key=lambda e: e.date)
    done = [e for e in events if e.kind == "infusion" and e.status == "completed"]
    assert all(e.dose_mg_per_kg == 0.5 and e.route == "IV" and e.series_number == 1
               for e in done)
    # Other patients' events never leak in.
    assert {e.date for e in events} <= {AS_OF + timedelta(days=o)
                                        for o in (-20, -15, -12, -9, -6, -5, 1, 4)}


def test_outcome_scores(session, clinic):
    pts = q.outcome_scores(session, clinic.patients["KAP-AR"], AS_OF)
    assert [(p.instrument, p.score) for p in pts] == [("GAD-7", 12), ("GAD-7", 4),
                                                       ("PHQ-9", 18), ("PHQ-9", 9)]
    assert q.outcome_scores(session, clinic.patients["KAP-NS"], AS_OF) == []
    # Scores after the as-of date are not read, as in the engine's summaries.
    assert len(q.outcome_scores(session, clinic.patients["KAP-AR"], AS_OF - timedelta(days=3))) == 2


def test_chart_window_is_whole_weeks_before_this_one():
    start, end = q.chart_window(AS_OF, 26)
    assert start.weekday() == 0 and end.weekday() == 6
    assert (end - start).days + 1 == 26 * 7
    assert end < AS_OF and (AS_OF - end).days <= 7


def test_long_history_timeline_stays_per_event(session, clinic):
    pk = add_long_history(session, clinic.ther_a)
    events = q.timeline_events(session, pk)
    # Five yearly series: 6 infusions, 1 preparation, 2 integrations each.
    assert len(events) == 5 * 9


def test_record_gathers_the_engine_s_figures(session, clinic):
    rec = q.patient_record(session, clinic.patients["KAP-AR"], AS_OF)
    assert rec.header.chart == "KAP-AR"
    assert [sc.series_number for sc in rec.series] == [1]
    assert rec.current.status == "at_risk" and rec.min_integration_sessions == 2
    assert [h.habit for h in rec.habits] == ["Walk"]
    assert rec.habits[0].adherence_pct == pytest.approx(66.7)
    # 26 complete weeks, one row each; the habit started 5 weeks back.
    assert len(rec.habit_weeks) == q.CHART_WEEKS
    assert sum(w.counted for w in rec.habit_weeks) == 5
    assert [w.done for w in rec.habit_weeks[-4:]] == [2, 2, 2, 2]
    assert rec.weeks_from.weekday() == 0 and rec.weeks_to.weekday() == 6
    # Calendar: every day to today; before the habit started it was not active.
    days = {c.date: c.state for c in rec.calendar}
    assert min(days) == rec.weeks_from and max(days) == AS_OF
    assert days[rec.habits[0].start_date - timedelta(days=1)] == "not active"
    assert sum(s == "done" for s in days.values()) == 8
    assert {(o.instrument, o.baseline, o.latest) for o in rec.outcomes} == {
        ("PHQ-9", 18, 9), ("GAD-7", 12, 4)}
    assert q.patient_record(session, 10**6, AS_OF) is None


def test_record_without_any_history(session, clinic):
    rec = q.patient_record(session, clinic.patients["KAP-NS"], AS_OF)
    assert rec.series == [] and rec.current is None
    assert rec.habits == [] and rec.habit_weeks == [] and rec.calendar == []
    assert rec.events == [] and rec.scores == [] and rec.outcomes == []


def test_chart_rows_do_not_grow_with_history(session, clinic):
    """Five years of daily logs send what a few weeks would: rows per week and
    per calendar day of the charted half-year only."""
    long_pk = add_long_history(session, clinic.ther_a)
    rec = q.patient_record(session, long_pk, AS_OF)
    assert len(rec.habits) == 2
    assert len(rec.habit_weeks) == 2 * q.CHART_WEEKS
    assert len(rec.calendar) == 2 * ((AS_OF - rec.weeks_from).days + 1)
    assert len(rec.calendar) <= 2 * 7 * (q.CHART_WEEKS + 1)
    short = q.patient_record(session, clinic.patients["KAP-AR"], AS_OF)
    assert len(rec.habit_weeks) / len(rec.habits) == len(short.habit_weeks) / len(short.habits)
    assert len(rec.calendar) / len(rec.habits) == len(short.calendar) / len(short.habits)
    # Meditate was done every day: the charted weeks all meet the target of 5.
    meditate = [w for w in rec.habit_weeks if w.habit == "Meditate"]
    assert all(w.counted and w.done == 5 and w.days == 7 for w in meditate)
