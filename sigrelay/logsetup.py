"""One structured line per event: `time level logger key=value ...`.

Bodies, passwords and token secrets are never passed to the logger in the
first place; this module only decides the shape of the line.
"""

from __future__ import annotations

import logging
import os
import sys


def configure(level: str | None = None) -> None:
    level_name = (level or os.environ.get("SIGRELAY_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    # aiosmtpd logs every command at INFO, including AUTH lines; keep it quiet.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
