"""Floor scripts: the smallest Streamlit script per page that runs the page's
own aggregate queries (``db.queries`` and ``db.protocol`` called directly) and
renders the same tables and charts with the pages' own pure frame and chart
builders, with no sign-in, access check, audit, cache, widgets or layout
around them. Run by the harness through AppTest beside the page.

The scope comes from query parameters (``therapist``, ``chart``) because a
floor has no signed-in user; the database and today come from the same
``DATABASE_URL`` and ``KAP_TODAY`` the page reads.
"""
