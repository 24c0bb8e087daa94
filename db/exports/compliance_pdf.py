"""The one-page compliance report a medical director files: the clinic's
figures for a period, per therapist, the 12-month trend and the exceptions.

Plain Python (fpdf2): the caller passes the figures and the trend chart
already rendered as PNG bytes, so the PDF shows the very chart the page shows.
Whatever does not fit on the page is counted, never silently dropped.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from ..protocol.settings import ProtocolConfig
from ..queries.compliance import PeriodReport, summary_tiles

# DejaVu covers any name a clinic may type; without it the PDF falls back to
# the core Helvetica font and Latin-1 text.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 12.0
BOTTOM = PAGE_H - 14.0  # leaves room for the footer
INK = (33, 37, 41)
MUTED = (95, 99, 104)
RULE = (200, 204, 208)


@dataclass(frozen=True)
class ReportContext:
    clinic_scope: str  # "Whole clinic" or the therapist's name
    settings: ProtocolConfig
    produced_at: datetime
    produced_by: str


class _Doc(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.unicode = (FONT_DIR / "DejaVuSans.ttf").exists() and (
            FONT_DIR / "DejaVuSans-Bold.ttf").exists()
        if self.unicode:
            self.add_font("Body", "", str(FONT_DIR / "DejaVuSans.ttf"))
            self.add_font("Body", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            self.family = "Body"
        else:
            self.family = "Helvetica"

    def text_of(self, value: object) -> str:
        text = "" if value is None else str(value)
        if not self.unicode:
            text = (text.replace("–", "-").replace("…", "...")
                    .encode("latin-1", "replace").decode("latin-1"))
        return text

    def font(self, size: float, bold: bool = False, colour: tuple[int, int, int] = INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def fits(self, height: float) -> bool:
        return self.get_y() + height <= BOTTOM

    def rule(self) -> None:
        self.set_draw_color(*RULE)
        self.line(MARGIN, self.get_y(), PAGE_W - MARGIN, self.get_y())

    def heading(self, text: str) -> None:
        self.ln(2)
        self.font(11, bold=True)
        self.cell(0, 6, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def row(self, cells: list[str], widths: list[float], height: float = 4.6,
            bold: bool = False, size: float = 7.5) -> None:
        self.font(size, bold=bold)
        for text, width in zip(cells, widths, strict=True):
            # Clip long text to its column: a row must stay one line high.
            value = self.text_of(text)
            while value and self.get_string_width(value) > width - 1.5:
                value = value[:-2] + "…" if self.unicode else value[:-1]
            self.cell(width, height, value, border="B" if bold else 0)
        self.ln(height)


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def build_compliance_pdf(report: PeriodReport, context: ReportContext,
                         trend_png: bytes | None) -> bytes:
    """The report as PDF bytes: always exactly one A4 page."""
    pdf = _Doc()
    pdf.set_title(f"Protocol compliance {report.period.label}")
    pdf.set_author(context.produced_by)
    pdf.add_page()
    usable = PAGE_W - 2 * MARGIN

    pdf.font(15, bold=True)
    pdf.cell(0, 8, pdf.text_of(f"Protocol compliance report: {report.period.label}"),
             new_x="LMARGIN", new_y="NEXT")
    s = context.settings
    pdf.font(8, colour=MUTED)
    meta = [
        f"Period {report.period.start.isoformat()} to {report.period.end.isoformat()}, "
        f"evaluated on {report.evaluated_on.isoformat()}; compared with "
        f"{report.previous_period.label}. Scope: {context.clinic_scope}.",
        f"Protocol settings in force (version {s.version}): at least "
        f"{s.min_integration_sessions} integration sessions, {s.grace_days} grace days after "
        f"the last infusion, {s.default_planned_infusions} planned infusions by default.",
        f"A series is closed in the period when its integration window ended within it. "
        f"Produced {context.produced_at.strftime('%Y-%m-%d %H:%M %Z').strip()} "
        f"by {context.produced_by}.",
    ]
    for line in meta:
        pdf.multi_cell(usable, 3.8, pdf.text_of(line), align="L", new_x="LMARGIN",
                       new_y="NEXT")
    pdf.ln(1)
    pdf.rule()

    pdf.heading("Clinic figures")
    widths = [50, 18, 94, 24]
    pdf.row(["Figure", "Value", "Based on", "Change"], widths, bold=True)
    for tile in summary_tiles(report.figures, report.previous):
        pdf.row([tile.label, tile.value, tile.detail, tile.change or "–"], widths)

    pdf.heading("By therapist")
    widths = [44, 17, 20, 20, 20, 20, 17, 14, 14]
    pdf.row(["Therapist", "Closed", "Compliance", "Preparation", "Integration", "At risk",
             "Stalled", "Inf. NS", "Ses. NS"], widths, bold=True)
    therapists = report.by_therapist
    shown = 0
    for t in therapists:
        # Keep room for the chart and a few exceptions below.
        if pdf.get_y() + 4.6 > 150 and shown < len(therapists) - 1:
            break
        f = t.figures
        mean = f.mean_integration
        pdf.row([t.therapist_name, str(f.closed), _fmt_pct(f.compliance_rate),
                 _fmt_pct(f.prep_rate), "–" if mean is None else f"{mean:.1f}", str(f.at_risk),
                 str(f.stalled), _fmt_pct(f.infusion_no_show_rate),
                 _fmt_pct(f.session_no_show_rate)], widths)
        shown += 1
    if shown < len(therapists):
        pdf.font(7, colour=MUTED)
        pdf.cell(0, 4, pdf.text_of(f"… and {len(therapists) - shown} more therapists "
                                   "(see the page or the CSV export)."),
                 new_x="LMARGIN", new_y="NEXT")

    pdf.heading("Trend: compliance rate and closed series, last 12 months")
    if trend_png:
        chart_h = 52.0
        pdf.image(io.BytesIO(trend_png), x=MARGIN, y=pdf.get_y(), h=chart_h,
                  keep_aspect_ratio=True, w=usable)
        pdf.set_y(pdf.get_y() + chart_h + 1)
    else:
        pdf.font(8, colour=MUTED)
        pdf.cell(0, 5, "Chart unavailable.", new_x="LMARGIN", new_y="NEXT")

    pdf.heading(f"Exceptions ({len(report.exceptions)})")
    widths = [21, 11, 35, 30, 20, 20, 49]
    names = {t.therapist_id: t.therapist_name for t in report.by_therapist}
    pdf.row(["Patient", "Series", "Why", "Therapist", "1st infusion", "Window end",
             "Reason"], widths, bold=True)
    listed = 0
    for ex in report.exceptions:
        if not pdf.fits(4.6 + 5):
            break
        pdf.row([ex.patient_id, str(ex.series_number), ex.why,
                 names.get(ex.therapist_id, ex.therapist_username),
                 ex.first_infusion.isoformat() if ex.first_infusion else "–",
                 ex.window_end.isoformat() if ex.window_end else "–", ex.reason], widths)
        listed += 1
    if not report.exceptions:
        pdf.font(8, colour=MUTED)
        pdf.cell(0, 5, "None in this period.", new_x="LMARGIN", new_y="NEXT")
    elif listed < len(report.exceptions):
        pdf.font(7, colour=MUTED)
        pdf.cell(0, 4, pdf.text_of(f"… and {len(report.exceptions) - listed} more exceptions: "
                                   "the full list is in the exceptions CSV export."),
                 new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(PAGE_H - 11)
    pdf.font(7, colour=MUTED)
    pdf.cell(0, 4, "Confidential: contains patient chart numbers.", align="C")
    return bytes(pdf.output())
