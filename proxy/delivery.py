"""The delivery worker: spool → plan → rewrite → upstream, until every copy is done.

Woken by the server after each put, and by timers for deferred copies. Each
message is handled by one task at a time; several messages go in parallel.
After every copy attempt the new state is written to the spool before the
next step, so a crash repeats at most the copy that was on the wire.

A 4xx (or no connection) defers the recipients concerned with exponential
back-off; a 5xx fails them for good (a DSN to the sender comes with issue 5);
a temporary failure older than the policy's maximum age becomes permanent.
The entry leaves the spool only when no copy is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from proxy.backoff import RetryPolicy
from proxy.planning import Planner
from proxy.recorder import Recorder
from proxy.spool import Spool, SpoolEntry, SpoolError
from proxy.state import CopyState, CopyStatus, MessageState
from proxy.upstream import Reply, Upstream

log = logging.getLogger("sigrelay.proxy.delivery")


def _now() -> datetime:
    return datetime.now(UTC)


def apply_replies(
    copy: CopyState,
    replies: dict[str, Reply],
    *,
    policy: RetryPolicy,
    received_at: datetime,
    now: datetime,
) -> CopyState:
    """The copy after one attempt: who got it, who never will, when to try the rest."""
    delivered = tuple(r for r in copy.remaining if replies[r].ok)
    expired = policy.expired(received_at, now)
    failed = tuple(
        (r, str(reply))
        for r in copy.remaining
        if not (reply := replies[r]).ok and (reply.permanent or expired)
    )
    attempts = copy.attempts + 1
    temporary = [replies[r] for r in copy.remaining if not replies[r].ok and r not in dict(failed)]
    return replace(
        copy,
        delivered=copy.delivered + delivered,
        failed=copy.failed + failed,
        attempts=attempts,
        next_attempt=policy.next_attempt(now, attempts) if temporary else None,
        last_error=str(temporary[0]) if temporary else (failed[0][1] if failed else ""),
    )


class DeliveryWorker:
    def __init__(
        self,
        spool: Spool,
        planner: Planner,
        upstream: Upstream,
        recorder: Recorder,
        policy: RetryPolicy,
        concurrency: int = 8,
    ) -> None:
        self.spool = spool
        self.planner = planner
        self.upstream = upstream
        self.recorder = recorder
        self.policy = policy
        self.concurrency = concurrency
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task] = []
        self._busy: set[asyncio.Task] = set()
        self._active: set[str] = set()  # queue ids a task is delivering right now
        self._stopping = False
        self._recorded: set[str] = set()  # facts (re)submitted by this process
        # Called after each copy attempt and when a message leaves the spool:
        # for metrics, and for tests to wait on instead of sleeping.
        self.on_attempt: list[Callable[[str, CopyState], None]] = []
        self.on_done: list[Callable[[str, MessageState], None]] = []

    # --- scheduling ---------------------------------------------------------

    def wake(self, queue_id: str) -> None:
        """Deliver this message as soon as a task is free."""
        timer = self._timers.pop(queue_id, None)
        if timer is not None:
            timer.cancel()
        # A message being delivered reschedules itself when its attempt ends.
        if self._stopping or queue_id in self._queued or queue_id in self._active:
            return
        self._queued.add(queue_id)
        self._ready.put_nowait(queue_id)

    def _schedule(self, queue_id: str, when: datetime | None) -> None:
        if when is None:
            self.wake(queue_id)
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, (when - _now()).total_seconds())
        old = self._timers.pop(queue_id, None)
        if old is not None:
            old.cancel()
        self._timers[queue_id] = loop.call_later(delay, self.wake, queue_id)

    async def start(self) -> None:
        """Recover what a previous run left in the spool, then start the tasks."""
        for name in await self.spool.run(self.spool.clean_up):
            log.info("removed leftover spool file %s", name)
        queue_ids = await self.spool.run(self.spool.list)
        for queue_id in queue_ids:
            state = await self.spool.run(self.spool.load_state, queue_id)
            self._schedule(queue_id, state.next_attempt if state else None)
        if queue_ids:
            log.info("recovered %d messages from the spool", len(queue_ids))
        self._tasks = [
            asyncio.create_task(self._run(), name=f"sigrelay-delivery-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the copy on the wire; everything else stays in the spool."""
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            if task not in self._busy:
                task.cancel()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not self._stopping:
            queue_id = await self._ready.get()
            self._queued.discard(queue_id)
            self._busy.add(task)
            self._active.add(queue_id)
            try:
                await self._deliver_message(queue_id)
            except Exception:
                # A bug must not kill the worker; the message stays and is retried.
                log.exception("delivery crashed queue_id=%s: retrying later", queue_id)
                with contextlib.suppress(RuntimeError):
                    self._schedule(queue_id, self.policy.next_attempt(_now(), 1))
            finally:
                self._active.discard(queue_id)
                self._busy.discard(task)

    # --- one message ----------------------------------------------------------

    async def _deliver_message(self, queue_id: str) -> None:
        try:
            entry = await self.spool.run(self.spool.load, queue_id)
        except SpoolError as exc:
            log.error("cannot load queue_id=%s: %s", queue_id, exc)
            return
        state = entry.state
        if state is None:
            state = self.planner.plan(entry)
            await self.spool.run(self.spool.save_state, queue_id, state)
            log.info(
                "planned queue_id=%s group=%s copies=%d", queue_id, state.group, len(state.copies)
            )
        if queue_id not in self._recorded:
            self._recorded.add(queue_id)
            self.recorder.submit(queue_id, self.planner.records(entry, state))

        now = _now()
        for copy in state.copies:
            if self._stopping:
                return
            due = copy.next_attempt is None or copy.next_attempt <= now
            if copy.status is CopyStatus.PENDING and due:
                state = await self._deliver_copy(entry, state, copy)

        if state.done:
            await self.spool.run(self.recorder.settle, queue_id)
            await self.spool.run(self.spool.remove, queue_id)
            self._recorded.discard(queue_id)
            failed = sum(len(c.failed) for c in state.copies)
            log.info("done queue_id=%s copies=%d failed=%d", queue_id, len(state.copies), failed)
            for callback in self.on_done:
                callback(queue_id, state)
            return
        if not entry.deferred:
            await self.spool.run(self.spool.defer, queue_id)
        if not self._stopping:
            self._schedule(queue_id, state.next_attempt)

    async def _deliver_copy(
        self, entry: SpoolEntry, state: MessageState, copy: CopyState
    ) -> MessageState:
        data = self.planner.render(entry, copy)
        replies = await self.upstream.deliver(entry.envelope.mail_from, copy.remaining, data)
        updated = apply_replies(
            copy, replies, policy=self.policy, received_at=entry.envelope.received_at, now=_now()
        )
        state = state.with_copy(updated)
        await self.spool.run(self.spool.save_state, entry.queue_id, state)
        log.info(
            "copy queue_id=%s copy_id=%s rcpts=%d status=%s attempts=%d%s",
            entry.queue_id,
            copy.copy_id,
            len(copy.recipients),
            updated.status.value,
            updated.attempts,
            f" error={updated.last_error!r}" if updated.last_error else "",
        )
        for callback in self.on_attempt:
            callback(entry.queue_id, updated)
        return state
