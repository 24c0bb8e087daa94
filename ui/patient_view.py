"""How a patient's record looks: frames, Altair charts and their render helpers.

Frame and chart builders are plain functions (no Streamlit) so that tests and
PDF export can reuse them. Every chart gets rows already aggregated by
``db.queries.patient`` (per event, per week, per calendar day of the charted
half-year, per score), and every chart has its numbers one click away.
Text from the database reaches the page only through Streamlit elements that
escape it (no raw HTML).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from db.protocol import (
    BANDS,
    HabitAdherence,
    OutcomeSummary,
    SeriesCompliance,
    monday,
    severity_band,
)
from db.queries.patient import (
    CalendarCell,
    HabitWeekRow,
    PatientRecord,
    ScorePoint,
    TimelineEvent,
)
from ui import theme
from ui.text import md_escape

KIND_LABELS = {"preparation": "Preparation", "infusion": "Infusion", "integration": "Integration"}
KIND_SHAPES = {"Preparation": "diamond", "Infusion": "circle", "Integration": "square"}
# Stored statuses told in words a clinician uses; completed and attended are one "Done".
EVENT_STATUS = theme.EVENT_STATUS_WORDS | {"completed": "Done", "attended": "Done"}
# Booked is blue, not teal: beside the green of "done" it must read as different.
BOOKED = theme.CATEGORY[2]
EVENT_COLOURS = {"Done": theme.GOOD, "Booked": BOOKED, "No-show": theme.ALERT,
                 "Cancelled": theme.NEUTRAL}
CALENDAR_COLOURS = {"done": theme.PRIMARY, "not done": "#E3E8E9", "not active": "#FFFFFF"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Light fills behind the score line, mild to severe.
BAND_FILLS = ["#EAF4EE", "#F4F4E6", "#FBF0DD", "#F8E3D6", "#F3D6D6"]
WINDOW_FILL = "#DCEBEC"
PREPARATION_WORDS = {"met": "met", "scheduled": "booked", "missing": "missing"}


def fmt_day(d: date | None) -> str:
    return "—" if d is None else f"{d:%a} {d.day} {d:%b %Y}"


# ---------------------------------------------------------------- timeline

def timeline_frame(events: Sequence[TimelineEvent]) -> pd.DataFrame:
    """One row per infusion or session: what the timeline draws and its table shows."""
    rows = [{
        "Date": pd.Timestamp(e.date),
        "Event": KIND_LABELS.get(e.kind, e.kind),
        "Status": EVENT_STATUS.get(e.status, e.status),
        "Series": e.series_number,
        "Dose (mg/kg)": e.dose_mg_per_kg,
        "Route": e.route,
        "Minutes": e.duration_minutes,
    } for e in events]
    return pd.DataFrame(rows, columns=["Date", "Event", "Status", "Series", "Dose (mg/kg)",
                                       "Route", "Minutes"])


def windows_frame(series: Sequence[SeriesCompliance]) -> pd.DataFrame:
    """Each series' integration window [first infusion, window end], where it has one."""
    rows = [{
        "Series": f"Series {sc.series_number}",
        "From": pd.Timestamp(sc.first_infusion),
        "To": pd.Timestamp(sc.window_end),
        "Status": theme.status_text(sc.status),
    } for sc in series if sc.first_infusion is not None and sc.window_end is not None]
    return pd.DataFrame(rows, columns=["Series", "From", "To", "Status"])


# Today joins the time axis only when it is this close to the treatment: a
# record whose last event is a year old would otherwise squash it to a sliver.
TODAY_WITHIN_DAYS = 90
AXIS_PAD_DAYS = 7


def time_domain(events: pd.DataFrame, windows: pd.DataFrame,
                as_of: date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The span the timeline and the outcome charts share, so dates line up."""
    dates = list(events["Date"]) + list(windows["From"]) + list(windows["To"])
    if not dates:
        return None
    start, end = min(dates), max(dates)
    today = pd.Timestamp(as_of)
    if today > end and (today - end).days <= TODAY_WITHIN_DAYS:
        end = today
    # Room for the markers at either end, and for a window's label on the right.
    pad = max(pd.Timedelta(days=AXIS_PAD_DAYS), (end - start) * 0.04)
    return start - pad, end + pad


def _x_time(domain, tick_count: int = 8) -> alt.X:
    scale = (alt.Scale(domain=[domain[0].isoformat(), domain[1].isoformat()])
             if domain else alt.Undefined)
    return alt.X("Date:T", title=None, scale=scale,
                 axis=alt.Axis(format="%d %b %Y", labelAngle=0, tickCount=tick_count))


def timeline_chart(events: pd.DataFrame, windows: pd.DataFrame, as_of: date) -> alt.Chart:
    lanes = list(KIND_SHAPES)
    domain = time_domain(events, windows, as_of)
    x = _x_time(domain)
    band = alt.Chart(windows).mark_rect(color=WINDOW_FILL, opacity=0.9).encode(
        x=alt.X("From:T"), x2="To:T",
        tooltip=[alt.Tooltip("Series:N"), alt.Tooltip("From:T", title="First infusion",
                                                      format="%a %d %b %Y"),
                 alt.Tooltip("To:T", title="Window ends", format="%a %d %b %Y"),
                 alt.Tooltip("Status:N")])
    band_label = alt.Chart(windows).mark_text(align="left", baseline="top", dx=3, dy=3,
                                              fontSize=11, color=theme.MUTED).encode(
        x="From:T", y=alt.value(0), text="Series:N")
    points = alt.Chart(events).mark_point(size=150, filled=True, opacity=0.95).encode(
        x=x,
        y=alt.Y("Event:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes)),
        shape=alt.Shape("Event:N", scale=alt.Scale(domain=lanes,
                                                   range=[KIND_SHAPES[k] for k in lanes]),
                        legend=None),
        color=alt.Color("Status:N", title="Status",
                        scale=alt.Scale(domain=list(EVENT_COLOURS),
                                        range=list(EVENT_COLOURS.values())),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("Date:T", format="%a %d %b %Y"), "Event:N", "Status:N",
                 "Series:Q", alt.Tooltip("Dose (mg/kg):Q", format=".2f"), "Route:N",
                 "Minutes:Q"],
    )
    today_at = pd.Timestamp(as_of)
    shown = domain is None or domain[0] <= today_at <= domain[1]
    today = alt.Chart(pd.DataFrame({"Date": [today_at] if shown else [],
                                    "label": ["today"] if shown else []}))
    today_rule = today.mark_rule(color=theme.MUTED, strokeDash=[4, 3]).encode(x="Date:T")
    today_text = today.mark_text(align="left", dx=3, baseline="bottom", color=theme.MUTED,
                                 fontSize=11).encode(x="Date:T", y=alt.value(0), text="label:N")
    # Drag to pan and scroll to zoom along time: years of history stay readable.
    return (band + band_label + today_rule + today_text + points).properties(
        height=190).interactive(bind_y=False)


# -------------------------------------------------------------- attendance

def attendance_lines(sc: SeriesCompliance, as_of: date) -> list[str]:
    """The current series' preparation and integration attendance, in words."""
    lines = []
    if sc.preparation == "met":
        lines.append(f"**Preparation:** met, session on {fmt_day(sc.preparation_date)}.")
    elif sc.preparation == "scheduled":
        lines.append(f"**Preparation:** booked for {fmt_day(sc.preparation_date)}, "
                     "not yet attended.")
    else:
        lines.append("**Preparation:** missing: no preparation session attended or booked "
                     "before the first infusion.")
    need, done, booked = sc.integration_required, sc.integration_attended, sc.integration_upcoming
    short = max(0, need - done)
    head = f"**Integration:** {done} of {need} attended"
    head += f", {booked} booked" if booked else ", none booked"
    if sc.first_infusion is None:
        lines.append(f"{head}. The window opens with the first infusion.")
    elif short == 0:
        lines.append(f"{head}: the minimum is met.")
    elif sc.window_end is not None and as_of > sc.window_end:
        lines.append(f"{head}: {short} short of the minimum; the window closed on "
                     f"{fmt_day(sc.window_end)}.")
    elif booked >= short:
        lines.append(f"{head}: the minimum is met if the booked sessions are attended "
                     f"by {fmt_day(sc.window_end)}.")
    else:
        missing = short - booked
        lines.append(f"{head}: {missing} more to book and attend by "
                     f"{fmt_day(sc.window_end)}.")
    return lines


def attendance_frame(sc: SeriesCompliance) -> pd.DataFrame:
    """Integration sessions of the current series against the minimum: attended,
    booked, and still missing (neither)."""
    missing = max(0, sc.integration_required - sc.integration_attended
                  - sc.integration_upcoming)
    return pd.DataFrame({
        "Sessions": ["Attended", "Booked", "Missing"],
        "Count": [sc.integration_attended, sc.integration_upcoming, missing],
        "Order": [0, 1, 2],
    })


def attendance_chart(frame: pd.DataFrame, required: int) -> alt.Chart:
    colours = {"Attended": theme.GOOD, "Booked": BOOKED, "Missing": theme.ALERT}
    top = max(required, int(frame["Count"].sum()), 1)
    bar = alt.Chart(frame[frame["Count"] > 0]).mark_bar(height=26).encode(
        x=alt.X("sum(Count):Q", title="integration sessions",
                scale=alt.Scale(domain=[0, top]),
                axis=alt.Axis(values=list(range(top + 1)), format="d")),
        color=alt.Color("Sessions:N", title=None,
                        scale=alt.Scale(domain=list(colours), range=list(colours.values())),
                        legend=alt.Legend(orient="top")),
        order=alt.Order("Order:Q"),
        tooltip=["Sessions:N", "Count:Q"],
    )
    # Words on the bar as well as colour: "1 attended", "1 booked", "1 missing".
    labels = alt.Chart(frame[frame["Count"] > 0]).transform_window(
        end="sum(Count)", sort=[alt.SortField("Order")]).transform_calculate(
        mid="datum.end - datum.Count / 2",
        label="datum.Count + ' ' + lower(datum.Sessions)").mark_text(
        color="#FFFFFF", fontWeight=600).encode(x="mid:Q", text="label:N")
    minimum = alt.Chart(pd.DataFrame({"x": [required], "label": [f"minimum {required}"]}))
    rule = minimum.mark_rule(color=theme.TEXT, strokeWidth=2).encode(x="x:Q")
    text = minimum.mark_text(align="left", dx=4, dy=-20, color=theme.TEXT).encode(
        x="x:Q", text="label:N")
    return (bar + labels + rule + text).properties(height=80)


# ------------------------------------------------------------------ habits

def habit_weeks_frame(rows: Sequence[HabitWeekRow]) -> pd.DataFrame:
    out = pd.DataFrame([{
        "Habit": r.habit, "Week of": pd.Timestamp(r.week_start), "Days done": r.days,
        "Counted (capped)": r.done, "Target": r.target,
        "Target met": ("yes" if r.done >= r.target else "no") if r.counted else "not active",
    } for r in rows], columns=["Habit", "Week of", "Days done", "Counted (capped)", "Target",
                               "Target met"])
    return out


def habit_weeks_chart(frame: pd.DataFrame) -> alt.Chart:
    """Days done per week as bars, the weekly target as a line over them."""
    colours = {"yes": theme.GOOD, "no": theme.CAUTION, "not active": theme.NEUTRAL}
    base = alt.Chart(frame).encode(
        x=alt.X("Week of:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0)))
    bars = base.mark_bar(width={"band": 0.8}).encode(
        y=alt.Y("Days done:Q", title="days done", scale=alt.Scale(domain=[0, 7]),
                axis=alt.Axis(values=list(range(8)), format="d")),
        color=alt.Color("Target met:N", title="Target met",
                        scale=alt.Scale(domain=list(colours), range=list(colours.values())),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("Week of:T", format="%d %b %Y"), "Days done:Q", "Target:Q",
                 "Target met:N"])
    # The target only where the habit was live: no line before it started.
    target = base.transform_filter(alt.datum["Target met"] != "not active").mark_line(
        color=theme.TEXT, strokeDash=[5, 3], interpolate="step-after", point=True
    ).encode(y="Target:Q", tooltip=["Target:Q"])
    return (bars + target).properties(height=170)


def calendar_frame(cells: Sequence[CalendarCell]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Habit": c.habit, "Date": pd.Timestamp(c.date), "Week of": pd.Timestamp(c.week_start),
        "Day": WEEKDAYS[c.weekday], "State": c.state,
    } for c in cells], columns=["Habit", "Date", "Week of", "Day", "State"])


def calendar_chart(frame: pd.DataFrame) -> alt.Chart:
    """Weeks across, weekdays down: a habit tracker's grid of completed days."""
    return alt.Chart(frame).mark_rect(stroke="#FFFFFF", strokeWidth=2, cornerRadius=2).encode(
        x=alt.X("yearmonthdate(Week of):O", title=None,
                axis=alt.Axis(format="%d %b", labelAngle=-45, labelOverlap=True)),
        y=alt.Y("Day:O", title=None, sort=WEEKDAYS),
        color=alt.Color("State:N", title=None,
                        scale=alt.Scale(domain=list(CALENDAR_COLOURS),
                                        range=list(CALENDAR_COLOURS.values())),
                        legend=alt.Legend(orient="top", symbolStrokeColor=theme.GRID)),
        tooltip=[alt.Tooltip("Date:T", format="%a %d %b %Y"), "State:N"],
    ).properties(height=170)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


# ---------------------------------------------------------------- outcomes

def scores_frame(scores: Sequence[ScorePoint], instrument: str) -> pd.DataFrame:
    return pd.DataFrame([{"Date": pd.Timestamp(s.date), "Score": s.score}
                         for s in scores if s.instrument == instrument],
                        columns=["Date", "Score"])


def bands_frame(instrument: str) -> pd.DataFrame:
    # Bands run to the top of their last whole score so that the fills touch.
    return pd.DataFrame([{"low": low, "high": high + 1 if i < len(BANDS[instrument]) - 1
                          else high, "Band": label}
                         for i, (low, high, label) in enumerate(BANDS[instrument])])


def outcome_chart(instrument: str, scores: pd.DataFrame, infusion_dates: Sequence[date],
                  summary: OutcomeSummary | None,
                  domain: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> alt.Chart:
    """Scores over time, severity bands behind, infusions marked, baseline drawn."""
    bands = bands_frame(instrument)
    top = int(bands["high"].max())
    labels = [b for b in bands["Band"]]
    y = alt.Y("Score:Q", title=instrument, scale=alt.Scale(domain=[0, top], nice=False))
    band_layer = alt.Chart(bands).mark_rect(opacity=1).encode(
        y=alt.Y("low:Q", scale=alt.Scale(domain=[0, top], nice=False), title=instrument),
        y2="high:Q",
        color=alt.Color("Band:N", title="Severity",
                        scale=alt.Scale(domain=labels, range=BAND_FILLS[:len(labels)]),
                        # Severe at the top of the legend, as on the chart.
                        legend=alt.Legend(orient="right", symbolStrokeColor=theme.GRID,
                                          values=labels[::-1])),
        tooltip=["Band:N", alt.Tooltip("low:Q", title="from"), alt.Tooltip("high:Q",
                                                                            title="to")])
    layers = [band_layer]
    if infusion_dates:
        inf = pd.DataFrame({"Date": [pd.Timestamp(d) for d in sorted(set(infusion_dates))],
                            "What": "infusion"})
        layers.append(alt.Chart(inf).mark_rule(color=theme.CATEGORY[1], opacity=0.7).encode(
            x="Date:T", tooltip=[alt.Tooltip("Date:T", title="Infusion", format="%d %b %Y")]))
    if summary is not None:
        base = pd.DataFrame({"Score": [summary.baseline],
                             "label": [f"baseline {summary.baseline}"]})
        layers.append(alt.Chart(base).mark_rule(color=theme.MUTED, strokeDash=[6, 4]).encode(
            y="Score:Q"))
        layers.append(alt.Chart(base).mark_text(align="left", x=4, dy=-7,
                                                color=theme.MUTED).encode(
            y="Score:Q", text="label:N"))
    if domain is not None:
        domain = (min(domain[0], scores["Date"].min()), max(domain[1], scores["Date"].max()))
    line = alt.Chart(scores).encode(
        x=_x_time(domain, tick_count=6),
        y=y, tooltip=[alt.Tooltip("Date:T", format="%a %d %b %Y"), "Score:Q"])
    layers += [line.mark_line(color=theme.TEXT, strokeWidth=2),
               line.mark_point(color=theme.TEXT, filled=True, size=45)]
    return alt.layer(*layers).properties(height=220)


def outcome_words(s: OutcomeSummary) -> str:
    """'18 at baseline (3 Jun 2026), 9 now (15 Jun 2026): 9 points lower, response.'"""
    band = f" ({s.band})" if s.band else ""
    if s.n_scores == 1:
        return f"one score so far: {s.latest}{band} on {fmt_day(s.latest_date)}."
    points = f"{abs(s.change)} point{'s' if abs(s.change) != 1 else ''}"
    if s.change < 0:
        change = f"{points} lower"
    elif s.change > 0:
        change = f"{points} higher"
    else:
        change = "no change"
    calls = []
    if s.remission:
        calls.append("**remission**")
    if s.response:
        calls.append("**response** (50% or more lower)")
    if s.worsening:
        calls.append("**worse by 5 points or more**")
    text = (f"{s.baseline} at baseline ({fmt_day(s.baseline_date)}), {s.latest}{band} on "
            f"{fmt_day(s.latest_date)}: {change}")
    return text + (": " + ", ".join(calls) if calls else "") + "."


# ------------------------------------------------------------------ render

def numbers(frame: pd.DataFrame, label: str = "Numbers", **config) -> None:
    """The chart's own rows, one click away."""
    with st.expander(label, icon=":material/table:"):
        st.dataframe(frame, hide_index=True, width="stretch", column_config=config or None)


def status_line(sc: SeriesCompliance) -> str:
    """Status and flags as coloured badges with icons and words, on one line."""
    shown = [theme.STATUS_DISPLAY[sc.status], *(theme.FLAG_DISPLAY[f] for f in sc.flags)]
    return " ".join(f":{theme.BADGE_COLOUR[colour]}-badge[{icon} {label}]"
                    for icon, label, colour in shown)


def render_header(rec: PatientRecord) -> None:
    h = rec.header
    st.title(md_escape(h.name), anchor=False)
    st.caption(f"Chart {md_escape(h.chart)} · {h.age} years · therapist "
               f"{md_escape(h.therapist_name)} · intake {fmt_day(h.intake_date)}")
    sc = rec.current
    cols = st.columns([3, 2], gap="large")
    with cols[0]:
        if sc is None:
            st.markdown("**Current series:** none yet.")
        else:
            st.markdown(f"**Series {sc.series_number}** ({sc.kind}, {sc.series_status}): "
                        f"{sc.infusions_completed} of {sc.infusions_planned} infusions done, "
                        + (f"next on {fmt_day(sc.next_infusion)}" if sc.next_infusion
                           else "no infusion booked") + "  \n" + status_line(sc))
            st.caption(sc.reason)
    with cols[1]:
        st.markdown("**Intentions and goals**")
        if h.intentions.strip():
            # st.text: the patient's own words, shown literally.
            st.text(h.intentions)
        else:
            st.caption("None recorded.")


def render_timeline(rec: PatientRecord) -> None:
    st.subheader("Series timeline", anchor=False)
    events = timeline_frame(rec.events)
    if events.empty:
        st.info("No infusions or therapy sessions recorded yet.")
        return
    windows = windows_frame(rec.series)
    st.caption("Diamonds are preparation sessions, circles infusions, squares integration "
               "sessions; the shaded span is each series' integration window, the dashed "
               "line today. Scroll to zoom, drag to move along time.")
    st.altair_chart(timeline_chart(events, windows, rec.as_of), width="stretch", theme=None)
    numbers(events.sort_values("Date", ascending=False),
            Date=st.column_config.DateColumn(format="ddd D MMM YYYY"))


def render_attendance(rec: PatientRecord) -> None:
    st.subheader("Attendance against the minimum", anchor=False)
    sc = rec.current
    if sc is None:
        st.info("No series yet.")
        return
    st.caption(f"Series {sc.series_number}: the protocol asks for a preparation session "
               f"before the first infusion and at least {sc.integration_required} "
               f"integration sessions by the window's end ({fmt_day(sc.window_end)}).")
    for line in attendance_lines(sc, rec.as_of):
        st.markdown(line)
    frame = attendance_frame(sc)
    st.altair_chart(attendance_chart(frame, sc.integration_required), width="stretch",
                    theme=None)
    numbers(series_table(rec.series), "Numbers for every series")


def series_table(series: Sequence[SeriesCompliance]) -> pd.DataFrame:
    return pd.DataFrame([{
        "Series": sc.series_number, "Kind": sc.kind, "Series status": sc.series_status,
        "Infusions": f"{sc.infusions_completed} of {sc.infusions_planned}",
        "First infusion": sc.first_infusion, "Window ends": sc.window_end,
        "Preparation": PREPARATION_WORDS.get(sc.preparation, sc.preparation),
        "Integration attended": sc.integration_attended,
        "Integration booked": sc.integration_upcoming,
        "Minimum": sc.integration_required, "Protocol": theme.status_text(sc.status),
        "Reason": sc.reason,
    } for sc in sorted(series, key=lambda s: -s.series_number)])


def render_habits(rec: PatientRecord) -> None:
    st.subheader("Habits", anchor=False)
    if not rec.habits:
        st.info("No habits set up yet.")
        return
    st.caption(f"Weeks run Monday to Sunday. Charts show {fmt_day(rec.weeks_from)} to "
               f"today; figures are over the last 4 complete weeks.")
    weeks = habit_weeks_frame(rec.habit_weeks)
    calendar = calendar_frame(rec.calendar)
    for h in rec.habits:
        # From the habit's first week: the weeks before it began say nothing.
        since = pd.Timestamp(monday(h.start_date))
        render_habit(h, weeks[(weeks["Habit"] == h.habit) & (weeks["Week of"] >= since)],
                     calendar[(calendar["Habit"] == h.habit) & (calendar["Week of"] >= since)],
                     rec.as_of)


def render_habit(h: HabitAdherence, weeks: pd.DataFrame, calendar: pd.DataFrame,
                 as_of: date) -> None:
    with st.container(border=True):
        ended = f", ended {fmt_day(h.end_date)}" if h.end_date else ""
        starts = "starts" if h.start_date > as_of else "since"
        st.markdown(f"**{md_escape(h.habit)}**: target {h.target_per_week} "
                    f"day{'s' if h.target_per_week != 1 else ''} a week, {starts} "
                    f"{fmt_day(h.start_date)}{ended}")
        if h.start_date > as_of:
            st.caption("Not started yet: nothing to chart.")
            return
        a, b, c, d = st.columns(4)
        a.metric("Last 4 weeks", pct(h.adherence_pct))
        b.metric("Streak", f"{h.streak_weeks} week{'s' if h.streak_weeks != 1 else ''}",
                 help="Consecutive complete weeks with the target met, newest first.")
        c.metric("During the series", pct(h.during_series_pct),
                 help="Adherence in weeks overlapping the latest series, first infusion to "
                      "the window's end.")
        d.metric("After the series", pct(h.after_series_pct),
                 help="Adherence in weeks after the latest series' window ended.")
        left, right = st.columns(2)
        with left:
            if weeks.empty:
                st.caption("No complete week since it started yet.")
            else:
                st.altair_chart(habit_weeks_chart(weeks), width="stretch", theme=None)
            numbers(weeks.drop(columns=["Habit"]).sort_values("Week of", ascending=False),
                    "Numbers per week",
                    **{"Week of": st.column_config.DateColumn(format="D MMM YYYY")})
        with right:
            st.altair_chart(calendar_chart(calendar), width="stretch", theme=None)
            done = calendar[calendar["State"] == "done"]
            numbers(done[["Date", "Day"]].sort_values("Date", ascending=False),
                    "Days done", Date=st.column_config.DateColumn(format="ddd D MMM YYYY"))


def render_outcomes(rec: PatientRecord) -> None:
    st.subheader("Outcomes", anchor=False)
    infusions = [e.date for e in rec.events if e.kind == "infusion" and e.status == "completed"]
    summaries = {s.instrument: s for s in rec.outcomes}
    domain = time_domain(timeline_frame(rec.events), windows_frame(rec.series), rec.as_of)
    shown = False
    for instrument in ("PHQ-9", "GAD-7"):
        frame = scores_frame(rec.scores, instrument)
        if frame.empty:
            continue
        shown = True
        summary = summaries.get(instrument)
        st.markdown(f"**{instrument}**: " + (outcome_words(summary) if summary else ""))
        st.altair_chart(outcome_chart(instrument, frame, infusions, summary, domain),
                        width="stretch", theme=None)
        numbers(frame.assign(Band=[_band(instrument, s) for s in frame["Score"]])
                .sort_values("Date", ascending=False),
                f"{instrument} scores", Date=st.column_config.DateColumn(format="D MMM YYYY"))
    if not shown:
        st.info("No PHQ-9 or GAD-7 scores recorded yet.")
    else:
        st.caption("Vertical lines mark completed infusions; the dashed line is the baseline, "
                   "the latest score on or before the latest series' first infusion.")


def _band(instrument: str, score: int) -> str | None:
    return severity_band(instrument, int(score))
