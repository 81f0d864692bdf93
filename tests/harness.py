"""An App under test with fakes for its seams: pages from a ``PageServer``, a
``FrozenClock`` and a ``RecordingNotifier``."""

from __future__ import annotations

import asyncio
from typing import Any

from monitor.app import App
from monitor.config import MonitorConfig
from monitor.model import CheckOutcome
from monitor.testing import FrozenClock, PageServer, RecordingNotifier
from tests.conftest import UNPACED


class Rig:
    def __init__(self, db_url: str, watches: list[dict[str, Any]], **settings: Any) -> None:
        self.server = PageServer()
        self.clock = FrozenClock()
        self.notifier = RecordingNotifier()
        config = MonitorConfig.model_validate(
            {"database": {"url": db_url}, "watches": watches, "http": UNPACED, **settings}
        )
        self.app = App(
            config, transport=self.server.transport(), notifier=self.notifier, clock=self.clock
        )
        self.app.prepare()

    def check_once(self) -> CheckOutcome:
        """One pass over what is due; the one outcome it had."""
        (outcome,) = asyncio.run(self.app.check_all()).outcomes
        return outcome

    def titles(self) -> list[str]:
        return [alert.title for _channel, alert in self.notifier.sent]

    def close(self) -> None:
        asyncio.run(self.app.aclose())
