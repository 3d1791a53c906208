"""Progress for long work at a terminal (rich), and silence in scripts: when
standard error is not a terminal (cron, systemd, a pipe) nothing is drawn and
the command's output stays what scripts parse."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def at_terminal() -> bool:
    return sys.stderr.isatty()


def tracked(items: Sequence[T] | Iterable[T], description: str) -> Iterator[T]:
    """The items, with a progress bar on a terminal."""
    if not at_terminal():
        yield from items
        return
    from rich.console import Console
    from rich.progress import track

    total = len(items) if isinstance(items, Sequence) else None
    console = Console(stderr=True)
    yield from track(items, description=description, total=total, console=console, transient=True)


@contextmanager
def working(description: str) -> Iterator[None]:
    """A spinner on a terminal while one long step runs (one statement over many rows)."""
    if not at_terminal():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(description):
        yield
