"""What every signed-in page shares: the sidebar and the demo-data badge."""
from __future__ import annotations

import streamlit as st

from .access import CurrentUser
from .text import md_escape

DEMO_BADGE = "Demo data: synthetic patients, not a real clinic"


def demo_badge() -> None:
    """A clear badge saying the data is synthetic; dashboard.py shows it on every page in demo mode."""
    st.badge(DEMO_BADGE, icon=":material/science:", color="orange")


def sidebar(user: CurrentUser, *, demo: bool) -> bool:
    """Who is signed in, their role, and a sign-out button; True when it was pressed."""
    with st.sidebar:
        st.markdown(f"**{md_escape(user.full_name)}**")
        st.caption(f"{user.role_label} · signed in as `{user.username}`")
        if demo:
            st.badge("Demo data", icon=":material/science:", color="orange")
        return st.button("Sign out", icon=":material/logout:", key="kap_sign_out", width="stretch")
