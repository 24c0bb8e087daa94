"""How the compliance page looks: tiles, the per-therapist table, the trend
chart and the exceptions. The chart builder is a plain function so that the
PDF export draws the very chart the page shows.

Text from the database goes only through Streamlit elements that escape it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd
import streamlit as st

from db.queries.compliance import (
    ExceptionRow,
    PeriodReport,
    TherapistFigures,
    Tile,
    TrendPoint,
)
from ui import theme
from ui.access import CurrentUser
from ui.downloads import audit_list_view, csv_download, csv_text

TILES_PER_ROW = 4


def trend_frame(points: Sequence[TrendPoint]) -> pd.DataFrame:
    """One row per month: at most 12 rows, whatever the clinic's size."""
    return pd.DataFrame({
        "month": [p.month.isoformat() for p in points],
        "label": [p.month.strftime("%b %Y") for p in points],
        "closed": [p.closed for p in points],
        "compliant": [p.compliant for p in points],
        "rate": [p.compliance_rate for p in points],
    })


def trend_chart(points: Sequence[TrendPoint], *, width: int | str = "container",
                height: int = 260) -> alt.LayerChart:
    """Bars: closed series per month (right axis); line: compliance rate (left axis)."""
    data = trend_frame(points)
    order = list(data["label"])
    x = alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    tooltip = [alt.Tooltip("label:N", title="Month"),
               alt.Tooltip("rate:Q", title="Compliance rate %", format=".1f"),
               alt.Tooltip("compliant:Q", title="Compliant"),
               alt.Tooltip("closed:Q", title="Closed series")]
    bars = alt.Chart(data).mark_bar(color=theme.GRID, opacity=0.9).encode(
        x=x,
        y=alt.Y("closed:Q", title="Closed series (bars)",
                axis=alt.Axis(orient="right", tickMinStep=1, grid=False,
                              titleColor=theme.MUTED)),
        tooltip=tooltip,
    )
    line = alt.Chart(data).mark_line(color=theme.PRIMARY, strokeWidth=3,
                                     point=alt.OverlayMarkDef(color=theme.PRIMARY, size=60)
                                     ).encode(
        x=x,
        y=alt.Y("rate:Q", title="Compliance rate % (line)",
                scale=alt.Scale(domain=[0, 100]), axis=alt.Axis(titleColor=theme.PRIMARY)),
        tooltip=tooltip,
    )
    labels = line.mark_text(dy=-12, color=theme.TEXT, fontSize=11).encode(
        text=alt.Text("rate:Q", format=".0f"))
    return (alt.layer(bars, line, labels)
            .resolve_scale(y="independent")
            .properties(width=width, height=height))


def chart_png(points: Sequence[TrendPoint]) -> bytes:
    """The trend chart as PNG bytes, rendered without a browser, for the PDF."""
    import vl_convert

    chart = trend_chart(points, width=720, height=200).configure(
        font="Liberation Sans", background="white")
    return vl_convert.vegalite_to_png(chart.to_json(), scale=2)


def _delta_colour(tile: Tile) -> str:
    return "normal" if tile.higher_is_better else "inverse"


def render_tiles(tiles: Sequence[Tile], previous_label: str) -> None:
    for start in range(0, len(tiles), TILES_PER_ROW):
        columns = st.columns(TILES_PER_ROW)
        for column, tile in zip(columns, tiles[start:start + TILES_PER_ROW], strict=False):
            with column.container(border=True, height="stretch"):
                same = tile.delta == 0
                st.metric(tile.label, tile.value, delta=tile.change or None,
                          delta_color="off" if same else _delta_colour(tile),
                          delta_arrow="off" if same else "auto",
                          help=f"The arrow is the change against {previous_label}.")
                st.caption(tile.detail)


def therapist_frame(rows: Sequence[TherapistFigures]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Therapist": t.therapist_name,
        "Closed series": t.figures.closed,
        "Compliance %": t.figures.compliance_rate,
        "Compliant": t.figures.compliant,
        "Preparation %": t.figures.prep_rate,
        "Integration per series": t.figures.mean_integration,
        "At risk": t.figures.at_risk,
        "Stalled": t.figures.stalled,
        "Infusion no-show %": t.figures.infusion_no_show_rate,
        "Session no-show %": t.figures.session_no_show_rate,
    } for t in rows])


# What the browser receives stays bounded on a network of any size (issue 9:
# at most 2,000 rows a page): the most urgent exceptions and the therapists
# furthest behind. The CSV downloads carry every exception.
MAX_EXCEPTION_ROWS = 300
MAX_THERAPIST_ROWS = 200


def furthest_behind(rows: Sequence[TherapistFigures], limit: int) -> list[TherapistFigures]:
    """The ``limit`` therapists with the lowest compliance rate (none yet: last)."""
    return sorted(rows, key=lambda t: (t.figures.compliance_rate is None,
                                       t.figures.compliance_rate or 0.0,
                                       t.therapist_name.lower(), t.therapist_id))[:limit]


def render_therapists(rows: Sequence[TherapistFigures]) -> None:
    if not rows:
        st.info("No therapist has series in this scope.")
        return
    if len(rows) > MAX_THERAPIST_ROWS:
        st.caption(f"The {MAX_THERAPIST_ROWS} therapists with the lowest compliance rate, of "
                   f"{len(rows):,}; choose a therapist above to see anyone else's figures.")
        rows = furthest_behind(rows, MAX_THERAPIST_ROWS)
    pct = {"format": "%.1f%%", "min_value": 0, "max_value": 100}
    st.dataframe(
        therapist_frame(rows), hide_index=True, width="stretch",
        column_config={
            "Compliance %": st.column_config.ProgressColumn(
                "Compliance", help="Compliant of closed series", **pct),
            "Preparation %": st.column_config.ProgressColumn(
                "Preparation", help="Closed series with preparation before the first infusion",
                **pct),
            "Integration per series": st.column_config.NumberColumn(format="%.1f"),
            "Infusion no-show %": st.column_config.NumberColumn(format="%.1f%%"),
            "Session no-show %": st.column_config.NumberColumn(format="%.1f%%"),
        },
    )


def _why_text(row: ExceptionRow) -> str:
    # Symbol and words: never colour alone.
    parts = []
    if row.status in ("non_compliant", "at_risk"):
        parts.append(theme.status_text(row.status))
    parts += [theme.flag_text(f) for f in row.flags if f in ("stalled", "prep_due")]
    return "  ".join(parts)


def exceptions_frame(rows: Sequence[ExceptionRow],
                     names: Mapping[int, str] | None = None) -> pd.DataFrame:
    names = names or {}
    return pd.DataFrame([{
        "Patient": r.patient_id,
        "Series": r.series_number,
        "Why": _why_text(r),
        "Therapist": names.get(r.therapist_id, r.therapist_username),
        "First infusion": r.first_infusion,
        "Last infusion": r.last_infusion,
        "Window end": r.window_end,
        "Integration": f"{r.integration_attended} of {r.integration_required}",
        "Reason": r.reason,
    } for r in rows])


def render_exceptions(rows: Sequence[ExceptionRow], key: str,
                      names: Mapping[int, str] | None = None) -> ExceptionRow | None:
    """The exceptions table; returns the row the user picked, if any."""
    if not rows:
        st.success("No exceptions in this period.", icon=":material/check_circle:")
        return None
    if len(rows) > MAX_EXCEPTION_ROWS:
        st.caption(f"The {MAX_EXCEPTION_ROWS} most urgent of {len(rows):,} exceptions; the "
                   "Exceptions CSV under Downloads lists them all.")
        rows = rows[:MAX_EXCEPTION_ROWS]
    event = st.dataframe(
        exceptions_frame(rows, names), hide_index=True, width="stretch", key=key,
        on_select="rerun", selection_mode="single-row",
        column_config={
            "Series": st.column_config.NumberColumn(width="small"),
            "First infusion": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "Last infusion": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "Window end": st.column_config.DateColumn(format="YYYY-MM-DD"),
            "Reason": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption("Select a row to open that patient's record.")
    picked = event.selection.rows if event is not None else []
    return rows[picked[0]] if picked else None


# The per-therapist figures as a file (the table's own export is off).
THERAPIST_COLUMNS = (
    "therapist", "username", "closed_series", "compliance_pct", "compliant", "preparation_pct",
    "integration_per_series", "at_risk", "stalled", "infusion_no_show_pct",
    "session_no_show_pct",
)
DOWNLOAD_KEY = "dl_by_therapist"


def therapist_export_rows(rows: Sequence[TherapistFigures]) -> list[dict]:
    return [{
        "therapist": t.therapist_name, "username": t.therapist_username,
        "closed_series": t.figures.closed, "compliance_pct": t.figures.compliance_rate,
        "compliant": t.figures.compliant, "preparation_pct": t.figures.prep_rate,
        "integration_per_series": t.figures.mean_integration, "at_risk": t.figures.at_risk,
        "stalled": t.figures.stalled, "infusion_no_show_pct": t.figures.infusion_no_show_rate,
        "session_no_show_pct": t.figures.session_no_show_rate,
    } for t in rows]


def list_and_download(report: PeriodReport, scope_label: str, user: CurrentUser) -> None:
    """Audit this listing (once per visit, period or therapist) and offer the
    per-therapist figures as CSV.

    Drawn on every run that gets this far: its button is the marker by which
    ``audit_list_view`` tells a visit from a rerun.
    """
    period = report.period
    scope = {"period": f"{period.start}..{period.end}", "scope": scope_label,
             "as_of": str(report.evaluated_on)}
    audit_list_view("compliance", marker=DOWNLOAD_KEY,
                    rows=min(len(report.exceptions), MAX_EXCEPTION_ROWS),
                    scope=scope, counts={"exceptions": len(report.exceptions),
                                         "therapists": len(report.by_therapist)})
    snapshot = tuple(report.by_therapist)

    def build() -> tuple[str, int]:
        return csv_text(therapist_export_rows(snapshot), THERAPIST_COLUMNS), len(snapshot)

    csv_download("By therapist (CSV)", key=DOWNLOAD_KEY,
                 file_name=f"compliance-{period.start}-to-{period.end}-by-therapist.csv",
                 user=user, what="compliance by therapist", build=build, detail=scope,
                 disabled=not snapshot)
