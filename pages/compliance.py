"""Compliance: where the clinic stands on the protocol for a period, who falls
short, the 12-month trend, and the report the medical director files."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from db.clock import today
from db.queries.compliance import summary_tiles
from db.queries.periods import PERIOD_CHOICES, period_for, previous_period
from ui import bound_selection
from ui import compliance_data as data
from ui import compliance_view as view
from ui.access import require_page_access
from ui.compliance_exports import compliance_downloads
from ui.pages import PATIENT, title_for

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))

now = today()
settings = data.settings_now()
therapists = dict(data.therapist_options())

left, middle, right = st.columns([2, 3, 3])
choice = left.selectbox("Period", PERIOD_CHOICES, index=PERIOD_CHOICES.index("Last month"),
                        key="compliance_period")
therapist_id = middle.selectbox(
    "Therapist", [None, *therapists], key="compliance_therapist",
    format_func=lambda tid: "Whole clinic" if tid is None else therapists[tid])
custom = None
if choice == "Custom":
    picked = right.date_input("From and to", value=(now - timedelta(days=30), now),
                              max_value=now, key="compliance_custom")
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the last day of the period too.", icon=":material/date_range:")
        st.stop()
    custom = picked

period = period_for(choice, now, custom)
previous = previous_period(period)
scope = "Whole clinic" if therapist_id is None else therapists[therapist_id]
report = data.period_report(period, previous, now, settings.version, therapist_id)
points = data.trend(now, settings.version, therapist_id)

st.caption(
    f"**{period.label}** ({period.start:%d %b %Y} to {period.end:%d %b %Y}), judged on "
    f"{report.evaluated_on:%d %b %Y}; changes are against {previous.label}. A series counts "
    f"for the period when its integration window ended in it. Settings in force: at least "
    f"{settings.min_integration_sessions} integration sessions, {settings.grace_days} grace "
    f"days after the last infusion.")
view.render_tiles(summary_tiles(report.figures, report.previous), previous.label)

st.subheader("Exceptions to act on")
st.caption("Not compliant, at risk, stalled or preparation due in this period, most urgent "
           "first.")
# Bound to the series listed, in order: a click made on a list that has changed since
# (a save, a refresh) opens nobody instead of whoever is in that row now.
exceptions_key = bound_selection.table_key(
    "compliance_exceptions",
    [r.series_id for r in report.exceptions[:view.MAX_EXCEPTION_ROWS]])
if bound_selection.selection_outdated("compliance_exceptions", exceptions_key):
    bound_selection.say_outdated()
picked_row = view.render_exceptions(report.exceptions, key=exceptions_key, names=therapists)
if picked_row is not None:
    st.switch_page(PATIENT, query_params={"patient": picked_row.patient_id})

st.subheader("Trend, last 12 months")
st.caption("Line: compliance rate of the series closed each month. Bars: how many closed.")
st.vega_lite_chart(data.trend_spec(now, settings.version, therapist_id), theme=None)

if therapist_id is None:
    st.subheader("By therapist")
    st.caption("Click a column heading to sort.")
    view.render_therapists(report.by_therapist)

st.subheader("Downloads")
st.caption("For the auditor: the exceptions and every series as CSV (safe to open in a "
           "spreadsheet), and a one-page PDF of this page. Every download is recorded.")
compliance_downloads(report, points, settings, user, scope, therapist_id)
# Every run that gets here: audits a visit or a change of period or therapist (not a
# rerun), and the per-therapist figures as CSV.
view.list_and_download(report, scope, user)
