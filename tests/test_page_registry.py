"""Every page of the page registry, opened by every role (issue 16).

The role -> page matrix is read from ``ui.pages.REGISTRY``, not restated: a page
a role has renders without an exception under its registry title; a page it
lacks is refused (``ui.access.require_page_access``) before it shows anything,
and the refusal is written to the audit trail as ``access.denied`` naming the
page and the role. On SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from db.demo import ensure_demo_accounts, generate_demo
from db.engine import make_engine, session_factory
from db.models import AuditEvent
from tests.apptest_support import (  # noqa: F401 (fixture)
    DEMO_AS_OF,
    DEMO_SEED,
    demo_clinic_template,
    page_test,
    user_for,
)
from tests.conftest import BACKENDS, _reset_postgres
from ui.pages import REGISTRY, all_page_paths, pages_for, title_for

MATRIX = [(role, path) for role in REGISTRY for path in all_page_paths()]
PG_PATIENTS = 20  # enough for every page to have something to show


@pytest.fixture(scope="module", params=BACKENDS)
def clinic_url(request, demo_clinic_template, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("registry") / "clinic.db"
        shutil.copy(demo_clinic_template, path)
        yield f"sqlite:///{path}"
        return
    engine = request.getfixturevalue("pg_engine")
    _reset_postgres(engine)
    with session_factory(engine)() as session:
        generate_demo(session, patients=PG_PATIENTS, seed=DEMO_SEED, as_of=DEMO_AS_OF)
        ensure_demo_accounts(session)
    yield engine.url.render_as_string(hide_password=False)


def _refusals(url: str, username: str) -> list[dict]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return [json.loads(e.detail) for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == "access.denied",
                                         AuditEvent.actor == username).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def test_the_matrix_covers_every_role_and_page():
    assert len(MATRIX) == len(REGISTRY) * len(all_page_paths())
    # Each role has some page and lacks some (else one half of the test would be empty).
    assert all(pages_for(role) for role in REGISTRY)
    assert any(len(pages_for(role)) < len(all_page_paths()) for role in REGISTRY)


@pytest.mark.parametrize("role, path", MATRIX, ids=[f"{r}-{p[6:-3]}" for r, p in MATRIX])
def test_every_role_on_every_page(clinic_url, role, path):
    user = user_for(clinic_url, role)
    allowed = path in {spec.path for spec in pages_for(role)}
    before = _refusals(clinic_url, user.username)
    at = page_test(path, user, clinic_url).run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [t.value for t in at.title]
    if allowed:
        title = title_for(path, role)
        assert any(t == title or t.startswith(f"{title} · ") for t in titles), (title, titles)
        assert not any("not available" in e.value for e in at.error)
        assert _refusals(clinic_url, user.username) == before
    else:
        assert titles == [], titles  # refused before anything of the page is drawn
        assert [e.value for e in at.error] == [
            f"This page is not available to the {user.role_label.lower()} role."]
        assert _refusals(clinic_url, user.username) == [*before, {"page": path, "role": role}]
