"""Users (admin): add staff with a role, reset a password, change a role, deactivate.

A reset or a deactivation ends that user's sessions at once; the last active
admin can be neither deactivated nor demoted (db.staff decides)."""
import streamlit as st

from ui.access import require_page_access
from ui.forms import show_flash
from ui.pages import title_for
from ui.users_view import (
    add_staff_form,
    list_users,
    manage_forms,
    show_temporary_password,
    users_table,
)

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
show_flash()
show_temporary_password()

rows = list_users()
users_table(rows)

left, right = st.columns([1, 2])
with left:
    add_staff_form(user)
with right:
    by_name = {r.username: r for r in rows}
    picked = st.selectbox("Manage a user", list(by_name), key="us_target",
                          format_func=lambda n: f"{n} · {by_name[n].full_name}"
                          + ("" if by_name[n].active else " (deactivated)"))
    if picked is not None:
        manage_forms(user, by_name[picked])
