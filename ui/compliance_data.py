"""Cached reads for the compliance page.

The engine runs once per (as-of date, settings version, therapist filter) and
every period, table and chart is derived from its rows. The settings version
is part of every key, so a saved change to the protocol settings is followed
at once; ``clear()`` drops it all for good measure. Never reads the current
user: callers pass the scope.
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import date

import altair as alt

import streamlit as st

from db.protocol import ProtocolConfig, SeriesCompliance, compute_compliance, load_settings
from db.queries import compliance as cq
from db.queries.periods import Period
from ui.compliance_view import trend_chart
from ui.database import db_session

CACHE_TTL_SECONDS = 300
# Raw engine rows are large on a big network (one object per series), so few
# are kept; the derived figures are small and many can be.
ROWS_MAX_ENTRIES = 6
DERIVED_MAX_ENTRIES = 64


def settings_now() -> ProtocolConfig:
    """The settings in force; read on every run (one row) to key the caches."""
    with db_session() as session:
        return load_settings(session)


# cache_resource, not cache_data: the rows are immutable (a tuple of frozen
# dataclasses) and a cache_data hit would copy tens of thousands of them.
@st.cache_resource(ttl=CACHE_TTL_SECONDS, max_entries=ROWS_MAX_ENTRIES,
                   show_spinner="Working out protocol compliance…")
def compliance_rows(as_of: date, settings_version: int,
                    therapist_id: int | None) -> tuple[SeriesCompliance, ...]:
    with db_session() as session:
        settings = load_settings(session)
        return tuple(compute_compliance(session, as_of, therapist_id=therapist_id,
                                        settings=settings))


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=DERIVED_MAX_ENTRIES, show_spinner=False)
def period_report(period: Period, previous: Period, today: date, settings_version: int,
                  therapist_id: int | None) -> cq.PeriodReport:
    evaluated = period.evaluation_date(today)
    previous_evaluated = previous.evaluation_date(today)
    rows = compliance_rows(evaluated, settings_version, therapist_id)
    previous_rows = compliance_rows(previous_evaluated, settings_version, therapist_id)
    with db_session() as session:
        return cq.period_report(session, period, previous, rows, evaluated, previous_rows,
                                previous_evaluated, therapist_id=therapist_id)


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=DERIVED_MAX_ENTRIES, show_spinner=False)
def trend(today: date, settings_version: int, therapist_id: int | None) -> list[cq.TrendPoint]:
    return cq.monthly_trend(compliance_rows(today, settings_version, therapist_id), today)


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=DERIVED_MAX_ENTRIES, show_spinner=False)
def trend_spec(today: date, settings_version: int, therapist_id: int | None) -> dict:
    """The trend chart as a Vega-Lite spec, for ``st.vega_lite_chart``.

    Altair builds and validates a chart against the Vega-Lite schema each
    time it is drawn; that was most of a warm rerun of this page. Keyed like
    ``trend``, so it is built once per figures, not once per rerun.
    """
    chart = trend_chart(trend(today, settings_version, therapist_id))
    # As st.altair_chart does: Altair's default theme only adds sizes Streamlit ignores.
    with alt.theme.enable("none") if alt.theme.active == "default" else nullcontext():
        return chart.to_dict()


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=DERIVED_MAX_ENTRIES, show_spinner=False)
def therapist_options() -> list[tuple[int, str]]:
    with db_session() as session:
        return cq.therapist_options(session)


def clear() -> None:
    """Forget every cached compliance figure (after the protocol settings change)."""
    compliance_rows.clear()
    period_report.clear()
    trend.clear()
    trend_spec.clear()
