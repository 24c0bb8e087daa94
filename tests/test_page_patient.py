"""The patient page: every route to a record goes through one access check, a
refusal and every view are audited, and the charts get bounded, aggregated rows."""
from __future__ import annotations

import json
import re
from datetime import date

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from db.engine import make_engine, session_factory
from db.models import AuditEvent, HabitLog, Patient
from tests.apptest_support import (  # noqa: F401 - fixtures
    demo_clinic_template,
    demo_clinic_url,
    page_test,
)
from tests.record_care_apptest import migrated_sqlite
from tests.record_fixtures import AS_OF, add_long_history, build_clinic
from ui.access import CurrentUser

PAGE = "pages/patient.py"
REFUSAL = "only the records of patients on your own caseload"


@pytest.fixture(scope="module")
def hand_clinic(tmp_path_factory):
    path = tmp_path_factory.mktemp("patient-page") / "clinic.db"
    url = migrated_sqlite(path)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        clinic = build_clinic(s)
        add_long_history(s, clinic.ther_a)
    engine.dispose()
    return url, clinic


def _user(clinic, who: str) -> CurrentUser:
    if who == "ther_a":
        return CurrentUser(clinic.ther_a, "ther_a", "Alma Therapist", "therapist")
    return CurrentUser(clinic.director, "md", "Mona Director", "medical_director")


def _events(url: str, action: str, chart: str) -> list[dict]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            rows = s.execute(select(AuditEvent.actor, AuditEvent.detail)
                             .where(AuditEvent.action == action,
                                    AuditEvent.patient_ref == chart)
                             .order_by(AuditEvent.id)).all()
            return [{"actor": a, **json.loads(d)} for a, d in rows]
    finally:
        engine.dispose()


def _plain(markdown: str) -> str:
    """Markdown source with the escapes that keep data literal taken out."""
    return markdown.replace("\\", "")


def _open(url, user, chart=None):
    at = page_test(PAGE, user, url, today=AS_OF)
    if chart is not None:
        at.query_params["patient"] = chart
    return at.run()


def _record_shown(at) -> bool:
    return any(s.value == "Series timeline" for s in at.subheader)


def test_therapist_opens_own_patient_by_link_and_it_is_audited(hand_clinic):
    url, clinic = hand_clinic
    before = len(_events(url, "patient.view", "KAP-AR"))
    at = _open(url, _user(clinic, "ther_a"), "KAP-AR")
    assert not at.exception and not at.error
    assert at.title[0].value == "Ari Risk"
    caption = _plain(at.caption[0].value)
    assert "Chart KAP-AR" in caption and "Alma Therapist" in caption
    assert [s.value for s in at.subheader] == ["Series timeline",
                                               "Attendance against the minimum", "Outcomes",
                                               "Habits"]
    text = " ".join(m.value for m in at.markdown)
    assert "1 of 2 attended, none booked" in text and "1 more to book" in text
    assert "**response**" in text  # PHQ-9 18 -> 9
    assert "Sleep through the night" in at.text[0].value
    events = _events(url, "patient.view", "KAP-AR")
    assert len(events) == before + 1
    assert events[-1]["actor"] == "ther_a" and events[-1]["route"] == "link"


@pytest.mark.parametrize("chart", ["KAP-B1", "KAP-NOPE"])
def test_link_outside_the_caseload_is_refused_and_audited(hand_clinic, chart):
    url, clinic = hand_clinic
    at = _open(url, _user(clinic, "ther_a"), chart)
    assert not at.exception
    assert at.error and REFUSAL in at.error[0].value
    assert not _record_shown(at)
    # Whether the chart exists or not, the therapist hears the same sentence.
    assert "Bea" not in " ".join(e.value for e in (*at.title, *at.markdown, *at.caption))
    denied = _events(url, "patient.view_denied", chart)
    assert denied and denied[-1]["actor"] == "ther_a" and denied[-1]["route"] == "link"
    assert not _events(url, "patient.view", chart)


def test_search_by_chart_outside_the_caseload_is_refused_and_audited(hand_clinic):
    url, clinic = hand_clinic
    before = len(_events(url, "patient.view_denied", "KAP-B1"))
    at = _open(url, _user(clinic, "ther_a"))
    at.text_input(key="patient_search").input("KAP-B1").run()
    refusal = at.sidebar.info[0].value
    assert "You can open only the records of your own patients" in refusal
    assert not _record_shown(at) and not at.selectbox
    denied = _events(url, "patient.view_denied", "KAP-B1")
    assert len(denied) == before + 1 and denied[-1]["route"] == "search"
    # A rerun with the same search does not audit the attempt again.
    at.run()
    assert len(_events(url, "patient.view_denied", "KAP-B1")) == before + 1
    # A chart number that does not exist gets the very same words: the refusal
    # does not reveal that KAP-B1 exists.
    at.text_input(key="patient_search").input("KAP-B9").run()
    assert at.sidebar.info[0].value == refusal


def test_search_by_name_finds_only_own_patients(hand_clinic):
    url, clinic = hand_clinic
    at = _open(url, _user(clinic, "ther_a"))
    assert not _record_shown(at) and at.info  # nothing chosen yet
    at.text_input(key="patient_search").input("bea").run()
    assert "No patient on your caseload matches" in at.sidebar.info[0].value
    assert not at.selectbox
    at.text_input(key="patient_search").input("otto").run()
    pick = at.selectbox(key="patient_pick")
    assert pick.options == ["Otto Ontrack · KAP-OT"]
    pick.set_value("KAP-OT").run()
    assert at.title[0].value == "Otto Ontrack" and _record_shown(at)
    assert at.query_params["patient"] in ("KAP-OT", ["KAP-OT"])
    assert _events(url, "patient.view", "KAP-OT")[-1]["route"] == "search"


def test_director_opens_any_patient(hand_clinic):
    url, clinic = hand_clinic
    at = _open(url, _user(clinic, "md"), "KAP-B1")
    assert not at.exception and not at.error
    assert at.title[0].value == "Bea Other"
    assert _events(url, "patient.view", "KAP-B1")[-1]["actor"] == "md"
    at = _open(url, _user(clinic, "md"), "KAP-NOPE")
    assert at.error and "No patient has that chart number" in at.error[0].value


def test_signed_out_is_refused(demo_clinic_url):
    at = page_test(PAGE, None, demo_clinic_url).run()
    assert at.error and "sign in" in at.error[0].value
    assert not at.dataframe and not at.metric and not at.subheader


@pytest.mark.parametrize("role", ["admin", "team_screen"])
def test_other_roles_are_refused(role, demo_clinic_url):
    at = page_test(PAGE, role, demo_clinic_url)
    at.query_params["patient"] = "KAP-000001"
    at.run()
    assert at.error and "not available" in at.error[0].value
    assert not at.title or at.title[0].value != "KAP-000001"


def test_patient_without_history_shows_plain_words(hand_clinic):
    url, clinic = hand_clinic
    at = _open(url, _user(clinic, "ther_a"), "KAP-NS")
    assert not at.exception and not at.error
    infos = " ".join(i.value for i in at.info)
    assert "No infusions or therapy sessions" in infos and "No habits" in infos
    assert "No PHQ-9 or GAD-7 scores" in infos


def test_habit_not_started_yet_says_so(hand_clinic):
    url, clinic = hand_clinic
    at = _open(url, _user(clinic, "ther_a"), "KAP-OT")
    assert not at.exception and not at.error
    assert any("starts" in m.value and "Journal" in m.value for m in at.markdown)
    assert any("Not started yet" in c.value for c in at.caption)


def _chart_rows(at) -> list[int]:
    """Rows of every dataset each chart sends to the browser."""
    rows = []
    for chart in at.get("vega_lite_chart"):
        for ds in chart.proto.datasets:
            rows.append(pa.ipc.open_stream(ds.data.data).read_all().num_rows)
    return rows


def test_five_years_of_daily_logs_send_bounded_chart_rows(hand_clinic):
    url, clinic = hand_clinic
    engine = make_engine(url)
    with session_factory(engine)() as s:
        logs = s.scalar(select(func.count()).select_from(HabitLog))
    engine.dispose()
    at = _open(url, _user(clinic, "ther_a"), "KAP-LH")
    assert not at.exception and at.title[0].value == "Lana Long"
    rows = _chart_rows(at)
    assert len(at.get("vega_lite_chart")) == 7  # timeline, attendance, PHQ-9, 2 x 2 habits
    assert logs > 2500
    # No chart dataset beyond one half-year calendar (27 weeks x 7 days).
    assert max(rows) <= 27 * 7
    assert sum(rows) < 1000
    # The same charts for a patient with five weeks of logs: habit charts send as
    # many rows per habit (the half-year window), not fewer or more by history.
    short = _chart_rows(_open(url, _user(clinic, "ther_a"), "KAP-AR"))
    assert max(short) <= max(rows)


HOSTILE_NAME = "**Bo**ld_ [x](javascript:alert(1)) $x^2$ <b>#1</b>"


def test_hostile_text_is_shown_literally(hand_clinic):
    """Markdown marks in a name are escaped; intentions go through st.text."""
    url, clinic = hand_clinic
    engine = make_engine(url)
    with session_factory(engine)() as s:
        s.add(Patient(patient_id="KAP-HX", pseudonym="HX0001", first_name=HOSTILE_NAME,
                      last_name="Line\nBreak", date_of_birth=date(1990, 1, 1),
                      therapist_id=clinic.ther_a, intake_date=AS_OF,
                      intentions="<script>alert(1)</script> **not bold**"))
        s.commit()
    engine.dispose()
    at = _open(url, _user(clinic, "ther_a"), "KAP-HX")
    assert not at.exception and not at.error
    title = at.title[0].value
    # Every Markdown-active character arrives escaped, and the line break is a space.
    unescaped = re.findall(r"(?<!\\)[*_\[\]()$<>#`]", title)
    assert unescaped == [], title
    assert _plain(title) == HOSTILE_NAME + " Line Break"
    assert at.text[0].value == "<script>alert(1)</script> **not bold**"
