"""The event writer's child process (`python -m tracker.writer_process`): the
other end of tracker/writer_process.py's pipe. It reads rows (tracker/events/
rows.py), sends back the events its parent's listeners want, runs an
`EventWriter` on its own `Store` and reports what it has handled.

The child ignores SIGTERM and SIGINT (a service manager signals the whole
process group): its parent decides when it stops, by closing the pipe.

Pipe frames: a 4-byte big-endian length, then a pickle (between two processes
of ours, never from the network).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import struct
import sys
import threading
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from tracker.events.rows import Rows
from tracker.store import EventRecord, Store
from tracker.writer import EventWriter

_LENGTH = struct.Struct(">I")
_EVENT_FIELDS = tuple(f.name for f in fields(EventRecord))
event_row = attrgetter(*_EVENT_FIELDS)  # EventRecord -> tuple, in C


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the pipe."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        return pickle.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))
    except asyncio.IncompleteReadError:
        return None


class _Out:
    """Frames to the parent through stdout: small, blocking, from any thread.
    A parent that died is no reason to stop: the writer still stores (or
    journals) every event it has, and the pipe's end tells it to finish."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self.gone = False  # the parent closed the pipe (it died)
        self._lock = threading.Lock()
        self._last: tuple | None = None

    def send(self, message: tuple) -> None:
        data = frame(message)
        with self._lock:
            view = memoryview(data)
            while view and not self.gone:
                try:
                    view = view[os.write(self.fd, view) :]
                except OSError:  # EPIPE: nobody to tell any more
                    self.gone = True

    def status(self, writer: EventWriter, rows: Rows) -> None:
        written, dropped, journaled = writer.written, writer.dropped, writer.journaled
        message = ("status", rows.handled, written, dropped, journaled, rows.refused)
        if message != self._last:
            self._last = message
            self.send(message)


class _ToParent(logging.Handler):
    def __init__(self, out: _Out) -> None:
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.out.send(("log", record.levelno, record.name, self.format(record)[:4000]))
        except Exception:  # a log line must never stop the writer
            self.handleError(record)


async def _child_main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = await read_frame(reader)
    if config is None:
        return
    out = _Out()
    root = logging.getLogger()
    root.handlers[:] = [_ToParent(out)]
    root.setLevel(config["log_level"])
    store = await Store.open(
        config["url"],
        timing=config["timing"],
        withdrawal=config["withdrawal"],
        interests=config.get("interests"),
    )
    writer = EventWriter(
        store,
        Path(config["journal"]),
        batch_size=config["batch_size"],
        flush_interval=config["flush_interval"],
        max_batch=config["max_batch"],
        max_pending=config["max_pending"],
    )
    rows = Rows(writer, config["hits"], config["tell"])
    writer.on_progress = lambda: out.status(writer, rows)
    try:
        await writer.start()
        gc.freeze()  # start-up's objects live as long as the process (see sigrelay/service.py)
        while (message := await read_frame(reader)) is not None:
            if message[0] == "events":
                rows.take(message[1])
                if rows.told:  # before the status: the tracker may forget them then
                    out.send(("read", list(map(event_row, rows.take_told()))))
                out.status(writer, rows)  # hits that recorded nothing are done now
            elif message[0] == "overflow":
                await writer.add_overflow(Path(message[1]))
            elif message[0] == "flush":
                await writer.flush()
                out.send(("flushed", message[1]))
    finally:
        await writer.close()
        out.status(writer, rows)
        await store.close()


def main() -> None:
    # The parent decides when we stop (see the module's docstring).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_child_main())


if __name__ == "__main__":
    main()
