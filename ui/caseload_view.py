"""How the caseload looks: tiles, the table by need, and its filters.

``caseload_frame`` is plain pandas (no Streamlit) so that tests can check what
a row says. Status and flags are told with a symbol and words, never colour
alone; names go through ``st.dataframe``, which shows text literally.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st

from db.protocol import PREP_DUE_WITHIN_DAYS, STALLED_AFTER_DAYS
from db.queries.caseload import CaseloadRow, CaseloadTiles
from ui import theme
from ui.access import CurrentUser
from ui.downloads import audit_list_view, csv_download, csv_text
from ui.pages import PATIENT

PREPARATION_TEXT = {"met": "✓ met", "scheduled": "◷ booked", "missing": "✕ missing"}
NO_SERIES = "○ No series yet"
# Hidden column that ties a selected row back to its patient.
CHART_KEY = "_chart"


def status_cell(r: CaseloadRow) -> str:
    return NO_SERIES if r.status is None else theme.status_text(r.status)


def preparation_cell(r: CaseloadRow) -> str:
    if r.preparation is None:
        return ""
    text = PREPARATION_TEXT.get(r.preparation, r.preparation)
    if r.preparation == "scheduled" and r.preparation_date:
        text += f" {r.preparation_date.day} {r.preparation_date:%b}"
    return text


def phq9_cell(r: CaseloadRow) -> str:
    if r.phq9_latest is None:
        return ""
    if r.phq9_change is None or r.phq9_change == 0:
        return f"{r.phq9_latest} (±0)"
    sign = "−" if r.phq9_change < 0 else "+"
    return f"{r.phq9_latest} ({sign}{abs(r.phq9_change)})"


BAR_SEGMENTS = 10  # a longer series is drawn to scale in ten segments


def infusion_bar(done: int, planned: int) -> str:
    """'2 of 6 ●●○○○○': a progress bar in text, so it shares a cell with the counts.

    A bar of one segment per infusion (to scale beyond ten) keeps the table
    narrow enough to need no sideways scrolling on a 1366-pixel screen.
    """
    if planned <= 0:
        return ""
    segments = min(planned, BAR_SEGMENTS)
    filled = min(segments, round(segments * done / planned))
    return f"{done} of {planned} {'●' * filled}{'○' * (segments - filled)}"


def patient_cell(r: CaseloadRow, *, with_therapist: bool) -> str:
    """Name and chart number, and the therapist when showing all therapists."""
    parts = [r.name, r.chart]
    if with_therapist:
        parts.append(r.therapist_name)
    return " · ".join(parts)


def series_cell(r: CaseloadRow) -> str:
    """'#1 · 2 of 6 ●●○○○○': series number, infusions done of planned, and a bar."""
    if r.series_number is None:
        return ""
    return f"#{r.series_number} · {infusion_bar(r.infusions_completed, r.infusions_planned)}"


# The engine's reason is its main sentence followed by one note per flag
# ("Stalled: ...", "1 past appointment ..."); the flags are named in the cell
# already, so the table keeps the main sentence and the record shows them all.
_FIRST_SENTENCE = re.compile(r"^(.*?\.)(?= [A-Z0-9])")


def main_reason(reason: str) -> str:
    match = _FIRST_SENTENCE.match(reason or "")
    return match.group(1) if match else (reason or "")


def status_cell_with_reason(r: CaseloadRow) -> str:
    """Status and flags first (they must survive the cell's truncation), then why."""
    head = " · ".join([status_cell(r), *(theme.flag_text(f) for f in r.flags)])
    reason = main_reason(r.reason)
    return f"{head}: {reason}" if reason else head


def caseload_frame(rows: Sequence[CaseloadRow], *, with_therapist: bool = False) -> pd.DataFrame:
    """One row per patient, in the order given (by need), with display text."""
    records = [{
        "Status and reason": status_cell_with_reason(r),
        "Patient": patient_cell(r, with_therapist=with_therapist),
        "Series": series_cell(r),
        "Next infusion": r.next_infusion,
        "Preparation": preparation_cell(r),
        "Integration": r.integration_text if r.series_number is not None else "",
        "Habits": r.habit_adherence_pct,
        "PHQ-9": phq9_cell(r),
        CHART_KEY: r.chart,
    } for r in rows]
    frame = pd.DataFrame(records, columns=[
        "Status and reason", "Patient", "Series", "Next infusion", "Preparation",
        "Integration", "Habits", "PHQ-9", CHART_KEY])
    frame["Next infusion"] = pd.to_datetime(frame["Next infusion"])
    return frame


# Widths add up to what a 1366-pixel screen leaves beside the sidebar; wider
# screens stretch them. Rows are tall enough that cells wrap (Streamlit wraps
# text when the row height is above 4rem).
ROW_HEIGHT = 80  # four lines of text


def column_config() -> dict:
    cc = st.column_config
    return {
        "Status and reason": cc.TextColumn(
            width=230, help="Protocol status of the current series, its flags (stalled, "
                            "preparation due, not recorded), and why"),
        "Patient": cc.TextColumn(width=118, help="Name, chart number and series"),
        "Series": cc.TextColumn(width=84, help="Series number; infusions completed of "
                                               "planned"),
        "Next infusion": cc.DateColumn(width=100, format="ddd D MMM"),
        "Preparation": cc.TextColumn(width=100, help="Preparation session before the first "
                                                     "infusion: met, booked or missing"),
        "Integration": cc.TextColumn(width=96, help="Integration sessions attended of the "
                                                    "minimum, and how many are booked"),
        "Habits": cc.ProgressColumn(width=66, min_value=0, max_value=100, format="%d%%",
                                         help="Habit adherence over the last 4 complete weeks, all "
                                              "habits together: days done of days targeted"),
        "PHQ-9": cc.TextColumn(width=64, help="Latest PHQ-9 (change from baseline)"),
        CHART_KEY: None,
    }


def render_tiles(t: CaseloadTiles) -> None:
    cols = st.columns(5)
    cols[0].metric(":material/play_circle: Active series", t.active_series, border=True)
    cols[1].metric(":material/warning: At risk", t.at_risk, border=True,
                   help="Too few integration sessions attended and booked before the "
                        "window closes")
    cols[2].metric(":material/error: Not compliant", t.non_compliant, border=True,
                   help="No preparation before the first infusion, or the window closed "
                        "short of the minimum")
    cols[3].metric(":material/pause_circle: Stalled", t.stalled, border=True,
                   help=f"No infusion for {STALLED_AFTER_DAYS} days and none booked, "
                        "series unfinished")
    cols[4].metric(":material/event_upcoming: Preparation due", t.prep_due, border=True,
                   help=f"First infusion within {PREP_DUE_WITHIN_DAYS} days, no preparation "
                        "session attended or booked")


def render_table(frame: pd.DataFrame, *, key: str) -> str | None:
    """The table; the chart number of a row the user selected, if any."""
    height = 40 + ROW_HEIGHT * min(max(len(frame), 1), 12)
    event = st.dataframe(frame, hide_index=True, width="stretch", height=height,
                         row_height=ROW_HEIGHT, column_config=column_config(), key=key,
                         on_select="rerun", selection_mode="single-row", placeholder="—")
    rows = event.selection.rows if event is not None else []
    if rows:
        return str(frame.iloc[rows[0]][CHART_KEY])
    return None


def open_patient(chart: str) -> None:
    # The patient page records the route in its audit event.
    st.session_state["patient_route"] = "caseload"
    st.switch_page(PATIENT, query_params={"patient": chart})


# The table lists at most this many patients, those who need attention first,
# so what the browser receives is bounded on a network of any size (issue 9:
# at most 2,000 rows a page); search, filters and the therapist picker reach
# everyone else.
MAX_TABLE_ROWS = 300


def truncated_caption(listed: int, shown: int) -> str:
    return (f"Listing the {listed} who need attention most of these {shown:,}: search, filter "
            "or pick a therapist to find anyone else.")


def as_of_caption(as_of: date, shown: int, total: int) -> str:
    return (f"As of {as_of:%a} {as_of.day} {as_of:%b %Y} · {shown} of {total} patients shown, "
            "those who need attention first · select a row to open the patient")


# The caseload as a file: every patient the filters match (the table lists at
# most MAX_TABLE_ROWS of them), plain values rather than display text.
EXPORT_COLUMNS = (
    "chart", "first_name", "last_name", "therapist", "status", "flags", "reason", "series",
    "series_kind", "series_status", "infusions_completed", "infusions_planned", "next_infusion",
    "window_end", "preparation", "preparation_date", "integration_attended",
    "integration_upcoming", "integration_required", "habit_adherence_pct", "phq9_latest",
    "phq9_change",
)


def export_rows(rows: Sequence[CaseloadRow]) -> list[dict]:
    return [{
        "chart": r.chart, "first_name": r.first_name, "last_name": r.last_name,
        "therapist": r.therapist_name, "status": r.status or "", "flags": list(r.flags),
        "reason": r.reason, "series": r.series_number, "series_kind": r.series_kind,
        "series_status": r.series_status, "infusions_completed": r.infusions_completed,
        "infusions_planned": r.infusions_planned, "next_infusion": r.next_infusion,
        "window_end": r.window_end, "preparation": r.preparation,
        "preparation_date": r.preparation_date, "integration_attended": r.integration_attended,
        "integration_upcoming": r.integration_upcoming,
        "integration_required": r.integration_required,
        "habit_adherence_pct": r.habit_adherence_pct, "phq9_latest": r.phq9_latest,
        "phq9_change": r.phq9_change,
    } for r in rows]


DOWNLOAD_KEY = "dl_caseload"


def list_and_download(shown: Sequence[CaseloadRow], listed: int, scope: dict,
                      user: CurrentUser, as_of: date) -> None:
    """Audit this listing (once per visit or change of filters) and offer it as CSV.

    Drawn on every run of the caseload page, table or not: its button is the
    marker by which ``audit_list_view`` tells a visit from a rerun.
    """
    matching = len(shown)
    audit_list_view("caseload", marker=DOWNLOAD_KEY, rows=listed,
                    scope={**scope, "as_of": str(as_of)}, counts={"matching": matching})
    snapshot = tuple(shown)

    def build() -> tuple[str, int]:
        return csv_text(export_rows(snapshot), EXPORT_COLUMNS), len(snapshot)

    csv_download("Download these patients (CSV)", key=DOWNLOAD_KEY,
                 file_name=f"caseload-{as_of}.csv", user=user, what="caseload", build=build,
                 detail={**scope, "as_of": str(as_of)}, disabled=not snapshot)
