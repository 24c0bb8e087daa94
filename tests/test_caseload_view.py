"""ui.caseload_view: what a caseload row says, built from the engine's own rows."""
from __future__ import annotations

import pytest

from db.queries.caseload import caseload
from tests.record_fixtures import AS_OF, build_clinic
from ui import caseload_view as v


@pytest.fixture
def rows(session):
    clinic = build_clinic(session)
    return {r.chart: r for r in caseload(session, AS_OF, therapist_id=clinic.ther_a)}


def test_status_cell_keeps_flags_and_the_main_reason(rows):
    st_row = rows["KAP-ST"]
    assert "Stalled:" in st_row.reason  # the engine's flag note...
    cell = v.status_cell_with_reason(st_row)
    # ...is replaced by the flag's name up front; the main sentence stays whole.
    assert cell.startswith("✓ Compliant · ")
    assert "Stalled" in cell.split(":")[0]
    assert cell.endswith("2 of 2 integration sessions attended.")
    assert "none booked" not in cell
    nc = v.status_cell_with_reason(rows["KAP-NC"])
    assert nc.startswith("✕ Not compliant: Infusion on ") and nc.endswith("that day.")
    assert v.status_cell_with_reason(rows["KAP-NS"]).startswith(v.NO_SERIES)


def test_main_reason_without_notes_is_whole():
    assert v.main_reason("No infusion completed or booked yet.") == (
        "No infusion completed or booked yet.")
    assert v.main_reason("A. 1 past appointment still marked scheduled.") == "A."
    assert v.main_reason("") == ""


def test_infusion_bar():
    assert v.infusion_bar(2, 6) == "2 of 6 ●●○○○○"
    assert v.infusion_bar(0, 3) == "0 of 3 ○○○"
    assert v.infusion_bar(15, 30) == "15 of 30 " + "●" * 5 + "○" * 5
    assert v.infusion_bar(0, 0) == ""


def test_frame_cells(rows):
    frame = v.caseload_frame([rows["KAP-AR"], rows["KAP-PD"], rows["KAP-NS"]])
    ar, pd_row, ns = (frame.iloc[i] for i in range(3))
    assert ar["Patient"] == "Ari Risk · KAP-AR"
    assert ar["Series"] == "#1 · 4 of 6 ●●●●○○"
    assert (ar["Preparation"], ar["Integration"], ar["PHQ-9"]) == ("✓ met", "1 of 2", "9 (−9)")
    assert ar["Habits"] == pytest.approx(66.7)
    assert pd_row["Preparation"] == "✕ missing"
    assert ns["Series"] == "" and ns["Integration"] == "" and ns["PHQ-9"] == ""
    assert list(frame[v.CHART_KEY]) == ["KAP-AR", "KAP-PD", "KAP-NS"]
    with_therapist = v.caseload_frame([rows["KAP-AR"]], with_therapist=True)
    assert with_therapist.iloc[0]["Patient"] == "Ari Risk · KAP-AR · Alma Therapist"
