"""Record care acts on the patient on screen (issue 14), on SQLite and PostgreSQL.

Each of the reported sequences is replayed through the page (AppTest) and the
result checked in the database and the audit log: switching patient on the
Infusions tab (case 2), saving a renamed patient (case 3), an out-of-range date
on Book a session (case 4), Record care opened from the patient page (case 5),
a form pressed after the patient was switched, and, for every bounded field of
Record care, that an invalid value is refused beside the field, stays typed and
saves nothing.
"""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.demo import ensure_demo_accounts
from db.engine import session_factory
from db.models import (
    AuditEvent,
    Habit,
    HabitLog,
    Infusion,
    OutcomeMeasure,
    Patient,
    Staff,
    TherapySession,
    TreatmentSeries,
)
from tests.apptest_support import DEMO_PASSWORDS, clinic_app, shown, sign_in
from tests.record_care_apptest import run_page
from tests.recording_fixtures import INTAKE, TODAY, day
from ui.access import CurrentUser
from ui.forms import DATE_FIELD_MAX, DATE_FIELD_MIN

PAGE = "pages/record_care.py"
ROSA, OLGA, ALEJANDRO = "KAP-000012", "KAP-000031", "KAP-000007"
LABEL = {ROSA: "Rosa Brown · KAP-000012", OLGA: "Olga Olsen · KAP-000031",
         ALEJANDRO: "Alejandro Thompson · KAP-000007"}
ROSA_INFUSION = day(-20)  # Rosa's one completed infusion (0.8 mg/kg, IN)
OLGA_BOOKED = day(-1)  # Olga's sixth infusion, booked


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def clinic(engine, monkeypatch):
    """One therapist ('therapist') with Rosa (1 of 6 infusions done), Olga (5 of 6 done,
    the sixth booked, a habit, a booked session) and Alejandro (no series yet)."""
    monkeypatch.setenv("KAP_TODAY", TODAY.isoformat())
    factory = session_factory(engine)
    with factory() as s:
        therapist = Staff(username="therapist", full_name="Alma Therapist", role="therapist",
                          active=True)
        s.add(therapist)
        s.flush()
        pks = {}
        for chart, first, last in ((ROSA, "Rosa", "Brown"), (OLGA, "Olga", "Olsen"),
                                   (ALEJANDRO, "Alejandro", "Thompson")):
            p = Patient(patient_id=chart, pseudonym=f"PS{chart[-3:]}", first_name=first,
                        last_name=last, date_of_birth=date(1980, 5, 5),
                        therapist_id=therapist.id, intake_date=INTAKE)
            s.add(p)
            s.flush()
            pks[chart] = p.id
        rosa = TreatmentSeries(patient_id=pks[ROSA], number=1, planned_infusions=6)
        olga = TreatmentSeries(patient_id=pks[OLGA], number=1, planned_infusions=6)
        s.add_all([rosa, olga])
        s.flush()
        s.add(Infusion(series_id=rosa.id, date=ROSA_INFUSION, status="completed",
                       dose_mg_per_kg=0.8, route="IN"))
        for i in range(5):
            s.add(Infusion(series_id=olga.id, date=day(-30 + 3 * i), status="completed",
                           dose_mg_per_kg=0.5, route="IV"))
        s.add(Infusion(series_id=olga.id, date=OLGA_BOOKED, status="scheduled"))
        s.add_all([Habit(patient_id=pks[OLGA], name="Walk", target_per_week=3,
                         start_date=day(-30)),
                   TherapySession(patient_id=pks[OLGA], therapist_id=therapist.id,
                                  date=day(-2), kind="integration", status="scheduled")])
        s.commit()
        user = CurrentUser(therapist.id, therapist.username, therapist.full_name, "therapist")
    return _url(engine), factory, pks, user


def page(clinic, monkeypatch, **state):
    url, _, _, user = clinic
    return run_page(PAGE, user, monkeypatch, url, **state)


def picker(at):
    return next(s for s in at.selectbox if s.label == "Patient")


def shown_patient(at) -> str:
    p = picker(at)
    return p.options[p.index]


def choose(at, chart):
    p = picker(at)
    return p.select_index(p.options.index(LABEL[chart])).run()


def form_id(at, title_widget_label: str) -> str:
    """The form holding the widget labelled so (first match)."""
    return next(w.form_id for kind in ("date_input", "number_input", "text_input", "selectbox",
                                       "radio", "text_area")
                for w in getattr(at, kind) if w.label == title_widget_label and w.form_id)


def field(at, kind: str, label: str, form: str):
    matches = [w for w in getattr(at, kind) if w.label == label and w.form_id == form]
    assert len(matches) == 1, (kind, label, form, [(w.label, w.form_id) for w in getattr(at, kind)])
    return matches[0]


def submit(at, label: str, form: str):
    return next(b for b in at.button if b.label == label and b.form_id == form).click().run()


def errors(at) -> list[str]:
    return [shown(e.value) for e in at.error]


def successes(at) -> list[str]:
    return [shown(e.value) for e in at.success]


def captions(at) -> list[str]:
    return [shown(c.value) for c in at.caption]


def audit(factory, action: str) -> list[AuditEvent]:
    with factory() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                         .order_by(AuditEvent.id)).all()


def snapshot(s: Session) -> dict:
    """Every row of every record Record care writes, and the audit trail but views."""
    out = {}
    for model in (Patient, TreatmentSeries, Infusion, TherapySession, Habit, HabitLog,
                  OutcomeMeasure):
        rows = s.scalars(select(model).order_by(model.id)).all()
        out[model.__tablename__] = [
            {c.key: getattr(r, c.key) for c in model.__table__.columns} for r in rows]
    out["audit"] = s.scalars(select(AuditEvent.action).where(
        AuditEvent.action.not_in(["record_care.view"])).order_by(AuditEvent.id)).all()
    return out


# --- case 2 ---------------------------------------------------------------------------------

def test_switching_patient_on_infusions_shows_only_the_new_patients_series(clinic, monkeypatch):
    url, factory, pks, _ = clinic
    at = page(clinic, monkeypatch)
    assert shown_patient(at) == LABEL[ROSA]
    assert any("1 of 6 infusions completed, 0 booked" in c for c in captions(at))
    choose(at, OLGA)
    assert not at.exception
    assert shown_patient(at) == LABEL[OLGA]
    infusion_captions = [c for c in captions(at) if "infusions completed" in c]
    assert infusion_captions == ["Olga Olsen (KAP-000031): 5 of 6 infusions completed, 1 booked."]
    [table] = [d.value for d in at.dataframe if "Dose (mg/kg)" in d.value.columns]
    assert "0.8" not in table["Dose (mg/kg)"].tolist()
    assert len(table) == 6
    # The form to record Olga's booked infusion is there at once, for her.
    form = form_id(at, "Booked infusion")
    booked = field(at, "selectbox", "Booked infusion", form)
    assert booked.options == [f"{OLGA_BOOKED:%a} {OLGA_BOOKED.day} {OLGA_BOOKED:%b %Y}"]
    field(at, "radio", "Outcome", form).set_value("completed")
    field(at, "number_input", "Dose (mg/kg), when completed", form).set_value(0.7)
    field(at, "selectbox", "Route, when completed", form).set_value("IM")
    submit(at, "Save infusion", form)
    assert not errors(at)
    assert any("recorded as completed for Olga Olsen (KAP-000031)" in m for m in successes(at))
    with factory() as s:
        olga = s.execute(select(Infusion.status, Infusion.dose_mg_per_kg).join(TreatmentSeries)
                         .where(TreatmentSeries.patient_id == pks[OLGA],
                                Infusion.date == OLGA_BOOKED)).one()
        rosa = s.execute(select(Infusion.date, Infusion.status).join(TreatmentSeries)
                         .where(TreatmentSeries.patient_id == pks[ROSA])).all()
    assert tuple(olga) == ("completed", 0.7)
    assert [tuple(r) for r in rosa] == [(ROSA_INFUSION, "completed")]
    assert [e.patient_ref for e in audit(factory, "infusion.status")] == [OLGA]


# --- case 3 ---------------------------------------------------------------------------------

def test_saving_a_renamed_patient_keeps_that_patient_on_screen(clinic, monkeypatch):
    url, factory, pks, _ = clinic
    at = page(clinic, monkeypatch)
    choose(at, ALEJANDRO)
    form = form_id(at, "Intentions")
    field(at, "text_input", "First name", form).input("Alejandra")
    submit(at, "Save details", form)
    assert not errors(at)
    with factory() as s:
        names = dict(s.execute(select(Patient.patient_id, Patient.first_name)).all())
    assert names == {ROSA: "Rosa", OLGA: "Olga", ALEJANDRO: "Alejandra"}
    assert [e.patient_ref for e in audit(factory, "patient.update")] == [ALEJANDRO]
    # Still her record: picker, header, the form and its confirmation name her.
    assert shown_patient(at) == "Alejandra Thompson · KAP-000007"
    assert at.subheader[0].value == "Alejandra Thompson"
    form = form_id(at, "Intentions")
    assert form.endswith(f"_{pks[ALEJANDRO]}")
    assert field(at, "text_input", "First name", form).value == "Alejandra"
    assert successes(at) == ["Patient details saved for Alejandra Thompson (KAP-000007)."]
    # The next entry goes to her too.
    score_form = form_id(at, "Total score")
    field(at, "number_input", "Total score", score_form).set_value(9)
    submit(at, "Save score", score_form)
    with factory() as s:
        assert s.execute(select(OutcomeMeasure.patient_id, OutcomeMeasure.score)).all() == [
            (pks[ALEJANDRO], 9)]
    assert [e.patient_ref for e in audit(factory, "measure.add")] == [ALEJANDRO]


# --- case 4 (booking) -----------------------------------------------------------------------

def test_an_out_of_range_booking_date_is_refused_and_nothing_is_booked(clinic, monkeypatch):
    url, factory, pks, _ = clinic
    at = page(clinic, monkeypatch)
    form = form_id(at, "Kind")
    on = field(at, "date_input", "Date", form)
    # The field takes any four-digit year, so the browser sends what was typed
    # (out of a widget's own bounds it would keep sending its last valid value).
    assert (on.min, on.max) == (DATE_FIELD_MIN, DATE_FIELD_MAX)
    with factory() as s:
        before = snapshot(s)
    on.set_value(date(2099, 1, 1))
    submit(at, "Book session", form)
    assert any("Thu 1 Jan 2099 is more than 2 years ahead" in e for e in errors(at))
    assert not successes(at)
    assert field(at, "date_input", "Date", form).value == date(2099, 1, 1)  # kept as typed
    with factory() as s:
        assert snapshot(s) == before
    assert audit(factory, "session.book") == []
    # A date in range books, for the patient on screen.
    field(at, "date_input", "Date", form).set_value(day(7))
    submit(at, "Book session", form)
    assert any("saved (booked (upcoming)) for Rosa Brown (KAP-000012)" in m
               for m in successes(at))
    [event] = audit(factory, "session.book")
    assert event.patient_ref == ROSA and json.loads(event.detail)["after"]["date"] == day(7).isoformat()


# --- case 5 ---------------------------------------------------------------------------------

def test_record_care_opened_from_the_patient_page_stays_on_that_patient(clinic):
    url, factory, pks, _ = clinic
    with factory() as s:
        ensure_demo_accounts(s)  # gives 'therapist' its demo password
    at = clinic_app("dashboard.py", url, today=TODAY).run()
    sign_in(at, "therapist", DEMO_PASSWORDS["therapist"])
    assert not at.exception
    at.query_params["patient"] = OLGA
    at.switch_page("pages/patient.py").run()
    assert not any(s.label == "Patient" for s in at.selectbox)  # the patient page, not yet Record care
    button = next(b for b in at.button if b.label == "Record care")
    button.click().run()
    assert not at.exception, at.exception
    # The button switched pages inside the run; AppTest must be told where it now is
    # (a browser's address changes by itself).
    at.switch_page("pages/record_care.py")

    assert shown_patient(at) == LABEL[OLGA]
    assert at.subheader[0].value == "Olga Olsen"
    # A save keeps her chosen ...
    score_form = form_id(at, "Total score")
    field(at, "number_input", "Total score", score_form).set_value(11)
    submit(at, "Save score", score_form)
    assert not errors(at)
    assert shown_patient(at) == LABEL[OLGA]
    # ... and so does a trip to another page and back through the menu.
    at.query_params.clear()
    at.switch_page("pages/caseload.py").run()
    at.switch_page("pages/record_care.py").run()
    assert shown_patient(at) == LABEL[OLGA]
    with factory() as s:
        assert s.execute(select(OutcomeMeasure.patient_id)).scalars().all() == [pks[OLGA]]
    assert [e.patient_ref for e in audit(factory, "measure.add")] == [OLGA]
    assert [e.patient_ref for e in audit(factory, "record_care.view")][:1] == [OLGA]


# --- a form pressed after the patient changed -----------------------------------------------

def test_a_form_drawn_for_one_patient_never_saves_to_another(clinic, monkeypatch):
    """Typed into Rosa's score form, the picker moved to Olga, then Save pressed in the
    same round trip (a quick click before the page redrew): nothing is saved."""
    url, factory, pks, _ = clinic
    at = page(clinic, monkeypatch)
    score_form = form_id(at, "Total score")
    field(at, "number_input", "Total score", score_form).set_value(12)
    p = picker(at)
    p.select_index(p.options.index(LABEL[OLGA]))
    next(b for b in at.button if b.label == "Save score" and b.form_id == score_form).click()
    at.run()
    assert shown_patient(at) == LABEL[OLGA]
    with factory() as s:
        assert s.scalars(select(OutcomeMeasure)).all() == []
    assert audit(factory, "measure.add") == []
    # Nothing of Rosa's typing shows in Olga's form.
    olga_form = form_id(at, "Total score")
    assert olga_form != score_form
    assert field(at, "number_input", "Total score", olga_form).value is None


# --- destructive actions ask first ----------------------------------------------------------

def test_cancelling_a_booking_asks_naming_the_patient_and_the_session(clinic, monkeypatch):
    url, factory, pks, _ = clinic
    at = choose(page(clinic, monkeypatch), OLGA)
    next(b for b in at.button if b.label == "Cancel booking…").click().run()
    d = day(-2)
    question = f"Cancel the integration session of {d:%a} {d.day} {d:%b %Y} for Olga Olsen " \
               "(KAP-000031)?"
    assert any(question in shown(m.value) for m in at.markdown)
    with factory() as s:
        assert s.scalar(select(TherapySession.status)) == "scheduled"
    next(b for b in at.button if b.label == "Cancel booking").click().run()
    with factory() as s:
        assert s.scalar(select(TherapySession.status)) == "cancelled"
    [event] = audit(factory, "session.status")
    assert event.patient_ref == OLGA and json.loads(event.detail)["after"]["status"] == "cancelled"


# --- every bounded field: an invalid value is never saved -----------------------------------

FAR = date(2099, 1, 1)
# (patient, a field of the form to find it by, the field's kind and label, the invalid
#  value, the submit button, words of the message beside the field)
BOUNDED = {
    "booking date too far": (ROSA, "Kind", "date_input", "Date", FAR, "Book session",
                             "years ahead"),
    "booking date before intake": (ROSA, "Kind", "date_input", "Date", date(1850, 1, 1),
                                   "Book session", "before this patient's intake"),
    "booking duration 0": (ROSA, "Kind", "number_input", "Duration (minutes, optional)", 0,
                           "Book session", "between 1 and 600"),
    "booking duration 601": (ROSA, "Kind", "number_input", "Duration (minutes, optional)", 601,
                             "Book session", "between 1 and 600"),
    "outcome duration 601": (OLGA, "Booked session", "number_input",
                             "Duration (minutes, optional)", 601, "Save outcome",
                             "between 1 and 600"),
    "score above the maximum": (ROSA, "Total score", "number_input", "Total score", 28,
                                "Save score", "from 0 to 27"),
    "score below 0": (ROSA, "Total score", "number_input", "Total score", -1, "Save score",
                      "from 0 to 27"),
    "score date in the future": (ROSA, "Total score", "date_input", "Date", day(1),
                                 "Save score", "is in the future"),
    "score date before intake": (ROSA, "Total score", "date_input", "Date", date(1850, 1, 1),
                                 "Save score", "before this patient's intake"),
    "planned infusions 0": (ALEJANDRO, "Planned infusions (empty: the clinic's default)",
                            "number_input", "Planned infusions (empty: the clinic's default)", 0,
                            "Start series", "between 1 and 30"),
    "planned infusions 31": (ALEJANDRO, "Planned infusions (empty: the clinic's default)",
                             "number_input", "Planned infusions (empty: the clinic's default)",
                             31, "Start series", "between 1 and 30"),
    "first infusion in the past": (OLGA, "First infusion on or after", "date_input",
                                   "First infusion on or after", day(-3), "Book infusions",
                                   "is in the past"),
    "first infusion too far": (OLGA, "First infusion on or after", "date_input",
                               "First infusion on or after", FAR, "Book infusions",
                               "years ahead"),
    "infusions to book 0": (OLGA, "First infusion on or after", "number_input",
                            "How many (empty: what the series still lacks)", 0,
                            "Book infusions", "at least one"),
    "infusions to book 31": (OLGA, "First infusion on or after", "number_input",
                             "How many (empty: what the series still lacks)", 31,
                             "Book infusions", "At most 30"),
    "dose 0": (OLGA, "Booked infusion", "number_input", "Dose (mg/kg), when completed", 0.0,
               "Save infusion", "Enter the dose"),
    "dose above 5": (OLGA, "Booked infusion", "number_input", "Dose (mg/kg), when completed",
                     5.5, "Save infusion", "Enter the dose"),
    "habit target 0": (OLGA, "Habit", "number_input", "Target days a week (1–7)", 0,
                       "Add habit", "1 to 7"),
    "habit target 8": (OLGA, "Habit", "number_input", "Target days a week (1–7)", 8,
                       "Add habit", "1 to 7"),
    "habit start before intake": (OLGA, "Target days a week (1–7)", "date_input", "Starting",
                                  date(1850, 1, 1), "Add habit", "before this patient's intake"),
    "habit start too far": (OLGA, "Target days a week (1–7)", "date_input", "Starting", FAR,
                            "Add habit", "years ahead"),
    "habit end before start": (OLGA, "Last day", "date_input", "Last day", day(-40),
                               "End habit", "cannot end before"),
    "habit end too far": (OLGA, "Last day", "date_input", "Last day", FAR, "End habit",
                          "years ahead"),
    "date of birth before 1900": (ROSA, "Intentions", "date_input", "Date of birth",
                                  date(1850, 1, 1), "Save details", "after 1900"),
    "date of birth in the future": (ROSA, "Intentions", "date_input", "Date of birth", day(3),
                                    "Save details", "in the past"),
    "intake too far": (ROSA, "Intentions", "date_input", "Intake date", FAR, "Save details",
                       "years ahead"),
    "intake after the first event": (ROSA, "Intentions", "date_input", "Intake date", day(-5),
                                     "Save details", "the intake cannot be after them"),
    "new patient born before 1900": (None, "Chart number", "date_input", "Date of birth",
                                     date(1850, 1, 1), "Add patient", "after 1900"),
    "new patient intake too far": (None, "Chart number", "date_input", "Intake date", FAR,
                                   "Add patient", "years ahead"),
}


@pytest.mark.parametrize("case", list(BOUNDED))
def test_an_invalid_value_is_never_saved(clinic, monkeypatch, case):
    url, factory, pks, _ = clinic
    chart, anchor, kind, label, bad, button, words = BOUNDED[case]
    at = page(clinic, monkeypatch)
    if chart is not None:
        choose(at, chart)
    form = form_id(at, anchor)
    if chart is not None:
        assert form.endswith(f"_{pks[chart]}"), form  # the form is drawn for that patient
    else:  # a new patient: fill in what is needed so only the bounded field is wrong
        field(at, "text_input", "Chart number", form).input("KAP-000099")
        field(at, "text_input", "First name", form).input("Nina")
        field(at, "text_input", "Last name", form).input("New")
        if label != "Date of birth":
            field(at, "date_input", "Date of birth", form).set_value(date(1990, 2, 2))
    if kind == "date_input":
        widget = field(at, kind, label, form)
        assert (widget.min, widget.max) == (DATE_FIELD_MIN, DATE_FIELD_MAX)
    with factory() as s:
        before = snapshot(s)
    field(at, kind, label, form).set_value(bad)
    if button == "Save score" and label != "Total score":
        field(at, "number_input", "Total score", form).set_value(5)
    if button == "Save infusion":
        field(at, "radio", "Outcome", form).set_value("completed")
        field(at, "selectbox", "Route, when completed", form).set_value("IV")
    submit(at, button, form)
    assert not at.exception
    assert any(words in e for e in errors(at)), errors(at)
    assert not successes(at)
    assert field(at, kind, label, form).value == bad  # what was typed stays
    with factory() as s:
        assert snapshot(s) == before
