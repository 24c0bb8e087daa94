"""How the team meeting screen looks: big type for a meeting-room TV.

All data goes through ordinary Streamlit elements (metric, table, chart), which
escape HTML; st.table also renders Markdown, so every cell goes through
``ui.text.md_escape`` first. The only raw HTML is the static style sheet below, which
holds no data. The style is scoped to the page's own container (the padding
and header rules apply while this page is shown), so other pages keep their
normal size.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import altair as alt
import pandas as pd
import streamlit as st

from db.queries import team_meeting as tm
from ui import theme
from ui.text import md_escape

CONTAINER_KEY = "team-meeting"
# Rows that fit a 1920x1080 screen in the type size below; more rows page by themselves.
DISCUSSION_PER_PAGE = 8
WINS_PER_PAGE = 4

# Symbol + words: status is never told by colour alone. Plain symbols, not
# emoji: the meeting-room browser may have no emoji font.
TOPIC_ICONS = {
    tm.CLOSED_NON_COMPLIANT: theme.STATUS_SYMBOL["non_compliant"],
    tm.AT_RISK: theme.STATUS_SYMBOL["at_risk"],
    # The theme's pause symbol has no glyph in Debian's Chromium fonts.
    tm.STALLED: "‖",
    tm.PREP_DUE: theme.FLAG_SYMBOL["prep_due"],
    tm.PHQ9_WORSE: "↑",
    tm.HABIT_LOW: "↓",
}
WIN_ICONS = {tm.WIN_COMPLETED: "✓", tm.WIN_OUTCOME: "★", tm.WIN_HABIT: "●"}

# Static only: never format data into this string. Sizes are for a TV read
# from about three metres (at 1920 px wide: body text 27 px, figures 54 px)
# and shrink with the window, so a laptop shows the same screen smaller.
_K = f".st-key-{CONTAINER_KEY}"
WALL_CSS = f"""
<style>
[data-testid="stMainBlockContainer"] {{ padding-top: 0.6rem; padding-bottom: 0.5rem; }}
[data-testid="stHeader"] {{ background: transparent; }}
{_K} {{ gap: 0.5rem; }}
{_K} [data-testid="stMarkdownContainer"] p {{ font-size: clamp(1rem, 1.25vw, 1.5rem); }}
{_K} h1 {{ font-size: clamp(1.6rem, 2vw, 2.4rem); padding: 0; }}
{_K} h3 {{ font-size: clamp(1.2rem, 1.5vw, 1.8rem); padding: 0.1rem 0; }}
{_K} [data-testid="stCaptionContainer"] p {{ font-size: clamp(0.9rem, 1.05vw, 1.25rem); }}
{_K} [data-testid="stMetric"] {{ padding: 0.4rem clamp(0.3rem, calc(1vw - 0.4rem), 0.8rem); }}
{_K} [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {{
  font-size: clamp(0.75rem, calc(1.6vw - 0.6rem), 1.2rem); }}
{_K} [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {{
  font-size: clamp(1.6rem, calc(5.2vw - 3rem), 3.4rem); line-height: 1.05; font-weight: 600; }}
{_K} [data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"] p {{
  font-size: clamp(0.7rem, calc(1.5vw - 0.6rem), 1.2rem); }}
{_K} [data-testid="stTable"] th [data-testid="stMarkdownContainer"] p {{
  font-size: clamp(0.85rem, 1vw, 1.2rem); }}
{_K} [data-testid="stTable"] td [data-testid="stMarkdownContainer"] p {{
  font-size: clamp(1rem, 1.42vw, 1.7rem); line-height: 1.2; }}
{_K} [data-testid="stTable"] td [data-testid="stMarkdownContainer"] {{ max-width: none; }}
{_K} [data-testid="stTable"] td:not(:last-child) [data-testid="stMarkdownContainer"] p {{
  white-space: nowrap; }}
{_K} [data-testid="stTable"] td, {_K} [data-testid="stTable"] th {{ padding: 0.3rem 0.7rem; }}
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
    def label(d: date) -> str:
        return d.strftime("%a %-d")

    order = [label(x.day) for x in days]
    data = pd.DataFrame(
        [{"Day": label(x.day), "What": "Infusions", "Count": x.infusions} for x in days]
        + [{"Day": label(x.day), "What": "Sessions", "Count": x.sessions} for x in days]
    )
    base = alt.Chart(data).encode(
        x=alt.X("Day:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("What:N"),
        y=alt.Y("Count:Q", title=None, axis=alt.Axis(tickMinStep=1, grid=False, labels=False)),
        color=alt.Color("What:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["Infusions", "Sessions"],
                                        range=theme.CATEGORY[:2])),
    )
    bars = base.mark_bar()
    labels = base.mark_text(dy=-12, fontSize=18).encode(text="Count:Q", color=alt.value(theme.TEXT))
    return (
        (bars + labels)
        .properties(height=190)
        .configure_axis(labelFontSize=18)
        .configure_legend(labelFontSize=20, symbolSize=300)
        .configure_view(stroke=None)
    )


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)}%"


def render_headline(h: tm.Headline, as_of: date) -> None:
    # (label, figure, what it counts): labels stay short enough for one line.
    tiles = [
        ("Active series", str(h.active_series)),
        (f"{as_of:%b} compliance", _percent(h.compliance_rate), f"of {h.closed_this_month} closed"),
        (f"{TOPIC_ICONS[tm.AT_RISK]} At risk", str(h.at_risk)),
        (f"{TOPIC_ICONS[tm.STALLED]} Stalled", str(h.stalled)),
        ("Infusions", str(h.infusions_this_week), "this week"),
        ("Sessions", str(h.sessions_this_week), "this week"),
        (f"{WIN_ICONS[tm.WIN_COMPLETED]} Completed", str(h.completed_this_week), "this week"),
    ]
    for col, (label, value, *note) in zip(st.columns(len(tiles)), tiles, strict=True):
        # The note is not a change: no arrow, no colour.
        col.metric(label, value, delta=note[0] if note else None, delta_color="off",
                   delta_arrow="off", border=True, height="stretch")


def _paged_title(title: str, total: int, page: int, pages: int) -> str:
    more = f" · page {page} of {pages}" if pages > 1 else ""
    return f"{title} ({total}){more}"


def discussion_rows(rows: Sequence[tm.DiscussionItem]) -> pd.DataFrame:
    # st.table renders cells as Markdown: every value is escaped to show as typed.
    return pd.DataFrame([{
        "Topic": md_escape(f"{TOPIC_ICONS[r.topic]} {r.topic}"),
        "Patient": md_escape(f"{r.initials} {r.code}"),
        "Therapist": md_escape(r.therapist),
        "Infusions": md_escape(r.progress),
        "Why": md_escape(r.reason),
    } for r in rows], columns=["Topic", "Patient", "Therapist", "Infusions", "Why"])


def win_rows(rows: Sequence[tm.WinItem]) -> pd.DataFrame:
    # The detail names the kind of win, so one column holds both: a line each.
    return pd.DataFrame([{
        "Patient": md_escape(f"{w.initials} {w.code}"),
        "Therapist": md_escape(w.therapist),
        "Win": md_escape(f"{WIN_ICONS[w.kind]} {w.detail}"),
    } for w in rows], columns=["Patient", "Therapist", "Win"])


def _render_paged_table(title: str, rows: Sequence, per_page: int, tick: int,
                        frame: Callable[[Sequence], pd.DataFrame], empty: str) -> None:
    """A titled table that turns its own pages on the wall display's minute tick."""
    shown, page, pages = page_of(rows, per_page, tick)
    st.subheader(_paged_title(title, len(rows), page, pages), anchor=False)
    if shown:
        st.table(frame(shown), hide_index=True)
    else:
        st.write(empty)


def render_discussion(rows: Sequence[tm.DiscussionItem], tick: int) -> None:
    _render_paged_table("Needs discussion", rows, DISCUSSION_PER_PAGE, tick, discussion_rows,
                        "Nothing needs discussion this week.")


def render_wins(rows: Sequence[tm.WinItem], tick: int) -> None:
    _render_paged_table("Wins", rows, WINS_PER_PAGE, tick, win_rows, "No wins yet this week.")


def render(m: tm.TeamMeeting, tick: int) -> None:
    """The whole screen for one reading of the data."""
    st.title(f"Team meeting · {m.as_of.strftime('%A %-d %B')}", anchor=False)
    st.caption(f"Week {_day(m.week_start)} – {_day(m.week_end)} · data last read at "
               f"{m.read_at.strftime('%H:%M')}, refreshed every minute")
    render_headline(m.headline, m.as_of)
    render_discussion(m.discussion, tick)
    wins, week = st.columns([2, 1], gap="large")
    with wins:
        render_wins(m.wins, tick)
    with week:
        st.subheader("Coming week", anchor=False)
        st.altair_chart(coming_week_chart(m.coming_week), width="stretch")
