"""My caseload (therapist) / Caseloads (medical director): who needs me today."""
import streamlit as st

from db.clock import today
from db.queries.caseload import filter_rows, tiles
from ui import bound_selection
from ui import caseload_view as view
from ui.access import require_page_access
from ui.caseload_data import load_caseload, load_therapists, settings_version
from ui.pages import title_for
from ui.theme import FLAG_DISPLAY, STATUS_DISPLAY

user = require_page_access(__file__)
st.title(title_for(__file__, user.role), anchor=False)
as_of = today()

# Scope: a therapist sees their own patients only; the medical director picks.
if user.role == "medical_director":
    options = load_therapists()
    names = {t.id: t.full_name for t in options}
    choice = st.columns([2, 3])[0].selectbox(
        "Therapist", [None, *names], key="caseload_therapist",
        format_func=lambda tid: "All therapists" if tid is None else names[tid])
    therapist_id = choice
else:
    therapist_id = user.id

rows = load_caseload(as_of, settings_version(), therapist_id)
view.render_tiles(tiles(rows))

status_labels = {label: key for key, (_, label, _) in STATUS_DISPLAY.items()}
flag_labels = {label: key for key, (_, label, _) in FLAG_DISPLAY.items()}
f1, f2, f3, f4 = st.columns([5, 4, 4, 4], vertical_alignment="bottom")
search = f1.text_input("Search", placeholder="Name or chart number", key="caseload_search")
statuses = f2.multiselect("Status", list(status_labels), key="caseload_status",
                          placeholder="Any status")
flags = f3.multiselect("Flags", list(flag_labels), key="caseload_flags",
                       placeholder="Any flag")
closed = f4.toggle("Show closed series", key="caseload_closed",
                   help="Also list patients whose latest series is completed or discontinued")

shown = filter_rows(rows, statuses=[status_labels[s] for s in statuses],
                    flags=[flag_labels[f] for f in flags], include_closed=closed,
                    search=search)
st.caption(view.as_of_caption(as_of, len(shown), len(rows)))
if not rows:
    st.info("No patients in this caseload yet.", icon=":material/person_off:")
elif not shown:
    st.info("No patient matches these filters.", icon=":material/filter_alt_off:")
else:
    # A fresh key after each opening, so coming back does not reopen the same row;
    # and bound to the patients listed, in order, so a click made on a list that has
    # changed since (a save, a refresh) opens nobody instead of whoever is there now.
    st.session_state.setdefault("caseload_table_n", 0)
    listed = shown[:view.MAX_TABLE_ROWS]
    table_key = bound_selection.table_key(f"caseload_table_{st.session_state['caseload_table_n']}",
                                          [r.chart for r in listed])
    if bound_selection.selection_outdated("caseload_table", table_key):
        bound_selection.say_outdated()
    if len(listed) < len(shown):
        st.caption(view.truncated_caption(len(listed), len(shown)))
    frame = view.caseload_frame(listed, with_therapist=therapist_id is None)
    chart = view.render_table(frame, key=table_key)
    if chart is not None:
        st.session_state["caseload_table_n"] += 1
        view.open_patient(chart)

# Every run: audits a visit or a change of filters (not a rerun), and the CSV of the matches.
view.list_and_download(shown, min(len(shown), view.MAX_TABLE_ROWS), {
    "therapist": ("All therapists" if therapist_id is None else names[therapist_id])
    if user.role == "medical_director" else user.username,
    "search": search.strip(), "status": statuses, "flags": flags, "closed": closed,
}, user, as_of)
