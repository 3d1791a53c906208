"""Stopping a background loop for sure."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_loop(task: asyncio.Task, wake: asyncio.Event) -> None:
    """Cancel the loop's task and wait for it to end. The caller sets the loop's
    stop flag first, and the loop checks it after every wake-up: a cancellation
    can be swallowed on the way (Python 3.11's wait_for does when the awaited
    call completes at that moment, gh-86296), and the loop must not then wait
    for a wake-up that never comes."""
    wake.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
