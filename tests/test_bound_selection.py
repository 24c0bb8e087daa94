"""Issue 14's audit of the list pages: a row picked in the caseload or the compliance
exceptions opens the patient of the row that was clicked, never whoever is in that
position after the list changed (ui.bound_selection)."""
from __future__ import annotations

import json

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.proto.WidgetStates_pb2 import WidgetStates

from db.engine import make_engine, session_factory
from db.models import Patient, Staff
from tests.apptest_support import (  # noqa: F401 - fixtures
    demo_clinic_template,
    fresh_demo_clinic_url,
    page_test,
)
from ui.bound_selection import OUTDATED_MESSAGE
from ui.caseload_view import CHART_KEY


def select_row(at, table, row: int):
    """What the browser sends when a row of ``table`` (as last drawn) is clicked."""
    states: WidgetStates = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = table.proto.id
    state.string_value = json.dumps({"selection": {"rows": [row], "columns": []}})
    return at._run(states)


@pytest.fixture
def switches(monkeypatch) -> list[dict]:
    """Every st.switch_page the page asks for (a page run alone has no navigation)."""
    calls: list[dict] = []

    def switch_page(page, *, query_params=None):
        calls.append(dict(query_params or {}))
        st.stop()

    monkeypatch.setattr(st, "switch_page", switch_page)
    return calls


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def _move_patient_away(url: str, chart: str) -> None:
    """Another user's save: the patient goes to another therapist, the list changes."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        patient = s.scalar(select(Patient).where(Patient.patient_id == chart))
        other = s.scalar(select(Staff.id).where(Staff.role == "therapist",
                                                Staff.id != patient.therapist_id))
        patient.therapist_id = other
        s.commit()
    engine.dispose()
    # As ui.forms.changed_views does after a save on this server.
    st.cache_data.clear()
    st.cache_resource.clear()


def test_caseload_row_opens_the_patient_clicked(fresh_demo_clinic_url, switches):
    at = page_test("pages/caseload.py", "therapist", fresh_demo_clinic_url).run()
    table = at.dataframe[0]
    charts = list(table.value[CHART_KEY])
    at = select_row(at, table, 2)
    assert not at.exception
    assert switches == [{"patient": charts[2]}]


def test_caseload_click_on_a_changed_list_opens_nobody(fresh_demo_clinic_url, switches):
    at = page_test("pages/caseload.py", "therapist", fresh_demo_clinic_url).run()
    table = at.dataframe[0]
    charts = list(table.value[CHART_KEY])
    _move_patient_away(fresh_demo_clinic_url, charts[0])
    # The person clicks the third row of the list they see; on the server that
    # position now holds the patient who was fourth.
    at = select_row(at, table, 2)
    assert not at.exception
    assert switches == []
    assert OUTDATED_MESSAGE in warnings(at)
    now = list(at.dataframe[0].value[CHART_KEY])
    assert now[:3] == charts[1:4]
    # A click on the list now shown opens the row clicked.
    at = select_row(at, at.dataframe[0], 2)
    assert switches == [{"patient": now[2]}]


def test_compliance_exception_click_on_a_changed_list_opens_nobody(fresh_demo_clinic_url,
                                                                   switches):
    at = page_test("pages/compliance.py", "medical_director", fresh_demo_clinic_url).run()
    at.selectbox(key="compliance_period").select("Last year").run()
    ther = at.selectbox(key="compliance_therapist")
    at.selectbox(key="compliance_therapist").select_index(1).run()
    table = at.dataframe[0]
    listed = list(table.value["Patient"])
    assert len(listed) >= 3, "a demo therapist has exceptions last year"
    _move_patient_away(fresh_demo_clinic_url, listed[0])
    at = select_row(at, table, 1)
    assert not at.exception
    assert switches == []
    assert OUTDATED_MESSAGE in warnings(at)
    now = list(at.dataframe[0].value["Patient"])
    assert listed[0] not in now
    at = select_row(at, at.dataframe[0], 1)
    assert switches == [{"patient": now[1]}]
    assert ther.options[1] != "Whole clinic"
