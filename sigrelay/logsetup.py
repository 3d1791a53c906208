"""One structured line per event: `time level logger key=value ...`.

Bodies, passwords and token secrets are never passed to the logger in the
first place; this module only decides the shape of the line.
"""

from __future__ import annotations

import logging
import os
import sys

from config.logfields import one_line


class OneLineFormatter(logging.Formatter):
    """Every record's message on one line, whatever a value logged in it holds.

    Call sites pass client-supplied values through `config.logfields.quoted`;
    this is the backstop for one that was missed (or an exception text that
    quotes a client's bytes): a CR or LF never starts a line of its own.
    Tracebacks, appended after the message, keep their lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)


LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # the README's fail2ban filter
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


def line_formatter() -> logging.Formatter:
    return OneLineFormatter(LINE_FORMAT, DATE_FORMAT)


def configure(level: str | None = None) -> None:
    level_name = (level or os.environ.get("SIGRELAY_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(line_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    # aiosmtpd logs every command at INFO, including AUTH lines; keep it quiet.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
