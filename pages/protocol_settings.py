"""Protocol settings: the medical director sets the integration minimum, the
grace window and the default series length. A save is audited, refused if
someone else saved first, and every page and report follows it at once."""
from __future__ import annotations

import streamlit as st

from db.protocol import LIMITS, SettingsConflict, SettingsError, load_settings, update_settings
from ui.access import require_page_access
from ui.database import db_session
from ui.forms import changed_views
from ui.pages import title_for

SHOWN_KEY = "protocol_settings_shown"  # the settings the form was filled from
NOTICE_KEY = "protocol_settings_notice"

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))

with db_session() as session:
    current = load_settings(session)
shown = st.session_state.setdefault(SHOWN_KEY, current)

notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    kind, text = notice
    (st.success if kind == "saved" else st.warning)(text, icon=":material/info:")

st.write("These rules decide every protocol status on every page and in every report. "
         "A change applies at once, to past series too: compliance figures for earlier "
         "periods are recalculated with the new values.")

form_column, _ = st.columns([3, 2])
with form_column.form("protocol_settings"):
    # Keys carry the version so the form refills when the settings change.
    v = shown.version
    min_integration = st.number_input(
        "Minimum integration sessions per series", *LIMITS["min_integration_sessions"],
        value=shown.min_integration_sessions, step=1, key=f"ps_min_{v}",
        help="Attended integration sessions a series needs to be compliant.")
    grace_days = st.number_input(
        "Grace days after the last infusion", *LIMITS["grace_days"], value=shown.grace_days,
        step=1, key=f"ps_grace_{v}",
        help="Integration sessions count until this many days after the series' last infusion; "
             "then the series is judged.")
    planned = st.number_input(
        "Default planned infusions for a new series", *LIMITS["default_planned_infusions"],
        value=shown.default_planned_infusions, step=1, key=f"ps_planned_{v}",
        help="Offered when a new series is recorded; existing series keep their own number.")
    submitted = st.form_submit_button("Save settings", type="primary", icon=":material/save:")

if submitted:
    try:
        with db_session() as session:
            saved = update_settings(session, user.username, shown.version,
                                    min_integration_sessions=int(min_integration),
                                    grace_days=int(grace_days),
                                    default_planned_infusions=int(planned))
            session.commit()
    except SettingsConflict:
        with db_session() as session:
            st.session_state[SHOWN_KEY] = load_settings(session)
        st.session_state[NOTICE_KEY] = (
            "conflict", "Someone else saved the protocol settings while you were editing, so "
                        "your change was not saved. Their values are shown below; make your "
                        "change again if it still applies.")
        st.rerun()
    except SettingsError as problem:
        st.error(f"Not saved: {problem}.", icon=":material/error:")
    else:
        # Every page's cached figures must follow the new rules now, not in a few minutes.
        changed_views()
        st.session_state[SHOWN_KEY] = saved
        st.session_state[NOTICE_KEY] = ("saved", "Saved. Every page and report now uses these "
                                                 "settings.")
        st.rerun()

if current.version != shown.version and not submitted:
    st.warning("These settings were changed by someone else since you opened this page. "
               "Saving now would be refused; reload to see their values.",
               icon=":material/sync_problem:")
    if st.button("Show the current values", icon=":material/refresh:"):
        st.session_state[SHOWN_KEY] = current
        st.rerun()

st.caption(f"Settings version {current.version}. Every change is kept in the audit log "
           "(action `protocol_settings.update`) with the values before and after.")
