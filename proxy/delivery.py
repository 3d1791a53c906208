"""The delivery worker: spool → plan → rewrite → upstream, until every copy is done.

Woken by the server after each put, and by timers for deferred copies. Each
message is handled by one task at a time; several messages go in parallel.
After every copy attempt the new state is written to the spool before the
next step, so a crash repeats at most the copy that was on the wire. Two
writes are left out because another one says the same: the plan alone (the
first outcome is written with it; ids are stable, proxy/copyids.py), and the
outcome of the attempt that finishes a message (its removal, synced, records it).

A 4xx (or no connection) defers the recipients concerned with exponential
back-off; a 5xx fails them for good, and so does a temporary failure older
than the policy's maximum age. Failed recipients are reported to the sender
in one DSN per look at the message (proxy/dsn.py), spooled like any message
with an empty envelope sender, before the state records them as reported:
a crash in between repeats a DSN, never loses one. The entry leaves the
spool only when no copy is pending and every failure was reported.

Every copy goes out with our Received: header, without a Bcc: header
(proxy/trace.py) and, when configured, DKIM-signed after rewriting.

Poison isolation: a copy whose attempt raises (a bug) is held with the error
while the others go on; then the message is set aside in poison/ (a log line,
`sigrelay_poisoned`, `spool list`) until the admin retries or drops it. A
crash outside the copies sets the whole message aside; OSError is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from proxy import metrics
from proxy.backoff import RetryPolicy, apply_replies
from proxy.dsn import Failure, build_dsn
from proxy.finishing import Delivered, Finisher
from proxy.planning import Planner
from proxy.recorder import Recorder
from proxy.spool import Envelope, Spool, SpoolEntry, SpoolError
from proxy.state import CopyState, CopyStatus, MessageState
from proxy.trace import add_trace
from proxy.upstream import Upstream
from rewriter import Rewritten

log = logging.getLogger("sigrelay.proxy.delivery")

INLINE_RENDER_MAX = 64 * 1024  # octets of a message rewritten in the event loop
CLOCK_STEP = timedelta(seconds=1)  # a timer this far ahead of the wall clock: it was set back


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryWorker:
    def __init__(
        self,
        spool: Spool,
        planner: Planner,
        upstream: Upstream,
        recorder: Recorder,
        policy: RetryPolicy,
        concurrency: int = 8,
        *,
        hostname: str = "localhost",
        sign: Callable[[bytes], bytes] | None = None,
        flush_poll: float = 1.0,
        after_delivery: Callable[[SpoolEntry, MessageState], None] | None = None,
    ) -> None:
        self.spool = spool
        self.planner = planner
        self.upstream = upstream
        self.recorder = recorder
        self.policy = policy
        self.concurrency = concurrency
        self.hostname = hostname
        self.sign = sign  # DKIM: the rewritten copy -> the signed copy
        self.flush_poll = flush_poll  # how often to look for `sigrelay spool retry`
        self.after_delivery = after_delivery  # e.g. the Sent Items copy (proxy/sent_items.py)
        # Its own threads: rewriting must never wait behind (or hold up) spool I/O.
        self._rewriting = ThreadPoolExecutor(concurrency, thread_name_prefix="sigrelay-rewrite")
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._fired: dict[str, datetime] = {}  # queue id -> the time its timer was set for
        self._tasks: list[asyncio.Task] = []
        self._busy: set[asyncio.Task] = set()
        self._active: set[str] = set()  # queue ids a task is delivering right now
        self.finisher = Finisher(spool, recorder)  # delivered messages leave the spool there
        self._stopping = False
        self._recorded: set[str] = set()  # facts (re)submitted by this process
        self._flush_seen = ""  # the last `sigrelay spool retry` acted on
        # Called after each copy attempt and when a message leaves the spool:
        # for metrics, and for tests to wait on instead of sleeping.
        self.on_attempt: list[Callable[[str, CopyState], None]] = []
        self.on_done: list[Callable[[str, MessageState], None]] = []
        self.on_set_aside: list[Callable[[str], None]] = []  # a message went to poison/

    # --- scheduling ---------------------------------------------------------

    def wake(self, queue_id: str) -> None:
        """Deliver this message as soon as a task is free."""
        timer = self._timers.pop(queue_id, None)
        if timer is not None:
            timer.cancel()
        # A message being delivered reschedules itself when its attempt ends; a
        # delivered one is about to leave the spool.
        busy = queue_id in self._queued or queue_id in self._active or queue_id in self.finisher
        if self._stopping or busy:
            return
        self._queued.add(queue_id)
        self._ready.put_nowait(queue_id)

    def _schedule(self, queue_id: str, when: datetime | None) -> None:
        if when is None:
            self.wake(queue_id)
            return
        loop = asyncio.get_running_loop()
        # Timers run on the loop's monotonic clock, so a wall clock stepped forward
        # (NTP, a resumed VM) brings no retry early and makes nothing spin. `when`
        # is wall-clock time (it is kept in the spool across restarts): a delay
        # longer than any back-off means the clock went back since it was set, and
        # waiting it out would stall the message for as long as the clock jumped.
        delay = min(max(0.0, (when - _now()).total_seconds()), self.policy.longest_delay)
        old = self._timers.pop(queue_id, None)
        if old is not None:
            old.cancel()
        self._timers[queue_id] = loop.call_later(delay, self._timer_fired, queue_id, when)

    def _timer_fired(self, queue_id: str, when: datetime) -> None:
        self._timers.pop(queue_id, None)
        self._fired[queue_id] = when  # due now, whatever the wall clock says (_deliver_message)
        self.wake(queue_id)

    async def _reschedule_all(self) -> int:
        """Schedule every message of this process's share of the spool."""
        share = self.spool.share
        queue_ids = [q for q in await self.spool.run(self.spool.list) if share.owns(q)]
        for queue_id in queue_ids:
            if queue_id in self._active or queue_id in self._queued or queue_id in self.finisher:
                continue
            state = await self.spool.run(self.spool.load_state, queue_id)
            self._schedule(queue_id, state.next_attempt if state else None)
        return len(queue_ids)

    async def start(self) -> None:
        """Recover what a previous run left in the spool, then start the tasks."""
        for name in await self.spool.run(self.spool.clean_up):
            log.info("removed leftover spool file %s", name)
        # Recovery reads everything anyway: only later requests count.
        self._flush_seen = await self.spool.run(self.spool.flush_request)
        recovered = await self._reschedule_all()
        if recovered:
            log.info("recovered %d messages from the spool", recovered)
        await self.finisher.start()
        self._tasks = [
            asyncio.create_task(self._run(), name=f"sigrelay-delivery-{i}")
            for i in range(self.concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._watch_flush(), name="sigrelay-flush"))

    async def _watch_flush(self) -> None:
        """`sigrelay spool retry` rewrites a trigger file; then every state is re-read."""
        while not self._stopping:
            await asyncio.sleep(self.flush_poll)
            requested = await self.spool.run(self.spool.flush_request)
            if requested != self._flush_seen:
                self._flush_seen = requested
                count = await self._reschedule_all()
                log.info("flush requested: %d messages rescheduled", count)

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
        await self.finisher.stop()
        self._rewriting.shutdown(wait=False)

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
            except OSError:
                # A disk error: the message stays and is retried.
                log.exception("delivery failed queue_id=%s: retrying later", queue_id)
                with contextlib.suppress(RuntimeError):
                    self._schedule(queue_id, self.policy.next_attempt(_now(), 1))
            except Exception as exc:
                # A bug must neither kill the worker nor come back for ever: set aside.
                await self._set_aside(queue_id, f"{type(exc).__name__}: {exc}", "message")
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
            # Not written now: the first attempt's outcome is, with the plan. A relay
            # stopped before that plans again, with the same copy ids (proxy/copyids.py).
            state = self.planner.plan(entry, await self.planner.recipient_caps(entry))
            log.info(
                "planned queue_id=%s group=%s copies=%d", queue_id, state.group, len(state.copies)
            )
        if queue_id not in self._recorded:
            self._recorded.add(queue_id)
            self.recorder.submit(queue_id, self.planner.records(entry, state))

        traced = replace(entry, data=add_trace(entry.data, entry.envelope, queue_id, self.hostname))
        now = _now()
        fired = self._fired.pop(queue_id, None)
        if fired is not None and fired > now:
            # The timer waited as long as it was asked to, yet the wall clock says
            # "not yet": it was set back meanwhile (or the loop fired a hair early).
            # The copies that timer was for are due.
            if fired - now > CLOCK_STEP:
                behind = (fired - now).total_seconds()
                log.warning("clock went back queue_id=%s by=%.0fs", queue_id, behind)
            now = fired
        finishing: list[Attempt] = []  # an attempt whose outcome removing the message records
        for copy in state.copies:
            if self._stopping:
                return
            due = copy.next_attempt is None or copy.next_attempt <= now
            if copy.status is CopyStatus.PENDING and due:
                try:
                    attempt = await self._attempt(traced, copy)
                except OSError:
                    raise
                except Exception as exc:
                    state = state.with_copy(self._hold(entry.queue_id, copy, exc))
                    await self.spool.run(self.spool.save_state, queue_id, state)
                    continue
                state = state.with_copy(attempt.after)
                if state.done and not state.unreported_failures:
                    finishing.append(attempt)  # the last copy: nothing left to remember
                else:
                    # Written before the next copy goes out: a restart never repeats it.
                    await self.spool.run(self.spool.save_state, queue_id, state)
                    self._note(entry, attempt)
        if state.unreported_failures:
            state = await self._bounce(entry, state)

        if state.done:
            # Removed by the finisher, with the messages done meanwhile (proxy/finishing.py).
            done = partial(self._done, entry, state, finishing)
            self.finisher.add(Delivered(queue_id, state, done))
            return
        if state.stuck:
            held = next(c.held for c in state.copies if c.status is CopyStatus.HELD)
            await self._set_aside(queue_id, held, "copy")
            return
        if not entry.deferred:
            await self.spool.run(self.spool.defer, queue_id)
        if not self._stopping:
            self._schedule(queue_id, state.next_attempt)

    def _hold(self, queue_id: str, copy: CopyState, exc: Exception) -> CopyState:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        log.error(
            "copy held queue_id=%s copy_id=%s rcpts=%d error=%r",
            queue_id,
            copy.copy_id,
            len(copy.recipients),
            reason,
        )
        log.debug("held copy's traceback", exc_info=exc)  # for a bug report, on request
        return replace(copy, held=reason, last_error=reason)

    async def _set_aside(self, queue_id: str, reason: str, kind: str) -> None:
        """Into poison/: one log line, one count; the others go on."""
        try:
            await self.spool.run(self.spool.set_aside, queue_id, reason)
        except (OSError, SpoolError) as exc:
            log.error("cannot set aside queue_id=%s: %s", queue_id, exc)
            return
        metrics.POISONED.labels(kind).inc()
        log.error(
            "set aside queue_id=%s kind=%s reason=%r: see `sigrelay spool list`",
            queue_id,
            kind,
            reason[:300],
        )
        for callback in self.on_set_aside:
            callback(queue_id)

    def _done(self, entry: SpoolEntry, state: MessageState, attempts: list[Attempt]) -> None:
        """The message left the spool: count, log and report it and its last attempts."""
        for attempt in attempts:
            self._note(entry, attempt)
        self._recorded.discard(entry.queue_id)
        self._fired.pop(entry.queue_id, None)  # a timer that fired while it was finishing
        failed = sum(len(c.failed) for c in state.copies)
        log.info("done queue_id=%s copies=%d failed=%d", entry.queue_id, len(state.copies), failed)
        if self.after_delivery is not None:
            try:
                self.after_delivery(entry, state)
            except Exception:  # noqa: BLE001 - an extra never undoes a delivery
                log.exception("after delivery queue_id=%s failed", entry.queue_id)
        for callback in self.on_done:
            callback(entry.queue_id, state)

    async def _attempt(self, entry: SpoolEntry, copy: CopyState) -> Attempt:
        # Rewriting is CPU work: a typical message (~1 ms for 40 KB) is rewritten
        # right here; handing it to a thread would cost more (the hop, and the
        # event loop waiting for the GIL behind the rewriting thread). A large one
        # (tens of ms and more) goes to the rewriting threads, so accepting mail
        # and other deliveries are not held up by it.
        allow_8bit = self.upstream.accepts_8bit
        if len(entry.data) <= INLINE_RENDER_MAX:
            rewritten = self.planner.render(entry, copy, allow_8bit)
        else:
            loop = asyncio.get_running_loop()
            rewritten = await loop.run_in_executor(
                self._rewriting, self.planner.render, entry, copy, allow_8bit
            )
        data = rewritten.message
        if self.sign is not None:
            data = self.sign(data)
        # The key makes a repeat after a crash harmless where the upstream can tell (Maildir).
        key = f"{entry.queue_id}.{copy.copy_id}"
        replies = await self.upstream.deliver(
            entry.envelope.mail_from, copy.remaining, data, key=key
        )
        now = _now()
        updated = apply_replies(
            copy, replies, policy=self.policy, received_at=entry.envelope.received_at, now=now
        )
        return Attempt(copy, updated, rewritten, now)

    def _note(self, entry: SpoolEntry, attempt: Attempt) -> None:
        """Count, log and report an attempt once its outcome is on disk."""
        copy, updated, rewritten = attempt.before, attempt.after, attempt.rewritten
        _count(copy, updated, (attempt.at - entry.envelope.received_at).total_seconds())
        log.info(
            "copy queue_id=%s copy_id=%s rcpts=%d outcome=%s reason=%s status=%s attempts=%d%s",
            entry.queue_id,
            copy.copy_id,
            len(copy.recipients),
            rewritten.outcome.value,
            metrics.rewrite_reason(rewritten.reason) or "-",
            updated.status.value,
            updated.attempts,
            f" error={updated.last_error!r}" if updated.last_error else "",
        )
        if rewritten.reason == "marker":  # our processed header came back: a loop?
            metrics.LOOPS.inc()
            log.warning(
                "loop? queue_id=%s already carries our X-Sigrelay-Processed header: passed "
                "on unchanged (check that the provider's rule excepts it)",
                entry.queue_id,
            )
        for callback in self.on_attempt:
            callback(entry.queue_id, updated)

    async def _bounce(self, entry: SpoolEntry, state: MessageState) -> MessageState:
        """Tell the sender about the failures not reported yet: one DSN for all."""
        failures = state.unreported_failures
        sender = entry.envelope.mail_from
        if sender:
            now = _now()
            dsn = build_dsn(
                sender=sender,
                failures=[Failure(rcpt, reply) for rcpt, reply in failures],
                original=entry.data,
                hostname=self.hostname,
                queue_id=entry.queue_id,
                arrival=entry.envelope.received_at,
                now=now,
            )
            # The DSN is a message like any other, from the null sender (RFC 5321
            # 4.5.5): it can fail and be retried, but never bounces itself.
            # A non-ASCII sender gets its DSN through SMTPUTF8 (RFC 6533).
            utf8 = not sender.isascii()
            envelope = Envelope(mail_from="", rcpts=(sender,), received_at=now, smtputf8=utf8)
            dsn_id = await self.spool.run(self.spool.put, envelope, dsn)
            metrics.DSNS.inc()
            log.info(
                "dsn queue_id=%s dsn_queue_id=%s failed=%d", entry.queue_id, dsn_id, len(failures)
            )
            self.wake(dsn_id)
        else:
            log.info(
                "no dsn queue_id=%s failed=%d reason=null-sender", entry.queue_id, len(failures)
            )
        state = replace(state, bounced=state.bounced + tuple(rcpt for rcpt, _ in failures))
        await self.spool.run(self.spool.save_state, entry.queue_id, state)
        return state


@dataclass(frozen=True)
class Attempt:
    before: CopyState
    after: CopyState
    rewritten: Rewritten
    at: datetime


def _count(before: CopyState, after: CopyState, age: float) -> None:
    delivered = len(after.delivered) - len(before.delivered)
    failed = len(after.failed) - len(before.failed)
    metrics.DELIVERED.inc(delivered)
    metrics.BOUNCED.inc(failed)
    metrics.DEFERRED.inc(len(before.remaining) - delivered - failed)
    if delivered:
        metrics.LATENCY.observe(age)
