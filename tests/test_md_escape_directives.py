"""Issue 15, item 11: Streamlit's own Markdown extensions in a name show as typed.

Streamlit's Markdown turns ``:material/warning:`` into an icon (a text
substitution made before parsing, so an escaped colon alone does not stop it),
``:red[...]`` into coloured text and ``:smile:`` into an emoji. A patient and a
therapist named with them are shown on the patient and Record care pages: the
Markdown each element receives has no such pattern left, and reads back as the
name typed. (tests/reliability/test_browser_hostile_text.py checks the same in
Chromium.)
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from db.engine import session_factory
from db.models import Patient, Staff
from tests.apptest_support import clinic_app, shown
from tests.record_fixtures import AS_OF, build_clinic
from ui.access import CURRENT_USER_KEY, CurrentUser
from ui.text import md_escape

FIRST, LAST = ":material/warning: :red[ALERT]", ":smile: :small[x] :blue-badge[y]"
THERAPIST = ":material/block: Alma :violet[Therapist]"
# What Streamlit's Markdown would act on: an unescaped ":material/", or a colon
# directive (":name[" or ":name:") whose colon is not escaped.
ACTIVE = re.compile(r"(?<!\\):material/|(?<!\\):[a-z_-]+(\[|:)")


@pytest.mark.parametrize("text", [FIRST, LAST, THERAPIST, ":material/warning:", "a:b/c"])
def test_md_escape_leaves_no_directive(text):
    escaped = md_escape(text)
    assert not ACTIVE.search(escaped) and ":material/" not in escaped
    assert shown(escaped) == text


@pytest.fixture
def named_clinic(engine):
    with session_factory(engine)() as s:
        c = build_clinic(s)
        s.execute(update(Patient).where(Patient.patient_id == "KAP-NC")
                  .values(first_name=FIRST, last_name=LAST))
        s.execute(update(Staff).where(Staff.id == c.ther_a).values(full_name=THERAPIST))
        s.commit()
        me = s.scalar(select(Staff).where(Staff.id == c.ther_a))
        user = CurrentUser(me.id, me.username, me.full_name, me.role)
    return engine.url.render_as_string(hide_password=False), user


def _markdown_bodies(at) -> list[str]:
    bodies = []
    for kind in ("title", "subheader", "caption", "markdown"):
        bodies += [e.value for e in at.get(kind)]
    return bodies


@pytest.mark.parametrize("page,state", [
    ("pages/patient.py", {}),
    ("pages/record_care.py", {}),
])
def test_pages_show_the_names_literally(named_clinic, page, state):
    url, user = named_clinic
    at = clinic_app(page, url, today=AS_OF)
    at.session_state[CURRENT_USER_KEY] = user
    at.query_params["patient"] = "KAP-NC"
    at.run()
    assert not at.exception, at.exception
    bodies = [b for b in _markdown_bodies(at) if "ALERT" in b or "Therapist" in b]
    assert bodies, "the page names neither the patient nor the therapist"
    for body in bodies:
        assert not ACTIVE.search(body), body
    text = " ".join(shown(b) for b in bodies)
    assert FIRST in text and THERAPIST in text


def test_habit_checkboxes_label_the_name_literally(named_clinic, engine):
    """A checkbox label is Markdown even when collapsed (the week grid's ticks)."""
    from datetime import timedelta

    from db.models import Habit

    url, user = named_clinic
    with session_factory(engine)() as s:
        patient = s.scalar(select(Patient.id).where(Patient.patient_id == "KAP-NC"))
        s.add(Habit(patient_id=patient, name=FIRST, target_per_week=3,
                    start_date=AS_OF - timedelta(days=14)))
        s.commit()
    at = clinic_app("pages/record_care.py", url, today=AS_OF)
    at.session_state[CURRENT_USER_KEY] = user
    at.query_params["patient"] = "KAP-NC"
    at.run()
    assert not at.exception, at.exception
    labels = [c.label for c in at.checkbox if "ALERT" in c.label]
    assert labels, [c.label for c in at.checkbox]
    for label in labels:
        assert not ACTIVE.search(label), label
        assert shown(label).startswith(FIRST + " "), label
