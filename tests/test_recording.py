"""Recording care: validation messages, access, audit, concurrency, atomicity."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from db import audit as audit_module
from db.engine import session_factory
from db.models import (
    AuditEvent,
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    TherapySession,
    TreatmentSeries,
)
from db.recording import (
    AccessDenied,
    RecordChanged,
    ValidationError,
    add_habit,
    add_measure,
    add_patient,
    book_infusion,
    book_session,
    discontinue_series,
    end_habit,
    reassign_therapist,
    save_habit_week,
    schedule_series_infusions,
    series_dates,
    set_infusion_status,
    set_session_status,
    start_series,
    update_patient,
    week_of,
)
from db.recording.patients import CHART_UNUSABLE
from tests.recording_fixtures import INTAKE, TODAY, day
from tests.recording_fixtures import clinic, pinned_today  # noqa: F401 (fixtures)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def events(session, action):
    return [json.loads(e.detail) | {"_actor": e.actor, "_ref": e.patient_ref}
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def field_errors(call) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.errors


# --- sessions -------------------------------------------------------------------------

def test_book_session_saves_and_audits_after_values(session, clinic):
    saved = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(2))
    row = session.get(TherapySession, saved.id)
    assert (row.status, row.therapist_id, row.date) == ("scheduled", clinic.ther_a.id, day(2))
    [ev] = events(session, "session.book")
    assert ev["_actor"] == "ther_a" and ev["_ref"] == "C-1"
    assert ev["before"] is None and ev["after"]["kind"] == "integration"


@pytest.mark.parametrize("kwargs, field, words", [
    (dict(kind="integration", on=INTAKE - timedelta(days=1), status="attended"), "date",
     "before this patient's intake"),
    (dict(kind="integration", on=day(1), status="attended"), "date", "is in the future"),
    (dict(kind="integration", on=day(-1)), "date", "is in the past"),
    (dict(kind="massage", on=day(1)), "kind", "preparation or integration"),
    (dict(kind="integration", on=day(1), duration_minutes=0), "duration_minutes", "1 and 600"),
])
def test_book_session_field_messages(session, clinic, kwargs, field, words):
    errors = field_errors(lambda: book_session(session, clinic.ther_a, clinic.pat_a, **kwargs))
    assert words in errors[field]
    assert count(session, TherapySession) == 0


def test_duplicate_booking_is_a_date_message(session, clinic):
    book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(2))
    errors = field_errors(lambda: book_session(session, clinic.ther_a, clinic.pat_a,
                                               kind="integration", on=day(2)))
    assert "already has an integration session" in errors["date"]
    # Another kind the same day is a different booking.
    book_session(session, clinic.ther_a, clinic.pat_a, kind="preparation", on=day(2))
    assert count(session, TherapySession) == 2


def test_therapist_cannot_touch_another_caseload_and_the_refusal_is_audited(session, clinic):
    with pytest.raises(AccessDenied):
        book_session(session, clinic.ther_a, clinic.pat_b, kind="integration", on=day(2))
    assert count(session, TherapySession) == 0
    [ev] = events(session, "record.refused")
    assert ev["_actor"] == "ther_a" and ev["_ref"] == "C-2"
    with pytest.raises(AccessDenied):
        book_session(session, clinic.admin, clinic.pat_a, kind="integration", on=day(2))


def test_director_books_for_any_patient_under_the_primary_therapist(session, clinic):
    saved = book_session(session, clinic.director, clinic.pat_b, kind="preparation", on=day(1))
    assert session.get(TherapySession, saved.id).therapist_id == clinic.ther_b.id


def test_set_session_status(session, clinic):
    past = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(-3),
                        status="cancelled")
    future = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(3))
    errors = field_errors(lambda: set_session_status(session, clinic.ther_a, future.id,
                                                     "attended", future.version))
    assert "is in the future" in errors["status"]
    assert session.get(TherapySession, future.id, populate_existing=True).status == "scheduled"
    # Cancelling ahead of time is fine.
    set_session_status(session, clinic.ther_a, future.id, "cancelled", future.version)
    saved = set_session_status(session, clinic.ther_a, past.id, "attended", past.version,
                               duration_minutes=50)
    row = session.get(TherapySession, past.id, populate_existing=True)
    assert (row.status, row.duration_minutes, saved.version) == ("attended", 50, past.version + 1)
    ev = [e for e in events(session, "session.status") if e["session_id"] == past.id][0]
    assert ev["before"]["status"] == "cancelled" and ev["after"]["status"] == "attended"


# --- two people, one record -----------------------------------------------------------

def test_second_save_from_a_stale_form_gets_record_changed(engine, clinic):
    factory = session_factory(engine)
    with factory() as s:
        booked = book_session(s, clinic.ther_a, clinic.pat_a, kind="integration", on=day(-1),
                              status="cancelled")
    with factory() as first, factory() as second:
        # Both forms were loaded at the same version.
        set_session_status(first, clinic.ther_a, booked.id, "attended", booked.version)
        with pytest.raises(RecordChanged) as info:
            set_session_status(second, clinic.director, booked.id, "no_show", booked.version)
    assert info.value.current["status"] == "attended"
    with factory() as s:
        assert s.get(TherapySession, booked.id).status == "attended"
        assert len(events(s, "session.status")) == 1


def test_concurrent_save_caught_at_the_update_itself(engine, clinic):
    """The other save lands between our read and our UPDATE: the version check in
    the UPDATE refuses, nothing is overwritten, the fresh values come back."""
    factory = session_factory(engine)
    with factory() as s:
        version = s.get(Patient, clinic.pat_a).version
    with factory() as mine:
        fired = []

        @event.listens_for(mine, "before_flush")
        def other_user_saves(*_):
            if not fired:
                fired.append(True)
                with factory() as theirs:
                    update_patient(theirs, clinic.director, clinic.pat_a, version,
                                   first_name="Theirs", last_name="Test",
                                   date_of_birth=INTAKE.replace(year=1980), intake_date=INTAKE,
                                   intentions="their words")

        with pytest.raises(RecordChanged) as info:
            update_patient(mine, clinic.ther_a, clinic.pat_a, version, first_name="Mine",
                           last_name="Test", date_of_birth=INTAKE.replace(year=1980),
                           intake_date=INTAKE, intentions="my words")
    assert fired
    assert info.value.current["first_name"] == "Theirs"
    with factory() as s:
        row = s.get(Patient, clinic.pat_a)
        assert (row.first_name, row.intentions) == ("Theirs", "their words")
        assert [e["after"]["first_name"] for e in events(s, "patient.update")] == ["Theirs"]


def test_two_habit_grids_of_the_same_week(engine, clinic):
    factory = session_factory(engine)
    with factory() as s:
        h = add_habit(s, clinic.ther_a, clinic.pat_a, name="Walk", target_per_week=3,
                      start_date=day(-30))
    monday = week_of(TODAY)
    with factory() as first, factory() as second:
        save_habit_week(first, clinic.ther_a, clinic.pat_a, monday, {h.id: {monday}},
                        {h.id: h.version})
        with pytest.raises(RecordChanged) as info:
            save_habit_week(second, clinic.director, clinic.pat_a, monday,
                            {h.id: {monday + timedelta(days=1)}}, {h.id: h.version})
    assert info.value.current == {"Walk": f"Mon {monday.day}"}
    with factory() as s:
        logs = s.execute(select(HabitLog.date, HabitLog.completed)).all()
        assert logs == [(monday, True)]


# --- nothing half-saved ----------------------------------------------------------------

def test_a_failure_after_the_rows_are_written_leaves_nothing(session, clinic, monkeypatch):
    series = start_series(session, clinic.ther_a, clinic.pat_a)
    audits_before = count(session, AuditEvent)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_module, "record", broken)
    with pytest.raises(RuntimeError):
        schedule_series_infusions(session, clinic.ther_a, series.id, start=day(5), weeks=2)
    monkeypatch.undo()
    assert count(session, Infusion) == 0
    assert count(session, AuditEvent) == audits_before


# --- infusions and series --------------------------------------------------------------

def test_series_dates_patterns():
    monday = week_of(TODAY) + timedelta(days=7)
    two = series_dates(monday, 6, 2, set())
    assert [d.strftime("%a") for d in two] == ["Mon", "Wed", "Fri"] * 2
    three = series_dates(monday, 6, 3, set())
    assert [d.strftime("%a") for d in three] == ["Mon", "Thu"] * 3
    assert three[-1] - three[0] == timedelta(days=17)
    skipped = series_dates(monday, 3, 1, {monday + timedelta(days=2)})
    assert skipped == [monday, monday + timedelta(days=4), monday + timedelta(days=7)]


def test_schedule_series_books_what_is_missing_and_skips_booked_days(session, clinic):
    series = start_series(session, clinic.ther_a, clinic.pat_a)
    monday = week_of(TODAY) + timedelta(days=7)
    book_infusion(session, clinic.ther_a, series.id, on=monday)
    dates = schedule_series_infusions(session, clinic.ther_a, series.id, start=monday, weeks=2)
    assert len(dates) == 5 and monday not in dates
    assert count(session, Infusion) == 6
    errors = field_errors(lambda: schedule_series_infusions(session, clinic.ther_a, series.id,
                                                            start=monday))
    assert "already has all its planned infusions" in errors["count"]
    errors = field_errors(lambda: book_infusion(session, clinic.ther_a, series.id, on=monday))
    assert "already has an infusion" in errors["date"]
    errors = field_errors(lambda: schedule_series_infusions(session, clinic.ther_a, series.id,
                                                            start=day(-1), count=1))
    assert "is in the past" in errors["start"]


def test_start_series_numbers_and_default_plan(session, clinic):
    first = start_series(session, clinic.ther_a, clinic.pat_a)
    second = start_series(session, clinic.ther_a, clinic.pat_a, kind="booster",
                          planned_infusions=3)
    rows = {r.id: r for r in session.scalars(select(TreatmentSeries))}
    assert (rows[first.id].number, rows[first.id].planned_infusions) == (1, 6)
    assert (rows[second.id].number, rows[second.id].kind) == (2, "booster")
    errors = field_errors(lambda: start_series(session, clinic.ther_a, clinic.pat_a,
                                               kind="maintenance", planned_infusions=31))
    assert set(errors) == {"kind", "planned_infusions"}


def _series_with(session, clinic, offsets):
    series = start_series(session, clinic.ther_a, clinic.pat_a)
    rows = [Infusion(series_id=series.id, date=day(o), status="scheduled") for o in offsets]
    session.add_all(rows)
    session.commit()
    return series, rows


@pytest.mark.parametrize("kwargs, field, words", [
    (dict(dose_mg_per_kg=None, route="IV"), "dose_mg_per_kg", "more than 0 and at most 5"),
    (dict(dose_mg_per_kg=0.0, route="IV"), "dose_mg_per_kg", "more than 0"),
    (dict(dose_mg_per_kg=5.5, route="IV"), "dose_mg_per_kg", "at most 5"),
    (dict(dose_mg_per_kg=0.5, route=None), "route", "IV, IM, SL, IN"),
])
def test_completed_infusion_needs_dose_and_route(session, clinic, kwargs, field, words):
    _, [inf] = _series_with(session, clinic, [-1])
    errors = field_errors(lambda: set_infusion_status(session, clinic.ther_a, inf.id,
                                                      "completed", inf.version, **kwargs))
    assert words in errors[field]
    assert session.get(Infusion, inf.id, populate_existing=True).status == "scheduled"


def test_infusion_outcomes(session, clinic):
    _, [past, future] = _series_with(session, clinic, [-1, 2])
    errors = field_errors(lambda: set_infusion_status(session, clinic.ther_a, future.id,
                                                      "completed", future.version,
                                                      dose_mg_per_kg=0.5, route="IM"))
    assert "is in the future" in errors["status"]
    set_infusion_status(session, clinic.ther_a, past.id, "completed", past.version,
                        dose_mg_per_kg=0.75, route="IM")
    row = session.get(Infusion, past.id, populate_existing=True)
    assert (row.status, row.dose_mg_per_kg, row.route) == ("completed", 0.75, "IM")
    set_infusion_status(session, clinic.ther_a, future.id, "cancelled", future.version,
                        dose_mg_per_kg=0.5, route="IV")
    row = session.get(Infusion, future.id, populate_existing=True)
    assert (row.status, row.dose_mg_per_kg, row.route) == ("cancelled", None, None)


def test_discontinue_needs_a_reason_and_cancels_what_is_still_booked(session, clinic):
    series, [past, future] = _series_with(session, clinic, [-1, 2])
    errors = field_errors(lambda: discontinue_series(session, clinic.ther_a, series.id, "  ",
                                                     series.version))
    assert "Say why" in errors["reason"]
    discontinue_series(session, clinic.ther_a, series.id, "Moved abroad", series.version)
    row = session.get(TreatmentSeries, series.id, populate_existing=True)
    assert (row.status, row.discontinued_reason) == ("discontinued", "Moved abroad")
    statuses = dict(session.execute(select(Infusion.date, Infusion.status)).all())
    assert statuses == {day(-1): "scheduled", day(2): "cancelled"}
    [ev] = events(session, "series.discontinue")
    assert ev["before"]["status"] == "active" and ev["cancelled_infusions"] == [day(2).isoformat()]
    with pytest.raises(RecordChanged):
        discontinue_series(session, clinic.ther_a, series.id, "again", series.version)


# --- habits ----------------------------------------------------------------------------

def test_add_and_end_habit(session, clinic):
    h = add_habit(session, clinic.ther_a, clinic.pat_a, name=" Evening   walk ",
                  target_per_week=3, start_date=day(-10))
    assert session.get(Habit, h.id).name == "Evening walk"
    errors = field_errors(lambda: add_habit(session, clinic.ther_a, clinic.pat_a,
                                            name="Evening walk", target_per_week=8,
                                            start_date=INTAKE - timedelta(days=1)))
    assert "already has a habit" in errors["name"]
    assert "1 to 7" in errors["target_per_week"]
    assert "before this patient's intake" in errors["start_date"]
    errors = field_errors(lambda: end_habit(session, clinic.ther_a, h.id, day(-11), h.version))
    assert "cannot end before" in errors["end_date"]
    end_habit(session, clinic.ther_a, h.id, day(-1), h.version)
    assert session.get(Habit, h.id, populate_existing=True).end_date == day(-1)


def test_habit_week_grid(session, clinic):
    walk = add_habit(session, clinic.ther_a, clinic.pat_a, name="Walk", target_per_week=3,
                     start_date=day(-30))
    read = add_habit(session, clinic.ther_a, clinic.pat_a, name="Read", target_per_week=5,
                     start_date=TODAY)
    monday = week_of(TODAY)
    mon, tue, wed, thu = (monday + timedelta(days=i) for i in range(4))
    versions = {walk.id: walk.version, read.id: read.version}
    errors = field_errors(lambda: save_habit_week(
        session, clinic.ther_a, clinic.pat_a, monday, {walk.id: {thu}, read.id: {mon}}, versions))
    assert "is in the future" in errors[f"habit_{walk.id}"]
    assert "not running" in errors[f"habit_{read.id}"]
    versions = save_habit_week(session, clinic.ther_a, clinic.pat_a, monday,
                               {walk.id: {mon, tue}, read.id: {wed}}, versions)
    # Untick Tuesday, tick Wednesday: one row flips, one is added.
    versions = save_habit_week(session, clinic.ther_a, clinic.pat_a, monday,
                               {walk.id: {mon, wed}, read.id: {wed}}, versions)
    logs = set(session.execute(select(HabitLog.habit_id, HabitLog.date, HabitLog.completed)))
    assert logs == {(walk.id, mon, True), (walk.id, tue, False), (walk.id, wed, True),
                    (read.id, wed, True)}
    ev = events(session, "habit.week")[-1]
    assert ev["before"][str(walk.id)] == [mon.isoformat(), tue.isoformat()]
    assert ev["after"][str(walk.id)] == [mon.isoformat(), wed.isoformat()]


# --- scores ----------------------------------------------------------------------------

@pytest.mark.parametrize("instrument, score, ok", [
    ("PHQ-9", 27, True), ("PHQ-9", 28, False), ("GAD-7", 21, True), ("GAD-7", 22, False),
    ("PCL-5", 80, True), ("PCL-5", 81, False), ("PHQ-9", -1, False), ("PHQ-9", 0, True),
])
def test_score_ranges(session, clinic, instrument, score, ok):
    call = lambda: add_measure(session, clinic.ther_a, clinic.pat_a, instrument=instrument,  # noqa: E731
                               on=day(-1), score=score)
    if ok:
        call()
        assert count(session, OutcomeMeasure) == 1
    else:
        assert "whole number from 0 to" in field_errors(call)["score"]
        assert count(session, OutcomeMeasure) == 0


def test_score_dates(session, clinic):
    add_measure(session, clinic.ther_a, clinic.pat_a, instrument="PHQ-9", on=day(0), score=9)
    errors = field_errors(lambda: add_measure(session, clinic.ther_a, clinic.pat_a,
                                              instrument="PHQ-9", on=day(0), score=8))
    assert "already recorded" in errors["date"]
    errors = field_errors(lambda: add_measure(session, clinic.ther_a, clinic.pat_a,
                                              instrument="GAD-7", on=day(1), score=8))
    assert "is in the future" in errors["date"]


# --- patients --------------------------------------------------------------------------

def _details(**over):
    values = dict(patient_id="C-9", first_name="Ada", last_name="New",
                  date_of_birth=INTAKE.replace(year=1990), intake_date=TODAY, intentions="")
    return values | over


def test_add_patient(session, clinic):
    saved = add_patient(session, clinic.ther_a, **_details(intentions="Sleep better"))
    row = session.get(Patient, saved.id)
    assert row.therapist_id == clinic.ther_a.id and len(row.pseudonym) == 6
    errors = field_errors(lambda: add_patient(session, clinic.ther_a, **_details(
        first_name=" ", date_of_birth=TODAY + timedelta(days=3))))
    assert set(errors) == {"patient_id", "first_name", "date_of_birth"}
    assert errors["patient_id"] == CHART_UNUSABLE
    with pytest.raises(AccessDenied):
        add_patient(session, clinic.ther_a, therapist_id=clinic.ther_b.id,
                    **_details(patient_id="C-10"))
    errors = field_errors(lambda: add_patient(session, clinic.director,
                                              therapist_id=clinic.admin.id,
                                              **_details(patient_id="C-10")))
    assert "active therapist" in errors["therapist_id"]
    add_patient(session, clinic.director, therapist_id=clinic.ther_b.id,
                **_details(patient_id="C-10"))
    assert count(session, Patient) == 4


def test_update_patient_keeps_intake_before_the_first_event(session, clinic):
    add_measure(session, clinic.ther_a, clinic.pat_a, instrument="PHQ-9", on=day(-20), score=9)
    version = session.get(Patient, clinic.pat_a).version
    errors = field_errors(lambda: update_patient(
        session, clinic.ther_a, clinic.pat_a, version, first_name="Pat0", last_name="Test",
        date_of_birth=INTAKE.replace(year=1980), intake_date=day(-10), intentions=""))
    assert "cannot be after them" in errors["intake_date"]
    saved = update_patient(session, clinic.ther_a, clinic.pat_a, version, first_name="Pat0",
                           last_name="Test", date_of_birth=INTAKE.replace(year=1980),
                           intake_date=INTAKE, intentions="Be present with my kids")
    assert saved.version == version + 1
    [ev] = events(session, "patient.update")
    assert ev["before"]["intentions"] == "" and ev["after"]["intentions"] == "Be present with my kids"


def test_reassign_is_for_the_director_and_moves_future_bookings(session, clinic):
    past = book_session(session, clinic.ther_a, clinic.pat_a, kind="preparation", on=day(-2),
                        status="attended")
    future = book_session(session, clinic.ther_a, clinic.pat_a, kind="integration", on=day(2))
    version = session.get(Patient, clinic.pat_a).version
    with pytest.raises(AccessDenied):
        reassign_therapist(session, clinic.ther_a, clinic.pat_a, clinic.ther_b.id, version)
    errors = field_errors(lambda: reassign_therapist(session, clinic.director, clinic.pat_a,
                                                     clinic.ther_a.id, version))
    assert "already this patient's therapist" in errors["therapist_id"]
    reassign_therapist(session, clinic.director, clinic.pat_a, clinic.ther_b.id, version)
    assert session.get(Patient, clinic.pat_a, populate_existing=True).therapist_id == clinic.ther_b.id
    owners = dict(session.execute(select(TherapySession.id, TherapySession.therapist_id)).all())
    assert owners == {past.id: clinic.ther_a.id, future.id: clinic.ther_b.id}
    # ther_a no longer has this patient.
    with pytest.raises(AccessDenied):
        add_measure(session, clinic.ther_a, clinic.pat_a, instrument="PHQ-9", on=TODAY, score=3)
