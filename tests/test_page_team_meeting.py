"""The team meeting page: who may open it, what it shows, that it refreshes and stays small."""
from __future__ import annotations

import pickle
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, session_factory
from db.models import Infusion, Patient, Staff, TreatmentSeries
from db.queries.team_meeting import first_name
from tests.apptest_support import (  # noqa: F401 - fixtures
    DEMO_AS_OF,
    demo_clinic_template,
    demo_clinic_url,
    fresh_demo_clinic_url,
    page_test,
)
from ui import team_meeting_data
from ui.team_meeting_view import DISCUSSION_PER_PAGE, coming_week_chart, page_of
from ui.text import md_escape

PAGE = "pages/team_meeting.py"


def _patients(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return [tuple(r) for r in s.execute(
                select(Patient.first_name, Patient.last_name, Patient.patient_id))]
    finally:
        engine.dispose()


def _page_text(at) -> tuple[str, set[str]]:
    """Every string the page put on screen (titles, captions, metrics, table cells)
    but the Therapist column, and the set of values in that column: a patient may
    share a first name with a therapist, and the therapist's name is meant to show."""
    parts = [e.value for e in (*at.title, *at.subheader, *at.caption, *at.markdown)]
    parts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    therapists: set[str] = set()
    for table in at.table:
        frame = table.value
        therapists |= set(frame.get("Therapist", []))
        frame = frame.drop(columns=["Therapist"], errors="ignore")
        parts += list(frame.columns) + [str(v) for v in frame.to_numpy().ravel()]
    return "\n".join(str(p) for p in parts), therapists


def _birth_dates(url: str) -> list:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return list(s.scalars(select(Patient.date_of_birth)))
    finally:
        engine.dispose()


def _staff_first_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return {first_name(n) for n in s.scalars(select(Staff.full_name))}
    finally:
        engine.dispose()


def _leaks(text: str, patients: list[tuple[str, str, str]]) -> list[str]:
    found = []
    for first, last, chart in patients:
        for word in (first, last, chart):
            # Names of two letters or fewer would match initials and codes by chance.
            if len(word) > 2 and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.I):
                found.append(word)
    return found


@pytest.mark.parametrize("role", ["team_screen", "therapist", "medical_director"])
def test_each_allowed_role_sees_the_screen_and_no_identifiers(role, demo_clinic_url):
    at = page_test(PAGE, role, demo_clinic_url).run()
    assert not at.exception
    assert not at.error
    assert at.title[0].value.startswith("Team meeting · ")
    assert len(at.metric) == 7
    assert [s.value.split(" (")[0] for s in at.subheader] == ["Needs discussion", "Wins",
                                                               "Coming week"]
    assert "data last read at" in at.caption[0].value
    text, therapists = _page_text(at)
    patients = _patients(demo_clinic_url)
    assert patients and at.table  # the leak check reads real rows
    assert _leaks(text, patients) == []
    assert therapists and therapists <= _staff_first_names(demo_clinic_url)
    for born in _birth_dates(demo_clinic_url):
        assert born.isoformat() not in text and born.strftime("%-d %b %Y") not in text


def test_admin_is_refused(demo_clinic_url):
    at = page_test(PAGE, "admin", demo_clinic_url).run()
    assert not at.exception
    assert at.error and "not available" in at.error[0].value
    assert not at.metric and not at.table


def test_signed_out_is_refused(demo_clinic_url):
    at = page_test(PAGE, None, demo_clinic_url).run()
    assert at.error and not at.metric


def _metric(at, label_end: str) -> str:
    return next(m.value for m in at.metric if m.label.endswith(label_end))


def _book_infusion_today(url: str) -> None:
    """One more infusion booked on the as-of day, for any active series without one."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            busy = select(Infusion.series_id).where(Infusion.date == DEMO_AS_OF)
            series_id = s.scalar(select(func.min(TreatmentSeries.id))
                                 .where(TreatmentSeries.status == "active",
                                        TreatmentSeries.id.not_in(busy)))
            s.add(Infusion(series_id=series_id, date=DEMO_AS_OF, status="scheduled"))
            s.commit()
    finally:
        engine.dispose()


def test_refresh_picks_up_a_change_once_the_minute_turns(fresh_demo_clinic_url, monkeypatch):
    minute = {"key": "2026-11-27T09:00"}
    monkeypatch.setattr(team_meeting_data, "minute_key", lambda now=None: minute["key"])
    at = page_test(PAGE, "team_screen", fresh_demo_clinic_url).run()
    before = int(_metric(at, "Infusions"))

    _book_infusion_today(fresh_demo_clinic_url)
    at.run()
    # Same minute: the cached reading is shown (one read per minute, not per screen).
    assert int(_metric(at, "Infusions")) == before

    minute["key"] = "2026-11-27T09:01"
    at.run()
    assert int(_metric(at, "Infusions")) == before + 1


def test_clearing_the_cache_reads_again(fresh_demo_clinic_url):
    at = page_test(PAGE, "team_screen", fresh_demo_clinic_url).run()
    before = int(_metric(at, "Infusions"))
    _book_infusion_today(fresh_demo_clinic_url)
    team_meeting_data.load_team_meeting.clear()
    at.run()
    assert int(_metric(at, "Infusions")) == before + 1


def test_many_refreshes_do_not_grow_the_session(demo_clinic_url, monkeypatch):
    minute = {"n": 0}
    monkeypatch.setattr(team_meeting_data, "minute_key",
                        lambda now=None: f"2026-11-27T10:{minute['n']:02d}")
    at = page_test(PAGE, "team_screen", demo_clinic_url).run()
    before = at.session_state.to_dict()
    for n in range(1, 25):
        minute["n"] = n
        at.run()
        assert not at.exception
    after = at.session_state.to_dict()
    assert set(after) == set(before)
    assert len(pickle.dumps(after)) <= len(pickle.dumps(before)) + 16
    # The shared cache is bounded too, however many minutes pass.
    cache = team_meeting_data.load_team_meeting
    assert cache._info.max_entries == team_meeting_data.CACHE_MAX_ENTRIES


def test_minute_key_changes_each_minute():
    from datetime import datetime

    t = datetime(2026, 11, 27, 9, 0, 59)
    assert team_meeting_data.minute_key(t) != team_meeting_data.minute_key(t + timedelta(seconds=1))
    assert team_meeting_data.minute_key(t) == team_meeting_data.minute_key(t.replace(second=0))


def test_paging_turns_with_the_tick_and_wraps():
    rows = list(range(DISCUSSION_PER_PAGE * 2 + 1))
    pages = [page_of(rows, DISCUSSION_PER_PAGE, tick) for tick in range(4)]
    assert [(p[1], p[2]) for p in pages] == [(1, 3), (2, 3), (3, 3), (1, 3)]
    assert pages[2][0] == [rows[-1]]
    assert sum(len(p[0]) for p in pages[:3]) == len(rows)
    assert page_of([], DISCUSSION_PER_PAGE, 7) == ([], 1, 1)


def test_coming_week_chart_gets_two_rows_per_day():
    from db.queries.team_meeting import DayLoad

    days = [DayLoad(DEMO_AS_OF + timedelta(days=i), i, 7 - i) for i in range(7)]
    spec = coming_week_chart(days).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 14
    assert {v["What"] for v in values} == {"Infusions", "Sessions"}


@pytest.mark.parametrize("hostile", [
    "[Dan](http://example.invalid/x)", "_www.example.invalid", "dan@example.invalid",
    "**Dan**", "<b>Dan</b>", "HTTPS://example.invalid", ":red[Dan]",
])
def test_cells_show_names_as_typed(hostile):
    shown = md_escape(hostile)
    # No link pattern survives for the Markdown autolinker...
    assert not re.search(r"(?i)(https?|ftp|mailto):|(^|[^a-z0-9])www\\?\.|\w@", shown)
    # ...no Markdown mark is left unescaped, and the visible text is unchanged.
    assert not re.search(r"(?<!\\)[*_\[\]()<>`]", shown)
    assert re.sub(r"\\(.)", r"\1", shown).replace("\u2060", "") == hostile
