"""The calm clinical palette, used by Streamlit's theme and by Altair charts.

``.streamlit/config.toml`` repeats these colours (TOML cannot import Python);
tests/test_shell.py checks that the two agree. Status is never colour alone:
every status has an icon and words.
"""
from __future__ import annotations

import altair as alt

from db.protocol.compliance import FLAG_LABELS, STATUS_LABELS

PRIMARY = "#2F6F73"      # deep teal: buttons, links, the main series
BACKGROUND = "#FFFFFF"
SURFACE = "#F2F6F6"      # sidebar and secondary surfaces
TEXT = "#1E2B33"
MUTED = "#5F6C72"
GRID = "#DDE5E6"
FONT = "sans-serif"

GOOD = "#2E7D5B"
CAUTION = "#B7791F"
ALERT = "#B23B3B"
NEUTRAL = "#7A8790"

# Categorical series in charts: distinguishable, muted, teal first.
CATEGORY = ["#2F6F73", "#C38D3A", "#5B7DB1", "#8C6BA8", "#6E9E57", "#B5655A", "#7A8790"]

# status -> (Material icon, words, colour); the words are the protocol engine's own.
STATUS_DISPLAY: dict[str, tuple[str, str, str]] = {
    "compliant": (":material/check_circle:", STATUS_LABELS["compliant"], GOOD),
    "on_track": (":material/schedule:", STATUS_LABELS["on_track"], PRIMARY),
    "at_risk": (":material/warning:", STATUS_LABELS["at_risk"], CAUTION),
    "non_compliant": (":material/error:", STATUS_LABELS["non_compliant"], ALERT),
    "not_started": (":material/radio_button_unchecked:", STATUS_LABELS["not_started"], NEUTRAL),
    "discontinued": (":material/block:", STATUS_LABELS["discontinued"], NEUTRAL),
}

# flag -> (Material icon, words, colour)
FLAG_DISPLAY: dict[str, tuple[str, str, str]] = {
    "stalled": (":material/pause_circle:", FLAG_LABELS["stalled"], CAUTION),
    "prep_due": (":material/event_upcoming:", FLAG_LABELS["prep_due"], PRIMARY),
    "unrecorded": (":material/edit_off:", FLAG_LABELS["unrecorded"], ALERT),
}

# For places that cannot draw Material icons (table cells, chart legends, PDFs):
# plain symbols that DejaVu/Liberation fonts in Chromium render.
STATUS_SYMBOL = {
    "compliant": "✓", "on_track": "◷", "at_risk": "⚠", "non_compliant": "✕",
    "not_started": "○", "discontinued": "–",
}
FLAG_SYMBOL = {"stalled": "‖", "prep_due": "◷", "unrecorded": "✎"}

# A stored infusion or session status in the words every form and chart uses.
EVENT_STATUS_WORDS = {"scheduled": "Booked", "attended": "Attended", "completed": "Completed",
                      "no_show": "No-show", "cancelled": "Cancelled"}

# st.badge takes named colours only.
BADGE_COLOUR = {GOOD: "green", PRIMARY: "blue", CAUTION: "orange", ALERT: "red", NEUTRAL: "gray"}


def status_text(status: str) -> str:
    """'✓ Compliant': symbol and words, for tables and chart labels."""
    _, label, _ = STATUS_DISPLAY[status]
    return f"{STATUS_SYMBOL[status]} {label}"


def flag_text(flag: str) -> str:
    _, label, _ = FLAG_DISPLAY[flag]
    return f"{FLAG_SYMBOL[flag]} {label}"


def status_markdown(status: str) -> str:
    """Markdown with a coloured icon and the words, e.g. for st.markdown or st.metric labels."""
    icon, label, colour = STATUS_DISPLAY[status]
    return f":{BADGE_COLOUR[colour]}[{icon} {label}]"


def status_badge(status: str):
    import streamlit as st

    icon, label, colour = STATUS_DISPLAY[status]
    return st.badge(label, icon=icon, color=BADGE_COLOUR[colour])


def status_scale() -> alt.Scale:
    """An Altair colour scale mapping status words to their colours (pair it with words)."""
    return alt.Scale(domain=[v[1] for v in STATUS_DISPLAY.values()],
                     range=[v[2] for v in STATUS_DISPLAY.values()])


@alt.theme.register("kap", enable=False)
def kap_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "background": BACKGROUND,
            "font": FONT,
            "view": {"stroke": "transparent"},
            "title": {"color": TEXT, "fontSize": 15, "anchor": "start", "fontWeight": 600},
            "axis": {"labelColor": MUTED, "titleColor": TEXT, "gridColor": GRID,
                     "domainColor": GRID, "tickColor": GRID, "labelFontSize": 12,
                     "titleFontSize": 12},
            "legend": {"labelColor": TEXT, "titleColor": TEXT, "labelFontSize": 12},
            "range": {"category": CATEGORY},
            "mark": {"color": PRIMARY},
            "line": {"color": PRIMARY, "strokeWidth": 2},
            "bar": {"color": PRIMARY},
            "point": {"color": PRIMARY, "filled": True},
        }
    }


def enable_altair_theme() -> None:
    """Make 'kap' Altair's active theme (charts shown with theme=None keep it)."""
    alt.theme.enable("kap")
