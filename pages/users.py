"""Users (admin): add staff with a role, reset a password, change a role, deactivate.

A reset or a deactivation ends that user's sessions at once; the last active
admin can be neither deactivated nor demoted (db.staff decides). Every action
on an account is bound to the user it was drawn for (ui.users_view)."""
import streamlit as st

from ui.access import require_page_access
from ui.downloads import users_download
from ui.forms import show_flash
from ui.pages import title_for
from ui.users_view import add_staff_form, list_users, manage_box, users_table

user = require_page_access(__file__)
st.title(title_for(__file__, user.role))
show_flash()

rows = list_users()
users_table(rows)
users_download(rows, user)  # audited, formula-safe (the table's own export is off)

left, right = st.columns([1, 2])
with left:
    add_staff_form(user)
with right:
    manage_box(user, rows)
