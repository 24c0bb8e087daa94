"""Exports that leave the app: reports as PDF (CSV safety lives in db.csv_safety)."""
