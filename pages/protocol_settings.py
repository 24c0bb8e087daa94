"""Protocol settings: the medical director sets the integration minimum, the
grace window and the default series length. A save is audited, refused if
someone else saved first, and every page and report follows it at once."""
from __future__ import annotations

import streamlit as st

from db.protocol import LIMITS, SettingsConflict, SettingsError
from ui.access import require_page_access
from ui.forms import FieldSlots, changed_views
from ui.pages import title_for
from ui.protocol_settings_data import current_settings, save_settings

SHOWN_KEY = "protocol_settings_shown"  # the settings the form was filled from
NOTICE_KEY = "protocol_settings_notice"

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))

current = current_settings()
shown = st.session_state.setdefault(SHOWN_KEY, current)

notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    kind, text = notice
    (st.success if kind == "saved" else st.warning)(text, icon=":material/info:")

st.write("These rules decide every protocol status on every page and in every report. "
         "A change applies at once, to past series too: compliance figures for earlier "
         "periods are recalculated with the new values.")

FIELDS = {  # setting -> (label, what it means); the bounds are LIMITS, checked on save
    "min_integration_sessions": (
        "Minimum integration sessions per series",
        "Attended integration sessions a series needs to be compliant."),
    "grace_days": (
        "Grace days after the last infusion",
        "Integration sessions count until this many days after the series' last infusion; "
        "then the series is judged."),
    "default_planned_infusions": (
        "Default planned infusions for a new series",
        "Offered when a new series is recorded; existing series keep their own number."),
}

form_column, _ = st.columns([3, 2])
with form_column.form("protocol_settings"):
    # Keys carry the version so the form refills when the settings change. No
    # min/max on the widgets: out of its bounds a number_input keeps sending its
    # last valid value, so a typed 25 would silently save as 20 (or nothing). What
    # is typed reaches update_settings, which checks it against LIMITS. The saved
    # value is put in through the widget's state, not ``value=``, so that an
    # emptied field arrives as None (refused) instead of as the old value.
    v = shown.version
    slots = FieldSlots()
    typed = {}
    for name, (label, help_text) in FIELDS.items():
        low, high = LIMITS[name]
        key = f"ps_{name}_{v}"
        if key not in st.session_state:
            st.session_state[key] = getattr(shown, name)
        typed[name] = st.number_input(label, value=None, step=1, key=key,
                                      help=f"{help_text} Between {low} and {high}.")
        slots.slot(name)
    submitted = st.form_submit_button("Save settings", type="primary", icon=":material/save:")

if submitted:
    try:
        saved = save_settings(user.username, shown.version, **typed)
    except SettingsConflict:
        st.session_state[SHOWN_KEY] = current_settings()
        st.session_state[NOTICE_KEY] = (
            "conflict", "Someone else saved the protocol settings while you were editing, so "
                        "your change was not saved. Their values are shown below; make your "
                        "change again if it still applies.")
        st.rerun()
    except SettingsError as problem:
        slots.show(problem.errors or {"_": str(problem)})
        st.error("Not saved: correct the values marked above; nothing was changed.",
                 icon=":material/error:")
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
