"""The dashboard's pages: server-rendered HTML, forms with CSRF tokens, no script.

One module per resource (sign-in, watches, postings, changes, alerts, health);
``base`` holds what they share: rendering a template with the sign-in state, the
error page, the form whose CSRF token is checked. ``router`` holds every page, in
this order.
"""

from __future__ import annotations

from fastapi import APIRouter

from monitor.web.pages import alerts, changes, health, postings, signin, watches

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(watches.router)
router.include_router(postings.router)
router.include_router(changes.router)
router.include_router(alerts.router)
router.include_router(health.router)
