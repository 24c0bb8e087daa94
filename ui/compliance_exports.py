"""Download buttons for the compliance page (the tables' CSVs, and the rule every
deferred file follows, are ui/downloads.py's).

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

from db.engine import session_factory
from db.exports.compliance_csv import exceptions_csv, series_csv
from db.exports.compliance_pdf import ReportContext, build_compliance_pdf
from db.protocol import ProtocolConfig
from db.queries.compliance import PeriodReport, TrendPoint
from ui.access import CurrentUser
from ui.compliance_view import chart_png
from ui.database import get_engine
from ui.downloads import CSV, audited_file

T = TypeVar("T")


def _audited(build: Callable[[], T], user: CurrentUser, action: str, engine,
             **detail: object) -> Callable[[], T]:
    """``build`` as a deferred download under ui.downloads' rule: audited when the file
    is made, refused (and audited) once the sign-in that drew the button has ended."""
    return audited_file(lambda: (build(), {}), user, action, detail, engine=engine)


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
        _audited(exceptions_file, user, "export.csv", engine, what="compliance exceptions",
                     rows=len(report.exceptions), **common),
        f"{stem}-exceptions.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_exceptions")
    c2.download_button(
        "All series (CSV)",
        _audited(series_file, user, "export.csv", engine, what="compliance series",
                     as_of=str(as_of), **common),
        f"compliance-series-as-of-{as_of}.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_series",
        help=f"Every series as judged on {as_of}: the rows of "
             f"`python -m db report compliance --as-of {as_of}`.")
    c3.download_button(
        "Report (PDF)",
        _audited(pdf_file, user, "export.pdf", engine, what="compliance report", **common),
        f"{stem}.pdf", "application/pdf", type="primary",
        icon=":material/picture_as_pdf:", width="stretch", key="dl_pdf")
