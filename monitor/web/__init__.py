"""The dashboard, the JSON API (``/api/v1``) and the Atom feeds (``/feeds``).

Served by ``posting-monitor web``, or beside ``run`` / ``worker`` when ``web.listen``
is set. FastAPI and uvicorn load only when one of them is used."""
