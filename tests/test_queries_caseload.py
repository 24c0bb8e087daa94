"""db.queries.caseload: scope, the order by need, tiles, filters and row contents."""
from __future__ import annotations

from datetime import timedelta

import pytest

from db.protocol import compute_compliance
from db.queries import caseload as q
from tests.record_fixtures import AS_OF, build_clinic


@pytest.fixture
def clinic(session):
    return build_clinic(session)


def _charts(rows):
    return [r.chart for r in rows]


def test_therapist_sees_only_their_patients(session, clinic):
    rows = q.caseload(session, AS_OF, therapist_id=clinic.ther_a)
    assert set(_charts(rows)) == {"KAP-NC", "KAP-AR", "KAP-ST", "KAP-PD", "KAP-OT", "KAP-CO",
                                  "KAP-DI", "KAP-NS"}
    assert _charts(q.caseload(session, AS_OF, therapist_id=clinic.ther_b)) == ["KAP-B1"]
    everyone = q.caseload(session, AS_OF, therapist_id=None)
    assert set(_charts(everyone)) == set(clinic.patients)
    assert {r.therapist_name for r in everyone} == {"Alma Therapist", "Bo Therapist"}


def test_order_is_by_need_then_next_infusion(session, clinic):
    rows = q.caseload(session, AS_OF, therapist_id=clinic.ther_a)
    # Open series (and the patient with none yet) first: non-compliant, at risk,
    # stalled, preparation due, then the rest by next infusion. Closed series after.
    assert _charts(rows) == ["KAP-NC", "KAP-AR", "KAP-ST", "KAP-PD", "KAP-OT", "KAP-NS",
                             "KAP-CO", "KAP-DI"]
    assert [r.status for r in rows[:5]] == ["non_compliant", "at_risk", "compliant",
                                            "not_started", "on_track"]
    assert "stalled" in rows[2].flags and "prep_due" in rows[3].flags


def test_row_figures_are_the_engine_s(session, clinic):
    rows = {r.chart: r for r in q.caseload(session, AS_OF, therapist_id=clinic.ther_a)}
    engine = {sc.patient_id: sc for sc in compute_compliance(session, AS_OF,
                                                             therapist_id=clinic.ther_a)
              if sc.is_current}
    for chart, sc in engine.items():
        r = rows[chart]
        assert (r.status, r.reason, r.flags, r.preparation, r.next_infusion, r.window_end) == (
            sc.status, sc.reason, sc.flags, sc.preparation, sc.next_infusion, sc.window_end)
        assert (r.infusions_completed, r.infusions_planned) == (sc.infusions_completed,
                                                                sc.infusions_planned)
    ar = rows["KAP-AR"]
    assert (ar.name, ar.series_number, ar.infusions_completed, ar.infusions_planned) == (
        "Ari Risk", 1, 4, 6)
    assert ar.next_infusion == AS_OF + timedelta(days=1)
    assert ar.preparation == "met"
    assert ar.integration_text == "1 of 2"
    assert rows["KAP-OT"].integration_text == "1 of 2, 1 booked"
    # Walk: 2 of 3 days in each of the four weeks.
    assert ar.habit_adherence_pct == pytest.approx(66.7) and ar.habits_counted == 1
    assert (ar.phq9_latest, ar.phq9_change, ar.phq9_band) == (9, -9, "mild")
    nc = rows["KAP-NC"]
    assert nc.habit_adherence_pct is None and nc.phq9_latest is None
    ns = rows["KAP-NS"]
    assert ns.series_number is None and ns.status is None and ns.is_open


def test_tiles_count_open_series(session, clinic):
    rows = q.caseload(session, AS_OF, therapist_id=clinic.ther_a)
    t = q.tiles(rows)
    # NC, AR, ST, PD, OT are active; CO completed, DI discontinued, NS has none.
    assert t == q.CaseloadTiles(active_series=5, at_risk=1, non_compliant=1, stalled=1,
                                prep_due=1)


def test_filters(session, clinic):
    rows = q.caseload(session, AS_OF, therapist_id=clinic.ther_a)
    default = q.filter_rows(rows)
    assert "KAP-CO" not in _charts(default) and "KAP-DI" not in _charts(default)
    assert "KAP-NS" in _charts(default)
    assert _charts(q.filter_rows(rows, include_closed=True)) == _charts(rows)
    assert _charts(q.filter_rows(rows, statuses=["at_risk", "non_compliant"])) == [
        "KAP-NC", "KAP-AR"]
    assert _charts(q.filter_rows(rows, flags=["stalled", "prep_due"])) == ["KAP-ST", "KAP-PD"]
    assert _charts(q.filter_rows(rows, search="otto")) == ["KAP-OT"]
    assert _charts(q.filter_rows(rows, search="kap-st")) == ["KAP-ST"]
    assert _charts(q.filter_rows(rows, search="  RISK ari ")) == ["KAP-AR"]
    assert q.filter_rows(rows, search="cora") == []  # closed, hidden by default
    assert _charts(q.filter_rows(rows, search="cora", include_closed=True)) == ["KAP-CO"]


def test_integration_text():
    assert q.integration_text(0, 2, 0) == "0 of 2"
    assert q.integration_text(1, 2, 1) == "1 of 2, 1 booked"
    assert q.integration_text(3, 2, 0) == "3 of 2"


def test_therapists_for_the_picker(session, clinic):
    assert [t.username for t in q.therapists(session)] == ["ther_a", "ther_b"]
