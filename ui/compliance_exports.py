"""Download buttons for the compliance page (the tables' CSVs are ui/downloads.py's).

Files are built only when the browser asks for one (Streamlit runs a
callable ``data`` on its own thread), so a page view never pays for an export.
Those callables touch no Streamlit state: they get the engine, the user and
the figures captured here.

The audit event is written when the file is made, inside the callable, not
on the click: a browser can ask for a deferred file over the websocket without
clicking (issue 15). A file is made only while the browser session that drew
the button is still signed in with the same sign-in; afterwards the request is
refused and audited. The file itself is then served from ``/media`` only to a
signed-in browser, with ``Cache-Control: no-store`` (ui/http_guard.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import streamlit as st

from db import audit
from db.engine import session_factory
from db.exports.compliance_csv import exceptions_csv, series_csv
from db.exports.compliance_pdf import ReportContext, build_compliance_pdf
from db.protocol import ProtocolConfig
from db.queries.compliance import PeriodReport, TrendPoint
from ui import http_guard, session_socket
from ui.access import CurrentUser
from ui.compliance_view import chart_png
from ui.database import get_engine

CSV = "text/csv"
T = TypeVar("T")


class ExportRefused(PermissionError):
    """The browser session that drew the button is no longer signed in as its user."""


def audited_file(build: Callable[[], T], user: CurrentUser, action: str,
                 **detail: object) -> Callable[[], T]:
    """``build`` as a deferred download: audited when the file is made, refused once signed out.

    Call it in the page's run (it captures this browser session's sign-in);
    Streamlit calls the result later, on its own thread.
    """
    engine = get_engine()
    session_id = session_socket.session_id()
    drawn_for = http_guard.grant_of(session_id)

    def make() -> T:
        if drawn_for is None or http_guard.grant_of(session_id) != drawn_for:
            with session_factory(engine)() as session:
                audit.record(session, user.username, "access.denied", None, page="(export)",
                             role=user.role, export=action,
                             reason="the file was asked for after the sign-in ended", **detail)
                session.commit()
            raise ExportRefused(f"{action}: not signed in any more")
        data = build()
        with session_factory(engine)() as session:
            audit.record(session, user.username, action, None, **detail)
            session.commit()
        return data

    return make


def compliance_downloads(report: PeriodReport, points: Sequence[TrendPoint],
                         settings: ProtocolConfig, user: CurrentUser, scope_label: str,
                         therapist_id: int | None) -> None:
    """Exceptions CSV, per-series CSV (the rows of `report compliance`) and the PDF."""
    engine = get_engine()
    period = report.period
    as_of = report.evaluated_on
    common = {"period": f"{period.start}..{period.end}", "scope": scope_label,
              "settings_version": settings.version}

    def exceptions_file() -> str:
        return exceptions_csv(report.exceptions)

    def series_file() -> str:
        with session_factory(engine)() as session:
            return series_csv(session, as_of, therapist_id=therapist_id, settings=settings)

    def pdf_file() -> bytes:
        context = ReportContext(scope_label, settings, datetime.now(UTC),
                                f"{user.full_name} ({user.username})")
        return build_compliance_pdf(report, context, chart_png(points))

    stem = f"compliance-{period.start}-to-{period.end}"
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Exceptions (CSV)",
        audited_file(exceptions_file, user, "export.csv", what="compliance exceptions",
                     rows=len(report.exceptions), **common),
        f"{stem}-exceptions.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_exceptions")
    c2.download_button(
        "All series (CSV)",
        audited_file(series_file, user, "export.csv", what="compliance series",
                     as_of=str(as_of), **common),
        f"compliance-series-as-of-{as_of}.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_series",
        help=f"Every series as judged on {as_of}: the rows of "
             f"`python -m db report compliance --as-of {as_of}`.")
    c3.download_button(
        "Report (PDF)",
        audited_file(pdf_file, user, "export.pdf", what="compliance report", **common),
        f"{stem}.pdf", "application/pdf", type="primary",
        icon=":material/picture_as_pdf:", width="stretch", key="dl_pdf")
