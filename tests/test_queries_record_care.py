"""The Record care forms' read side, and that a save shows in it at once."""
from __future__ import annotations

from datetime import timedelta

from db.queries import record_care as q
from db.recording import (
    add_habit,
    add_measure,
    book_session,
    save_habit_week,
    set_session_status,
    start_series,
    week_of,
)
from db.models import Infusion
from tests.recording_fixtures import TODAY, day
from tests.recording_fixtures import clinic, pinned_today  # noqa: F401 (fixtures)


def test_caseload_options_are_the_therapists_own(session, clinic):
    assert [o.pk for o in q.caseload_options(session, clinic.ther_a.id)] == [clinic.pat_a]
    form = q.patient_form(session, clinic.pat_a)
    assert (form.chart, form.therapist_name, form.version) == ("C-1", "Ther A", 1)


def test_sessions_list_open_bookings_and_recent_ones(session, clinic):
    old = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(-59),
                       status="attended")
    book_session(session, clinic.ther_a, clinic.pat_a, kind="preparation", on=day(3))
    items = q.patient_sessions(session, clinic.pat_a, TODAY)
    assert [(i.date, i.status) for i in items] == [(day(-59), "attended"), (day(3), "scheduled")]
    assert q.patient_sessions(session, clinic.pat_a, TODAY + timedelta(days=5))[0].id != old.id


def test_minimum_count_moves_when_a_session_is_attended(session, clinic):
    assert q.minimum_count(session, clinic.pat_a, TODAY) is None
    series = start_series(session, clinic.ther_a, clinic.pat_a)
    session.add(Infusion(series_id=series.id, date=day(-3), status="completed",
                         dose_mg_per_kg=0.5, route="IV"))
    session.commit()
    integ = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(-1),
                         status="cancelled")
    before = q.minimum_count(session, clinic.pat_a, TODAY)
    assert (before.attended, before.required) == (0, 2)
    set_session_status(session, clinic.ther_a, integ.id, "attended", integ.version)
    after = q.minimum_count(session, clinic.pat_a, TODAY)
    assert after.attended == 1 and after.text.startswith("1 of 2 integration sessions")


def test_habit_week_grid_and_scores(session, clinic):
    h = add_habit(session, clinic.ther_a, clinic.pat_a, name="Walk", target_per_week=3,
                  start_date=day(-30))
    monday = week_of(TODAY)
    save_habit_week(session, clinic.ther_a, clinic.pat_a, monday, {h.id: {monday}},
                    {h.id: h.version})
    grid = q.habit_week(session, clinic.pat_a, TODAY)
    assert grid.week_start == monday and len(grid.days) == 7
    [row] = grid.rows
    assert row.done == {monday} and row.version == h.version + 1
    assert q.habit_week(session, clinic.pat_a, day(-60)).rows == ()
    add_measure(session, clinic.ther_a, clinic.pat_a, instrument="GAD-7", on=TODAY, score=4)
    assert [(s.instrument, s.score) for s in q.recent_scores(session, clinic.pat_a)] == [("GAD-7", 4)]
