"""Streamlit-side helpers: the app shell, access checks, theme and layout.

``db`` never imports streamlit; everything that does lives here or in pages/.
"""
