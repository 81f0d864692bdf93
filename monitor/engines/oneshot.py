"""The ``check`` command's pass: every active posting checked once, due or not, on
the pool and writer the engines use, with alerts delivered while it runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from monitor.app import App, added_reports
from monitor.engines.lifecycle import check_runner
from monitor.engines.runner import PassReport
from monitor.notify.deliver import DeliveryReport
from monitor.progress import NoProgress, Progress
from monitor.records import PostingState

DELIVER_DURING_PASS_EVERY = 0.5


async def check_all(app: App, progress: Progress | None = None) -> PassReport:
    """One pass over every active posting, due or not, delivering alerts as they
    are queued (as the daemon does) and then every one still due."""
    progress = progress or NoProgress()
    await app.reader.start()  # before leasing anything (see lifecycle.start_process)
    progress.start(await app.store.run(app.store.maintenance.active_count), what="checking")
    runner = check_runner(app, progress=progress)
    checked = asyncio.Event()
    meanwhile = asyncio.create_task(_deliver_until(app, checked), name="monitor-deliver")
    try:
        report = await runner.run_all(_claimed_in_parts(app))
    finally:
        progress.finish()
        checked.set()
        sent_meanwhile = await meanwhile
    # One-shot: send everything queued now, not one batch (the daemon comes back).
    report.delivery = added_reports(sent_meanwhile, await app.deliver(drain=True))
    return report


async def _deliver_until(app: App, done: asyncio.Event) -> DeliveryReport:
    total = DeliveryReport()
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), DELIVER_DURING_PASS_EVERY)
        if not done.is_set():
            total = added_reports(total, await app.deliver())
    return total


async def _claimed_in_parts(app: App) -> AsyncIterator[PostingState]:
    """Every active posting, leased a part at a time as the pass reaches it, so
    10,000 watches' stored versions are never all in memory at once."""
    last = 0
    size = app.config.scheduler.batch_size
    while True:
        part = await app.store.run(_claim_part, app, limit=size, after_id=last)
        for state in part:
            yield state
        if len(part) < size:
            return
        last = max(state.id for state in part)


def _claim_part(app: App, *, limit: int, after_id: int) -> list[PostingState]:
    return app.store.leases.claim_all(
        now=app.clock.now(), lease=app.lease, limit=limit, after_id=after_id
    )
