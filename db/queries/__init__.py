"""Read-only queries behind the pages: plain Python, scoped to the user who asks.

Each module serves one area of the app; pages call these functions and never
hold SQL themselves. Protocol figures come from ``db.protocol``; these modules
only select, scope and join them to the names a page shows.
"""
