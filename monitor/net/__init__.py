"""I/O towards the web: fetching (conditional GET, redirects hop by hop, size limits),
per-host politeness, the address guard, the headless browser and the page readers.

Nothing here writes to the database or sends an alert: the pipeline calls it.
"""
