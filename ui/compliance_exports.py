"""Download buttons for the compliance page and the audit log.

Files are built only when the button is clicked (Streamlit runs a callable
``data`` on its own thread), so a page view never pays for an export. Those
callables touch no Streamlit state: they get the engine and the figures
captured here. The click itself is audited by the button's ``on_click``,
which runs in the page's own run, where the signed-in user is known.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import streamlit as st

from db.engine import session_factory
from db.exports.compliance_csv import audit_csv, exceptions_csv, series_csv
from db.exports.compliance_pdf import ReportContext, build_compliance_pdf
from db.protocol import ProtocolConfig
from db.queries.audit_log import AuditFilter
from db.queries.compliance import PeriodReport, TrendPoint
from ui.access import CurrentUser, audit_event
from ui.compliance_view import chart_png
from ui.database import get_engine

CSV = "text/csv"


def _audited(action: str, **detail: object) -> dict:
    return {"on_click": audit_event, "args": (action,), "kwargs": detail}


def compliance_downloads(report: PeriodReport, points: Sequence[TrendPoint],
                         settings: ProtocolConfig, user: CurrentUser, scope_label: str,
                         therapist_id: int | None) -> None:
    """Exceptions CSV, per-series CSV (the rows of `report compliance`) and the PDF."""
    engine = get_engine()
    period = report.period
    as_of = report.evaluated_on
    common = {"period": f"{period.start}..{period.end}", "scope": scope_label,
              "settings_version": settings.version}

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
        "Exceptions (CSV)", exceptions_csv(report.exceptions), f"{stem}-exceptions.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_exceptions",
        **_audited("export.csv", what="compliance exceptions", rows=len(report.exceptions),
                   **common))
    c2.download_button(
        "All series (CSV)", series_file, f"compliance-series-as-of-{as_of}.csv", CSV,
        icon=":material/table_view:", width="stretch", key="dl_series",
        help=f"Every series as judged on {as_of}: the rows of "
             f"`python -m db report compliance --as-of {as_of}`.",
        **_audited("export.csv", what="compliance series", as_of=str(as_of), **common))
    c3.download_button(
        "Report (PDF)", pdf_file, f"{stem}.pdf", "application/pdf", type="primary",
        icon=":material/picture_as_pdf:", width="stretch", key="dl_pdf",
        **_audited("export.pdf", what="compliance report", **common))


def audit_download(f: AuditFilter) -> None:
    engine = get_engine()

    def audit_file() -> str:
        with session_factory(engine)() as session:
            return audit_csv(session, f)

    st.download_button(
        "Export these events (CSV)", audit_file, "audit-log.csv", CSV,
        icon=":material/download:", key="dl_audit",
        **_audited("export.csv", what="audit log", **f.describe()))
