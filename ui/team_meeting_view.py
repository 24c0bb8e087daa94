"""How the team meeting screen looks: big type for a meeting-room TV.

All data goes through ordinary Streamlit elements (metric, table, chart), which
escape text; the only raw HTML is the static style sheet below, which holds no
data. The style is scoped to the page's own container, so other pages keep
their normal size.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from db.queries import team_meeting as tm
from ui import theme

CONTAINER_KEY = "team-meeting"
# Rows that fit a 1920x1080 screen in the type size below; more rows page by themselves.
DISCUSSION_PER_PAGE = 9
WINS_PER_PAGE = 6

# Symbol + words: status is never told by colour alone. Plain symbols, not
# emoji: the meeting-room browser may have no emoji font.
TOPIC_ICONS = {
    tm.CLOSED_NON_COMPLIANT: theme.STATUS_SYMBOL["non_compliant"],
    tm.AT_RISK: theme.STATUS_SYMBOL["at_risk"],
    tm.STALLED: theme.FLAG_SYMBOL["stalled"],
    tm.PREP_DUE: theme.FLAG_SYMBOL["prep_due"],
    tm.PHQ9_WORSE: "↑",
    tm.HABIT_LOW: "↓",
}
WIN_ICONS = {tm.WIN_COMPLETED: "✓", tm.WIN_OUTCOME: "★", tm.WIN_HABIT: "●"}

# Static only: never format data into this string.
WALL_CSS = f"""
<style>
.st-key-{CONTAINER_KEY} {{ font-size: 1.45rem; }}
.st-key-{CONTAINER_KEY} h1 {{ font-size: 2.6rem; padding: 0; }}
.st-key-{CONTAINER_KEY} h3 {{ font-size: 1.9rem; padding: 0.2rem 0; }}
.st-key-{CONTAINER_KEY} [data-testid="stMetricLabel"] p {{ font-size: 1.3rem; }}
.st-key-{CONTAINER_KEY} [data-testid="stMetricValue"] {{ font-size: 3.2rem; line-height: 1.1; }}
.st-key-{CONTAINER_KEY} [data-testid="stCaptionContainer"] p {{ font-size: 1.2rem; }}
.st-key-{CONTAINER_KEY} [data-testid="stTable"] table {{ font-size: 1.55rem; }}
.st-key-{CONTAINER_KEY} [data-testid="stTable"] th {{ font-size: 1.25rem; }}
.st-key-{CONTAINER_KEY} [data-testid="stTable"] td,
.st-key-{CONTAINER_KEY} [data-testid="stTable"] th {{ padding: 0.3rem 0.6rem; line-height: 1.25; }}
.st-key-{CONTAINER_KEY} [data-testid="stMarkdownContainer"] p {{ font-size: 1.45rem; }}
</style>
"""


def page_of(items: Sequence, per_page: int, tick: int) -> tuple[list, int, int]:
    """The slice of ``items`` to show on refresh number ``tick``: (rows, page, pages).

    Derived from the tick alone, so paging keeps no state in the session.
    """
    pages = max(1, -(-len(items) // per_page))
    page = tick % pages
    return list(items[page * per_page:(page + 1) * per_page]), page + 1, pages


def _day(d: date) -> str:
    return d.strftime("%a %-d %b")


def coming_week_chart(days: Sequence[tm.DayLoad]) -> alt.Chart:
    """Infusions and sessions per day, side by side, with the count on each bar."""
    order = [_day(x.day) for x in days]
    data = pd.DataFrame(
        [{"Day": _day(x.day), "What": "Infusions", "Count": x.infusions} for x in days]
        + [{"Day": _day(x.day), "What": "Therapy sessions", "Count": x.sessions} for x in days]
    )
    base = alt.Chart(data).encode(
        x=alt.X("Day:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("What:N"),
        y=alt.Y("Count:Q", title=None, axis=alt.Axis(tickMinStep=1, grid=False, labels=False)),
        color=alt.Color("What:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["Infusions", "Therapy sessions"],
                                        range=theme.CATEGORY[:2])),
    )
    bars = base.mark_bar()
    labels = base.mark_text(dy=-12, fontSize=18).encode(text="Count:Q", color=alt.value(theme.TEXT))
    return (
        (bars + labels)
        .properties(height=230)
        .configure_axis(labelFontSize=18)
        .configure_legend(labelFontSize=20, symbolSize=300)
        .configure_view(stroke=None)
    )


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def render_headline(m: tm.TeamMeeting) -> None:
    h = m.headline
    tiles = [
        ("Active series", str(h.active_series)),
        ("Compliant this month", _percent(h.compliance_rate)),
        (f"{theme.STATUS_SYMBOL['at_risk']} At risk", str(h.at_risk)),
        (f"{theme.FLAG_SYMBOL['stalled']} Stalled", str(h.stalled)),
        ("Infusions this week", str(h.infusions_this_week)),
        ("Sessions this week", str(h.sessions_this_week)),
        (f"{WIN_ICONS[tm.WIN_COMPLETED]} Completed this week", str(h.completed_this_week)),
    ]
    for col, (label, value) in zip(st.columns(len(tiles)), tiles, strict=True):
        col.metric(label, value, border=True)
    st.caption(f"Week {_day(m.week_start)} – {_day(m.week_end)}. Compliance: of "
               f"{h.closed_this_month} series whose window closed this month.")


def render_discussion(rows: Sequence[tm.DiscussionItem], tick: int) -> None:
    shown, page, pages = page_of(rows, DISCUSSION_PER_PAGE, tick)
    more = f" · page {page} of {pages}" if pages > 1 else ""
    st.subheader(f"Needs discussion ({len(rows)}){more}")
    if not shown:
        st.write("Nothing needs discussion this week.")
        return
    st.table(pd.DataFrame([{
        "Topic": f"{TOPIC_ICONS[r.topic]} {r.topic}",
        "Patient": f"{r.initials} {r.code}",
        "Therapist": r.therapist,
        "Infusions": r.progress,
        "Why": r.reason,
    } for r in shown]), hide_index=True)


def render_wins(rows: Sequence[tm.WinItem], tick: int) -> None:
    shown, page, pages = page_of(rows, WINS_PER_PAGE, tick)
    more = f" · page {page} of {pages}" if pages > 1 else ""
    st.subheader(f"Wins ({len(rows)}){more}")
    if not shown:
        st.write("No wins recorded yet this week.")
        return
    st.table(pd.DataFrame([{
        "Win": f"{WIN_ICONS[w.kind]} {w.kind}",
        "Patient": f"{w.initials} {w.code}",
        "Therapist": w.therapist,
        "What": w.detail,
    } for w in shown]), hide_index=True)


def render(m: tm.TeamMeeting, tick: int) -> None:
    """The whole screen for one reading of the data."""
    st.title("Team meeting")
    st.caption(f"{m.as_of.strftime('%A %-d %B %Y')} · Data last read at "
               f"{m.read_at.strftime('%H:%M')} · refreshes every minute")
    render_headline(m)
    left, right = st.columns([5, 3], gap="large")
    with left:
        render_discussion(m.discussion, tick)
    with right:
        st.subheader("Coming week")
        st.altair_chart(coming_week_chart(m.coming_week), width="stretch")
        render_wins(m.wins, tick)
