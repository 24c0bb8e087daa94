"""The caseload page: scope per role, order by need, tiles, filters, search, refusals."""
from __future__ import annotations

import pytest

from db.engine import make_engine, session_factory
from db.queries.caseload import caseload, filter_rows
from tests.apptest_support import (  # noqa: F401 - fixtures
    DEMO_AS_OF,
    demo_clinic_template,
    demo_clinic_url,
    page_test,
    user_for,
)
from tests.record_care_apptest import migrated_sqlite
from tests.record_fixtures import AS_OF, build_clinic
from ui.access import CurrentUser
from ui.caseload_view import CHART_KEY

PAGE = "pages/caseload.py"


@pytest.fixture(scope="module")
def hand_clinic(tmp_path_factory):
    """The hand-built clinic of tests/record_fixtures.py in its own SQLite file."""
    path = tmp_path_factory.mktemp("caseload-page") / "clinic.db"
    url = migrated_sqlite(path)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        clinic = build_clinic(s)
    engine.dispose()
    return url, clinic


def _therapist_a(clinic) -> CurrentUser:
    return CurrentUser(clinic.ther_a, "ther_a", "Alma Therapist", "therapist")


def _charts(at) -> list[str]:
    return list(at.dataframe[0].value[CHART_KEY])


def test_therapist_sees_own_open_series_by_need(hand_clinic):
    url, clinic = hand_clinic
    at = page_test(PAGE, _therapist_a(clinic), url, today=AS_OF).run()
    assert not at.exception and not at.error
    assert at.title[0].value == "My caseload"
    # Non-compliant, at risk, stalled, preparation due, then by next infusion;
    # the patient with no series yet last; closed series hidden; ther_b's never.
    assert _charts(at) == ["KAP-NC", "KAP-AR", "KAP-ST", "KAP-PD", "KAP-OT", "KAP-NS"]
    assert not at.selectbox  # no therapist picker for a therapist
    values = [int(m.value) for m in at.metric]
    assert values == [5, 1, 1, 1, 1]  # active, at risk, not compliant, stalled, prep due
    first = at.dataframe[0].value.iloc[0]
    assert first["Status and reason"].startswith("✕ Not compliant: Infusion on")
    assert first["Patient"] == "Nora Noprep · KAP-NC"
    assert first["Series"].startswith("#1 · 2 of 6 ●●")


def test_closed_series_behind_the_toggle(hand_clinic):
    url, clinic = hand_clinic
    at = page_test(PAGE, _therapist_a(clinic), url, today=AS_OF).run()
    at.toggle(key="caseload_closed").set_value(True).run()
    assert _charts(at) == ["KAP-NC", "KAP-AR", "KAP-ST", "KAP-PD", "KAP-OT", "KAP-NS",
                           "KAP-CO", "KAP-DI"]


def test_status_and_flag_filters_and_search(hand_clinic):
    url, clinic = hand_clinic
    at = page_test(PAGE, _therapist_a(clinic), url, today=AS_OF).run()
    at.multiselect(key="caseload_status").set_value(["At risk", "On track"]).run()
    assert _charts(at) == ["KAP-AR", "KAP-OT"]
    at.multiselect(key="caseload_status").set_value([]).run()
    at.multiselect(key="caseload_flags").set_value(["Stalled", "Preparation due"]).run()
    assert _charts(at) == ["KAP-ST", "KAP-PD"]
    at.multiselect(key="caseload_flags").set_value([]).run()
    at.text_input(key="caseload_search").input("kap-ot").run()
    assert _charts(at) == ["KAP-OT"]
    # Another therapist's patient is not found by name either.
    at.text_input(key="caseload_search").input("Bea").run()
    assert not at.dataframe and "No patient matches" in at.info[0].value


def test_director_picks_a_therapist_or_all(hand_clinic):
    url, clinic = hand_clinic
    director = CurrentUser(clinic.director, "md", "Mona Director", "medical_director")
    at = page_test(PAGE, director, url, today=AS_OF).run()
    assert not at.exception
    assert at.title[0].value == "Caseloads"
    picker = at.selectbox(key="caseload_therapist")
    assert picker.value is None  # All therapists
    assert "KAP-B1" in _charts(at) and "KAP-NC" in _charts(at)
    assert "Alma Therapist" in at.dataframe[0].value.iloc[0]["Patient"]
    picker.set_value(clinic.ther_b).run()
    assert _charts(at) == ["KAP-B1"]


def test_signed_out_is_refused(demo_clinic_url):
    at = page_test(PAGE, None, demo_clinic_url).run()
    assert at.error and "sign in" in at.error[0].value
    assert not at.dataframe and not at.metric and not at.subheader


@pytest.mark.parametrize("role", ["admin", "team_screen"])
def test_other_roles_are_refused(role, demo_clinic_url):
    at = page_test(PAGE, role, demo_clinic_url).run()
    assert at.error and "not available" in at.error[0].value
    assert not at.dataframe and not at.metric


def test_demo_clinic_order_is_the_query_s(demo_clinic_url):
    """On the demo clinic the page shows exactly the query's open rows, in its order,
    and that order never puts a calmer series above a more urgent one."""
    at = page_test(PAGE, "therapist", demo_clinic_url).run()
    assert not at.exception and not at.error
    user = user_for(demo_clinic_url, "therapist")
    engine = make_engine(demo_clinic_url)
    with session_factory(engine)() as s:
        rows = filter_rows(caseload(s, DEMO_AS_OF, therapist_id=user.id))
    engine.dispose()
    assert rows, "the demo therapist should have open series"
    assert _charts(at) == [r.chart for r in rows]
    buckets = [r.rank[0] for r in rows]
    assert buckets == sorted(buckets)
