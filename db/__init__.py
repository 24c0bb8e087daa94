"""The clinic's data layer: plain Python, never imports streamlit.

Functions here take a SQLAlchemy ``Session`` explicitly and return plain data,
so pages, the CLI and tests all call the same code.
"""
