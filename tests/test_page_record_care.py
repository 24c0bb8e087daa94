"""AppTest for the Record care page: every form, each validation message,
access, and the stale-form warning."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
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
from db.recording.patients import CHART_UNUSABLE
from tests.record_care_apptest import migrated_sqlite, patient_key, run_page
from tests.recording_fixtures import INTAKE, TODAY, build_small, day
from tests.apptest_support import shown

PAGE = "pages/record_care.py"


@pytest.fixture
def clinic(tmp_path, monkeypatch):
    monkeypatch.setenv("KAP_TODAY", TODAY.isoformat())
    url = migrated_sqlite(tmp_path / "clinic.db")
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as s:
        small = build_small(s)
        series = TreatmentSeries(patient_id=small.pat_a, number=1, planned_infusions=6)
        s.add(series)
        s.flush()
        s.add_all([Infusion(series_id=series.id, date=day(-5), status="completed",
                            dose_mg_per_kg=0.5, route="IV"),
                   Infusion(series_id=series.id, date=day(-2), status="scheduled"),
                   Infusion(series_id=series.id, date=day(2), status="scheduled"),
                   TherapySession(patient_id=small.pat_a, therapist_id=small.ther_a.id,
                                  date=day(-8), kind="preparation", status="attended"),
                   Habit(patient_id=small.pat_a, name="Walk", target_per_week=3,
                         start_date=day(-30))])
        s.commit()
    yield url, factory, small
    engine.dispose()


def page(clinic, monkeypatch, username="ther_a", **state):
    url, _, _ = clinic
    return run_page(PAGE, username, monkeypatch, url, **state)


def pk_key(clinic, name: str, pk: int | None = None) -> str:
    """The key of a Record care widget drawn for patient ``pk`` (default: Pat0, C-1)."""
    return patient_key(name, clinic[2].pat_a if pk is None else pk)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_therapist_sees_own_patient_and_the_count(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    assert not at.exception
    assert at.selectbox(key="rc_patient").options == ["Pat0 Test · C-1"]
    assert at.metric[0].value == "0 of 2"
    # The view is audited once.
    with clinic[1]() as s:
        assert s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "record_care.view")).all() == ["record_care.view"]


def test_other_patients_stay_out_of_reach(clinic, monkeypatch):
    at = page(clinic, monkeypatch, username="ther_b")
    assert at.selectbox(key="rc_patient").options == ["Pat1 Test · C-2"]
    at.query_params["patient"] = "C-1"
    at.run()
    assert at.selectbox(key="rc_patient").options == ["Pat1 Test · C-2"]
    admin = page(clinic, monkeypatch, username="adm")
    assert "not available" in errors(admin)[0]


def test_book_attended_integration_updates_the_count(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.date_input(key=pk_key(clinic, "bs_date")).set_value(day(-1))
    at.selectbox(key=pk_key(clinic, "bs_status")).set_value("attended")
    button(at, "Book session").click().run()
    assert not errors(at)
    assert "saved (attended)" in shown(at.success[0].value)
    assert at.metric[0].value == "1 of 2"


@pytest.mark.parametrize("when, status, words", [
    (1, "attended", "is in the future"),
    (-1, "scheduled", "is in the past"),
    (-61, "attended", "before this patient's intake"),
])
def test_booking_messages(clinic, monkeypatch, when, status, words):
    at = page(clinic, monkeypatch)
    at.date_input(key=pk_key(clinic, "bs_date")).set_value(day(when))
    at.selectbox(key=pk_key(clinic, "bs_status")).set_value(status)
    button(at, "Book session").click().run()
    assert any(words in e for e in errors(at))
    with clinic[1]() as s:
        assert len(s.scalars(select(TherapySession)).all()) == 1


def test_duplicate_booking_message(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.radio(key=pk_key(clinic, "bs_kind")).set_value("preparation")
    at.date_input(key=pk_key(clinic, "bs_date")).set_value(day(-8))
    at.selectbox(key=pk_key(clinic, "bs_status")).set_value("attended")
    button(at, "Book session").click().run()
    assert any("already has a preparation session" in e for e in errors(at))


def test_record_outcome_of_a_booked_session(clinic, monkeypatch):
    url, factory, small = clinic
    with factory() as s:
        s.add_all([TherapySession(patient_id=small.pat_a, therapist_id=small.ther_a.id,
                                  date=day(3), kind="integration"),
                   TherapySession(patient_id=small.pat_a, therapist_id=small.ther_a.id,
                                  date=day(-1), kind="integration")])
        s.commit()
    at = page(clinic, monkeypatch)
    assert at.selectbox(key=pk_key(clinic, "rs_item")).options == ["Tue 16 Jun 2026 · integration",
                                                   "Sat 20 Jun 2026 · integration"]
    at.selectbox(key=pk_key(clinic, "rs_item")).select_index(1)
    at.radio(key=pk_key(clinic, "rs_status")).set_value("attended")
    button(at, "Save outcome").click().run()
    assert any("is in the future" in e for e in errors(at))
    at.selectbox(key=pk_key(clinic, "rs_item")).select_index(0)
    at.number_input(key=pk_key(clinic, "rs_minutes")).set_value(700)
    button(at, "Save outcome").click().run()
    assert any("between 1 and 600 minutes" in e for e in errors(at))
    at.number_input(key=pk_key(clinic, "rs_minutes")).set_value(50)
    button(at, "Save outcome").click().run()
    assert "recorded as attended" in shown(at.success[0].value)
    assert "Now 1 of 2 integration sessions attended, 1 booked" in shown(at.success[0].value)
    assert at.metric[0].value == "1 of 2"


def test_scores_form(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.selectbox(key=pk_key(clinic, "sc_instrument")).set_value("GAD-7")
    at.number_input(key=pk_key(clinic, "sc_score")).set_value(22)
    button(at, "Save score").click().run()
    assert any("from 0 to 21" in e for e in errors(at))
    at.number_input(key=pk_key(clinic, "sc_score")).set_value(8)
    at.date_input(key=pk_key(clinic, "sc_date")).set_value(day(1))
    button(at, "Save score").click().run()
    assert any("is in the future" in e for e in errors(at))
    at.date_input(key=pk_key(clinic, "sc_date")).set_value(TODAY)
    button(at, "Save score").click().run()
    assert not errors(at) and "GAD-7 8" in shown(at.success[0].value)
    with clinic[1]() as s:
        assert s.scalar(select(OutcomeMeasure.score)) == 8


def test_infusion_forms(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    # The booked infusion two days ago, recorded as completed without dose or route.
    at.radio(key=pk_key(clinic, "ri_status")).set_value("completed")
    button(at, "Save infusion").click().run()
    messages = errors(at)
    assert any("Enter the dose in mg/kg" in e for e in messages)
    assert any("Choose the route" in e for e in messages)
    at.number_input(key=pk_key(clinic, "ri_dose")).set_value(0.6)
    at.selectbox(key=pk_key(clinic, "ri_route")).set_value("IM")
    button(at, "Save infusion").click().run()
    assert not errors(at) and "recorded as completed" in shown(at.success[0].value)
    at.date_input(key=pk_key(clinic, "si_start")).set_value(day(-3))
    button(at, "Book infusions").click().run()
    assert any("is in the past" in e for e in errors(at))
    at.date_input(key=pk_key(clinic, "si_start")).set_value(day(5))
    button(at, "Book infusions").click().run()
    assert "infusions booked" in shown(at.success[0].value)
    with clinic[1]() as s:
        series_id = s.scalar(select(TreatmentSeries.id))
    # Discontinuing asks first, naming the patient; an empty reason is refused in the dialog.
    button(at, "Discontinue series…").click().run()
    assert any("Pat0 Test (C-1)" in shown(m.value) for m in at.markdown)
    button(at, "Discontinue series").click().run()
    assert any("Say why" in e for e in errors(at))
    at.text_area(key=pk_key(clinic, f"ds_reason_{series_id}")).input("Moved abroad")
    button(at, "Discontinue series").click().run()
    assert "discontinued" in shown(at.success[0].value)
    with clinic[1]() as s:
        statuses = dict(s.execute(select(Infusion.date, Infusion.status)).all())
        assert statuses[day(-2)] == "completed"
        assert statuses[day(2)] == "cancelled"


def test_start_series_form(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.number_input(key=pk_key(clinic, "ss_planned")).set_value(40)
    button(at, "Start series").click().run()
    assert any("between 1 and 30" in e for e in errors(at))
    at.radio(key=pk_key(clinic, "ss_kind")).set_value("booster")
    at.number_input(key=pk_key(clinic, "ss_planned")).set_value(3)
    button(at, "Start series").click().run()
    assert "booster series started" in shown(at.success[0].value)


def test_habit_week_grid_and_habit_forms(clinic, monkeypatch):
    url, factory, small = clinic
    at = page(clinic, monkeypatch)
    with factory() as s:
        habit = s.scalar(select(Habit))
    monday = TODAY - timedelta(days=TODAY.weekday())
    thursday = monday + timedelta(days=3)
    assert at.checkbox(key=f"hw_{habit.id}_{thursday}_{habit.version}").disabled
    at.checkbox(key=f"hw_{habit.id}_{monday}_{habit.version}").check()
    at.checkbox(key=f"hw_{habit.id}_{monday + timedelta(days=1)}_{habit.version}").check()
    button(at, "Save the week").click().run()
    assert not errors(at) and "Check-ins for the week" in shown(at.success[0].value)
    with factory() as s:
        assert len(s.scalars(select(HabitLog)).all()) == 2
    at.text_input(key=pk_key(clinic, "ah_name")).input("walk")
    at.number_input(key=pk_key(clinic, "ah_target")).set_value(9)
    button(at, "Add habit").click().run()
    assert any("1 to 7" in e for e in errors(at))
    at.text_input(key=pk_key(clinic, "ah_name")).input("Walk")
    at.number_input(key=pk_key(clinic, "ah_target")).set_value(3)
    button(at, "Add habit").click().run()
    assert any("already has a habit" in e for e in errors(at))
    at.date_input(key=pk_key(clinic, "eh_end")).set_value(day(-40))
    button(at, "End habit").click().run()
    assert any("cannot end before" in e for e in errors(at))


def test_patient_details_and_a_stale_form(clinic, monkeypatch):
    url, factory, small = clinic
    at = page(clinic, monkeypatch)
    [first] = [t for t in at.text_input if t.label == "First name" and t.key.startswith("pf_")]
    first.input("")
    button(at, "Save details").click().run()
    assert any("Must not be empty" in e for e in errors(at))
    # Someone else saves the record while this form is open.
    with factory() as s:
        p = s.get(Patient, small.pat_a)
        p.intentions = "Written by a colleague"
        s.commit()
    [first] = [t for t in at.text_input if t.label == "First name" and t.key.startswith("pf_")]
    first.input("Paula")
    button(at, "Save details").click().run()
    assert "changed by someone else" in shown(at.warning[0].value)
    saved_now = at.dataframe[-1].value
    assert "Written by a colleague" in saved_now["Now saved as"].tolist()
    with factory() as s:
        p = s.get(Patient, small.pat_a)
        assert (p.first_name, p.intentions) == ("Pat0", "Written by a colleague")


def test_add_patient_form(clinic, monkeypatch):
    at = page(clinic, monkeypatch)
    at.text_input(key="np_chart").input("C-1")
    at.text_input(key="np_first").input("Ada")
    at.text_input(key="np_last").input("New")
    button(at, "Add patient").click().run()
    assert any("Enter the date of birth" in e for e in errors(at))
    at.date_input(key="np_born").set_value(INTAKE.replace(year=1990))
    button(at, "Add patient").click().run()
    assert any(CHART_UNUSABLE in e for e in errors(at))
    at.text_input(key="np_chart").input("C-77")
    button(at, "Add patient").click().run()
    assert "Patient C-77 added" in shown(at.success[0].value)
    picker = at.selectbox(key="rc_patient")
    assert picker.options[picker.index] == "Ada New · C-77"
    # The form starts empty for the next patient: nothing typed for Ada stays.
    assert [t.value for t in at.text_input if t.form_id.startswith("add_patient")] == ["", "", ""]


def test_director_reassigns(clinic, monkeypatch):
    url, factory, small = clinic
    at = page(clinic, monkeypatch, username="md")
    at.text_input(key="rc_find").input("Pat0").run()
    assert at.selectbox(key="rc_patient").options == ["Pat0 Test · C-1"]
    at.selectbox(key=pk_key(clinic, "ra_therapist")).set_value(small.ther_a.id)
    button(at, "Reassign").click().run()
    assert any("already this patient's therapist" in e for e in errors(at))
    at.selectbox(key=pk_key(clinic, "ra_therapist")).set_value(small.ther_b.id)
    button(at, "Reassign").click().run()
    assert "Primary therapist of Pat0 Test (C-1) is now Ther B" in shown(at.success[0].value)
    with factory() as s:
        assert s.get(Patient, small.pat_a).therapist_id == small.ther_b.id


def test_a_stale_week_grid_is_not_saved_over_a_colleagues(clinic, monkeypatch):
    url, factory, small = clinic
    at = page(clinic, monkeypatch)
    with factory() as s:
        habit = s.scalar(select(Habit))
    monday = TODAY - timedelta(days=TODAY.weekday())
    # A colleague saves Monday for this week while the grid is open.
    from db.recording import save_habit_week
    with factory() as s:
        save_habit_week(s, small.director, small.pat_a, monday, {habit.id: {monday}},
                        {habit.id: habit.version})
    at.checkbox(key=f"hw_{habit.id}_{monday + timedelta(days=1)}_{habit.version}").check()
    button(at, "Save the week").click().run()
    assert "changed by someone else" in shown(at.warning[0].value)
    assert at.dataframe[-1].value.values.tolist() == [["Walk", f"Mon {monday.day}"]]
    with factory() as s:
        assert s.execute(select(HabitLog.date)).scalars().all() == [monday]
