"""Audit log pager (issue 14 audit): a page number out of range is said beside the
field, and the table shows the page named in the message, not a leftover one."""
from __future__ import annotations

import pytest

from db.audit import record
from db.engine import make_engine, session_factory
from tests.apptest_support import (  # noqa: F401 - fixtures
    demo_clinic_template,
    fresh_demo_clinic_url,
    page_test,
    shown,
)
from tests.bound_support import element_after, message_beside

PAGE_SIZE = 50


@pytest.fixture
def busy_clinic(fresh_demo_clinic_url):
    engine = make_engine(fresh_demo_clinic_url)
    with session_factory(engine)() as s:
        for n in range(3 * PAGE_SIZE):
            record(s, "pager.test", "test.event", n=n)
        s.commit()
    engine.dispose()
    return fresh_demo_clinic_url


def pager(at):
    return next(n for n in at.number_input if n.label.startswith("Page (of "))


@pytest.mark.parametrize("typed, expected_page", [(0, 1), (-3, 1), (999, None), (None, 1)])
def test_out_of_range_page_is_said_and_the_page_shown_is_named(busy_clinic, typed,
                                                               expected_page):
    at = page_test("pages/audit_log.py", "admin", busy_clinic).run()
    at.selectbox(key="audit_action").select("test.event").run()
    box = pager(at)
    pages = int(box.label.removeprefix("Page (of ").removesuffix(")"))
    assert pages == 3
    expected_page = pages if expected_page is None else expected_page
    box.set_value(typed).run()
    assert not at.exception
    assert message_beside(at, pager(at).key) == \
        f"Page: from 1 to {pages}; showing page {expected_page}."
    first = (expected_page - 1) * PAGE_SIZE + 1
    assert any(f"showing {first}–" in shown(c.value) for c in at.caption)


def test_a_page_in_range_has_no_message(busy_clinic):
    at = page_test("pages/audit_log.py", "admin", busy_clinic).run()
    at.selectbox(key="audit_action").select("test.event").run()
    pager(at).set_value(2).run()
    assert element_after(at, pager(at).key) is None or message_beside(at, pager(at).key) is None
    assert any("showing 51–100" in shown(c.value) for c in at.caption)
