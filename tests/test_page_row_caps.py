"""What a page sends to the browser stays bounded however big the network (issue 9).

The caps are lowered here so that the 60-patient demo clinic exceeds them; the
benchmark (``python -m bench``) shows the real caps holding at 50,000 patients.
"""
from __future__ import annotations

from types import SimpleNamespace

from tests.apptest_support import demo_clinic_template, demo_clinic_url, page_test  # noqa: F401
from ui import caseload_view, compliance_view


def _frames(at):
    return [el.value for el in at.dataframe]


def test_caseload_lists_the_most_urgent_first_up_to_the_cap(demo_clinic_url, monkeypatch):
    full = page_test("pages/caseload.py", "medical_director", demo_clinic_url).run()
    assert not full.exception
    (everyone,) = _frames(full)
    assert len(everyone) > 5
    monkeypatch.setattr(caseload_view, "MAX_TABLE_ROWS", 5)
    capped = page_test("pages/caseload.py", "medical_director", demo_clinic_url).run()
    assert not capped.exception
    (listed,) = _frames(capped)
    assert len(listed) == 5
    # The same patients, in the same order, as the top of the full list.
    assert list(listed[caseload_view.CHART_KEY]) == list(everyone[caseload_view.CHART_KEY][:5])
    assert any(f"Listing the 5 who need attention most of these {len(everyone)}" in c.value
               for c in capped.caption)


def test_caseload_under_the_cap_says_nothing_about_it(demo_clinic_url):
    at = page_test("pages/caseload.py", "therapist", demo_clinic_url).run()
    assert not at.exception
    assert not any("Listing the" in c.value for c in at.caption)


def test_compliance_tables_are_capped(demo_clinic_url, monkeypatch):
    full = page_test("pages/compliance.py", "medical_director", demo_clinic_url).run()
    assert not full.exception
    exceptions, therapists = _frames(full)
    # The cap is set just below what the demo clinic has, so that it must cut.
    assert len(exceptions) >= 2 and len(therapists) > 1
    cap = len(exceptions) - 1
    monkeypatch.setattr(compliance_view, "MAX_EXCEPTION_ROWS", cap)
    monkeypatch.setattr(compliance_view, "MAX_THERAPIST_ROWS", 1)
    capped = page_test("pages/compliance.py", "medical_director", demo_clinic_url).run()
    assert not capped.exception
    few_exceptions, one_therapist = _frames(capped)
    assert list(few_exceptions["Patient"]) == list(exceptions["Patient"][:cap])
    lowest = therapists.sort_values(["Compliance %", "Therapist"], na_position="last").iloc[0]
    assert list(one_therapist["Therapist"]) == [lowest["Therapist"]]
    captions = " ".join(c.value for c in capped.caption)
    assert f"The {cap} most urgent of {len(exceptions)} exceptions" in captions
    assert f"The 1 therapists with the lowest compliance rate, of {len(therapists)}" in captions


def _figures(name: str, tid: int, rate: float | None):
    return SimpleNamespace(therapist_name=name, therapist_id=tid,
                           figures=SimpleNamespace(compliance_rate=rate))


def test_furthest_behind_lowest_rate_first_and_no_rate_last():
    rows = [_figures("Ann", 1, 90.0), _figures("Bob", 2, None), _figures("Cy", 3, 40.0),
            _figures("Di", 4, 40.0)]
    assert [t.therapist_name for t in compliance_view.furthest_behind(rows, 3)] == \
        ["Cy", "Di", "Ann"]
    assert [t.therapist_name for t in compliance_view.furthest_behind(rows, 9)][-1] == "Bob"
