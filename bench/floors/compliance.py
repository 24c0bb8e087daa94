"""Floor of pages/compliance.py: last month's report, the 12-month trend and the
therapist table for the whole clinic, from the same engine calls."""
import streamlit as st

from bench.floors._support import session
from db.clock import today
from db.protocol import compute_compliance, load_settings
from db.queries import compliance as cq
from db.queries.periods import period_for, previous_period
from ui import compliance_view as view

now = today()
period = period_for("Last month", now)
previous = previous_period(period)
with session() as s:
    settings = load_settings(s)
    names = dict(cq.therapist_options(s))
    evaluated, previous_evaluated = period.evaluation_date(now), previous.evaluation_date(now)
    # One engine run per distinct as-of date, as the page's cache gives it.
    runs = {d: compute_compliance(s, d, settings=settings)
            for d in {evaluated, previous_evaluated, now}}
    report = cq.period_report(s, period, previous, runs[evaluated], evaluated,
                              runs[previous_evaluated], previous_evaluated)
    points = cq.monthly_trend(runs[now], now)
view.render_tiles(cq.summary_tiles(report.figures, report.previous), previous.label)
view.render_exceptions(report.exceptions, key="exceptions", names=names)
st.altair_chart(view.trend_chart(points), theme=None)
view.render_therapists(report.by_therapist)
