"""The running configuration: one holder of the current Config, swapped whole on reload.

Every long-lived object that needs the configuration gets this holder in its
constructor and keeps no Config of its own. The rule for readers: a unit of
work (an SMTP session, a message planned, a copy rendered, an HTTP request)
reads `current` ONCE at its start and uses that snapshot throughout. A Config
is frozen, so a snapshot never changes under its reader; a reload only decides
which snapshot the next unit of work gets. A copy rendered in a thread while
the loop swaps the holder therefore still sees one Config whole.

What is built from the configuration and costs something to build (a sender
check, a dashboard's admin list) is a `Derived` value: made again from the
next snapshot on its first read after a swap, never patched in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from config.model import Config

log = logging.getLogger("sigrelay.config.running")

T = TypeVar("T")
Subscriber = Callable[[Config, Config], None]  # (old, new)


class RunningConfig:
    """Holds the current validated Config; `swap` replaces it as a whole."""

    def __init__(self, cfg: Config) -> None:
        # (swaps so far, Config) in one tuple: a reader in another thread gets the
        # pair whole; the count is what Derived values compare against.
        self._state = (0, cfg)
        self._subscribers: list[Subscriber] = []

    @property
    def current(self) -> Config:
        """The snapshot a unit of work starting now uses (read once, keep it)."""
        return self._state[1]

    def versioned(self) -> tuple[int, Config]:
        """The current Config with the number of swaps before it, read together."""
        return self._state

    def swap(self, cfg: Config) -> Config:
        """Make `cfg` the running configuration; returns the one it replaces.
        Called on the event loop; work already started keeps its snapshot."""
        version, old = self._state
        self._state = (version + 1, cfg)
        for subscriber in list(self._subscribers):
            try:
                subscriber(old, cfg)
            except Exception:  # one subscriber's bug must not stop the others
                log.exception("a config subscriber failed; the new config stays in place")
        return old

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call `subscriber(old, new)` after every swap."""
        self._subscribers.append(subscriber)

    def derive(self, build: Callable[[Config], T]) -> Derived[T]:
        """A value built from the running config, made again after each swap."""
        return Derived(self, build)


class Derived(Generic[T]):
    """`build(config)` of the current snapshot, built on first use after a swap.

    `get()` is safe from threads: two readers racing after a swap may both build
    it, and either result is the value of the snapshot it was built from."""

    def __init__(self, running: RunningConfig, build: Callable[[Config], T]) -> None:
        self._running = running
        self._build = build
        self._made: tuple[int, T] | None = None

    def get(self) -> T:
        made = self._made
        version, cfg = self._running.versioned()
        if made is not None and made[0] == version:
            return made[1]
        value = self._build(cfg)
        self._made = (version, value)
        return value
