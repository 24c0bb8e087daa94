"""The row loading every recording function shares (``db.recording.common``):
a removed record is a field message naming it, and a save that loses a race at
the UPDATE gets that record's fresh values, whatever kind of record it is."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from db.engine import session_factory
from db.recording import (
    RecordChanged,
    ValidationError,
    add_habit,
    add_patient,
    book_infusion,
    book_session,
    discontinue_series,
    end_habit,
    set_infusion_status,
    set_session_status,
    start_series,
    update_patient,
)
from db.recording.patients import CHART_UNUSABLE
from tests.recording_fixtures import INTAKE, day
from tests.recording_fixtures import clinic, pinned_today  # noqa: F401 (fixtures)

GONE = 987654


@pytest.mark.parametrize("save,field", [
    (lambda s, a: set_session_status(s, a, GONE, "attended", 1), "session"),
    (lambda s, a: set_infusion_status(s, a, GONE, "cancelled", 1), "infusion"),
    (lambda s, a: book_infusion(s, a, GONE, on=day(3)), "series"),
    (lambda s, a: discontinue_series(s, a, GONE, "moved away", 1), "series"),
    (lambda s, a: end_habit(s, a, GONE, day(0), 1), "habit"),
    (lambda s, a: update_patient(s, a, GONE, 1, first_name="A", last_name="B",
                                 date_of_birth=INTAKE.replace(year=1980), intake_date=INTAKE,
                                 intentions=""), "patient"),
])
def test_a_removed_record_is_named_in_its_field(session, clinic, save, field):
    with pytest.raises(ValidationError) as info:
        save(session, clinic.director)
    assert info.value.errors == {field: f"This {field} no longer exists."}


def _race(engine, mine, theirs):
    """Run ``mine`` while ``theirs`` commits between its read and its UPDATE."""
    factory = session_factory(engine)
    with factory() as s:
        fired = []

        @event.listens_for(s, "before_flush")
        def other_user_saves(*_):
            if not fired:
                fired.append(True)
                with factory() as other:
                    theirs(other)

        with pytest.raises(RecordChanged) as info:
            mine(s)
    assert fired
    return info.value.current


def test_session_race_returns_the_session_as_saved(engine, clinic):
    with session_factory(engine)() as s:
        booked = book_session(s, clinic.ther_a, clinic.pat_a, kind="integration", on=day(0))
    current = _race(
        engine,
        lambda s: set_session_status(s, clinic.ther_a, booked.id, "attended", booked.version,
                                     duration_minutes=50),
        lambda s: set_session_status(s, clinic.director, booked.id, "no_show", booked.version))
    assert current["status"] == "no_show" and current["version"] == booked.version + 1


def test_infusion_and_series_races_return_their_own_rows(engine, clinic):
    with session_factory(engine)() as s:
        series = start_series(s, clinic.ther_a, clinic.pat_a)
        infusion = book_infusion(s, clinic.ther_a, series.id, on=day(0))
    current = _race(
        engine,
        lambda s: set_infusion_status(s, clinic.ther_a, infusion.id, "completed",
                                      infusion.version, dose_mg_per_kg=0.5, route="IV"),
        lambda s: set_infusion_status(s, clinic.director, infusion.id, "cancelled",
                                      infusion.version))
    assert current["status"] == "cancelled" and current["dose_mg_per_kg"] is None
    current = _race(
        engine,
        lambda s: discontinue_series(s, clinic.ther_a, series.id, "mine", series.version),
        lambda s: discontinue_series(s, clinic.director, series.id, "theirs", series.version))
    assert current["discontinued_reason"] == "theirs" and current["number"] == 1


CONTROL = ("contains an invisible control character (U+0007) at position 2; "
           "retype or paste the text again without it")


def _add_patient(session, clinic, **change):
    fields = dict(patient_id="C-9", first_name="Ada", last_name="Lane",
                  date_of_birth=INTAKE.replace(year=1980), intake_date=INTAKE)
    return add_patient(session, clinic.ther_a, **(fields | change))


@pytest.mark.parametrize("change,field,message", [
    ({"patient_id": " "}, "patient_id", "Enter the clinic's chart number."),
    ({"patient_id": "C" * 65}, "patient_id", "At most 64 characters."),
    ({"patient_id": "C\a9"}, "patient_id", f"The chart number {CONTROL}."),
    ({"patient_id": "C-1"}, "patient_id", CHART_UNUSABLE),
    ({"first_name": ""}, "first_name", "Must not be empty."),
    ({"last_name": "L" * 101}, "last_name", "At most 100 characters."),
    ({"last_name": "L\ane"}, "last_name", f"The name {CONTROL}."),
])
def test_patient_text_messages(session, clinic, change, field, message):
    with pytest.raises(ValidationError) as info:
        _add_patient(session, clinic, **change)
    assert info.value.errors == {field: message}


@pytest.mark.parametrize("name,message", [
    ("  ", "Name the habit, e.g. exercise, journaling, meditation."),
    ("W" * 101, "At most 100 characters."),
    ("W\alk", f"The name {CONTROL}."),
    ("Walk", "This patient already has a habit called “Walk”."),
])
def test_habit_name_messages(session, clinic, name, message):
    add_habit(session, clinic.ther_a, clinic.pat_a, name="Walk", target_per_week=3,
              start_date=day(0))
    with pytest.raises(ValidationError) as info:
        add_habit(session, clinic.ther_a, clinic.pat_a, name=name, target_per_week=3,
                  start_date=day(0))
    assert info.value.errors == {"name": message}


@pytest.mark.parametrize("reason,message", [
    (" ", "Say why the series stops; the team reads this later."),
    ("r" * 1001, "At most 1000 characters."),
    ("r\a\nline two", f"The reason {CONTROL}."),
])
def test_discontinue_reason_messages(session, clinic, reason, message):
    series = start_series(session, clinic.ther_a, clinic.pat_a)
    with pytest.raises(ValidationError) as info:
        discontinue_series(session, clinic.ther_a, series.id, reason, series.version)
    assert info.value.errors == {"reason": message}
