"""The one-page PDF: it opens, holds the figures, and keeps to one page."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime

from pypdf import PdfReader

from db.exports.compliance_pdf import ReportContext, build_compliance_pdf
from db.protocol import ProtocolConfig, compute_compliance
from db.queries import compliance as cq
from db.queries.periods import Period
from tests.compliance_fixtures import OCTOBER, TODAY, build_october_clinic
from ui.compliance_view import chart_png

OCT = Period(*OCTOBER, "October 2026")
SEP = Period(date(2026, 9, 1), date(2026, 9, 30), "September 2026")
CONTEXT = ReportContext("Whole clinic", ProtocolConfig(2, 7, 6, 3),
                        datetime(2026, 11, 20, 9, 30, tzinfo=UTC), "director")


def _report(session):
    ev, pev = OCT.evaluation_date(TODAY), SEP.evaluation_date(TODAY)
    return cq.period_report(session, OCT, SEP, compute_compliance(session, ev), ev,
                            compute_compliance(session, pev), pev)


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), " ".join(p.extract_text() for p in reader.pages)


def test_pdf_holds_the_figures(session):
    build_october_clinic(session)
    report = _report(session)
    png = chart_png(cq.monthly_trend(compute_compliance(session, TODAY), TODAY))
    assert png.startswith(b"\x89PNG")
    pdf = build_compliance_pdf(report, CONTEXT, png)
    pages, text = _text(pdf)
    assert pages == 1
    for tile in cq.summary_tiles(report.figures, report.previous):
        assert tile.label in text and tile.value in text and tile.detail in text
    assert "October 2026" in text and "2026-10-01 to 2026-10-31" in text
    assert "evaluated on 2026-11-01" in text
    assert "at least 2 integration sessions, 7 grace days" in text and "version 3" in text
    assert "2026-11-20 09:30" in text and "director" in text
    assert "Ana Alvarez" in text and '=HYPERLINK("x") Ben' in text
    assert "Exceptions (5)" in text
    for chart in ("C002", "C003", "C004", "C007", "C008"):
        assert chart in text
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].images, "the trend chart is embedded as an image"


def test_pdf_stays_one_page_and_counts_what_it_leaves_out(session):
    build_october_clinic(session)
    report = _report(session)
    many = replace(report, exceptions=report.exceptions * 40,
                   by_therapist=report.by_therapist * 30)
    pages, text = _text(build_compliance_pdf(many, CONTEXT, None))
    assert pages == 1
    assert "more exceptions" in text and "more therapists" in text
    assert "Chart unavailable" in text


def test_pdf_with_nothing_in_the_period(session):
    build_october_clinic(session)
    empty = Period(date(2020, 1, 1), date(2020, 1, 31), "January 2020")
    rows = compute_compliance(session, date(2020, 2, 1))
    report = cq.period_report(session, empty, SEP, rows, date(2020, 2, 1), rows,
                              date(2020, 2, 1))
    pages, text = _text(build_compliance_pdf(replace(report, exceptions=[]), CONTEXT, None))
    assert pages == 1 and "None in this period." in text


def test_pdf_without_unicode_fonts_still_prints(session, monkeypatch, tmp_path):
    """Where DejaVu is missing the core font is used; no name may break the export."""
    import db.exports.compliance_pdf as module

    staff = build_october_clinic(session)
    staff["ana"].full_name = "Zoë Łukasiewicz 李"
    session.commit()
    monkeypatch.setattr(module, "FONT_DIR", tmp_path)
    pages, text = _text(build_compliance_pdf(_report(session), CONTEXT, None))
    assert pages == 1 and "Zoë " in text and "33.3%" in text
