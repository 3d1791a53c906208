"""`sigrelay spool list|retry|drop [ID]`: the admin's view of the mail queue.

Works on the spool directory directly, with the relay running or not (like
Postfix's postqueue/postsuper): `retry` makes copies due and leaves a trigger
file that a running relay picks up within a second; `drop` deletes a message
for good, without a DSN (dropping is the admin's decision), and says so in
the log. A message whose delivery crashed sits in poison/ (state
`poisoned`, with the reason): `retry ID` releases it, `drop ID --yes` deletes it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import click

from proxy.spool import Spool, SpoolError, queue_id_time
from proxy.state import CopyStatus
from sigrelay.cliconfig import config_option, load_or_fail
from sigrelay.progress import tracked

log = logging.getLogger("sigrelay.cli.spool")


@dataclass(frozen=True)
class QueueRow:
    queue_id: str
    age_seconds: float
    sender: str
    recipients: int
    pending: int  # copies still to deliver (all of them while unplanned)
    failed: int  # copies with a recipient failed for good
    next_attempt: str  # ISO time, "now" when due, "" when nothing is pending
    last_error: str
    state: str = "queued"  # queued | deferred | poisoned (set aside, see `retry`)

    def to_json(self) -> dict:
        return self.__dict__ | {"age_seconds": round(self.age_seconds, 1)}


def _row(spool: Spool, queue_id: str, now: float, poisoned: bool = False) -> QueueRow:
    entry = spool.load(queue_id, poisoned=poisoned)
    age = now - queue_id_time(queue_id)
    state = entry.state
    where = "poisoned" if poisoned else "deferred" if entry.deferred else "queued"
    if poisoned:
        return QueueRow(queue_id, age, entry.envelope.mail_from, len(entry.envelope.rcpts),
                        0, 0, "", spool.poison_reason(queue_id).strip(), where)  # fmt: skip
    if state is None:
        return QueueRow(queue_id, age, entry.envelope.mail_from, len(entry.envelope.rcpts),
                        1, 0, "now", "", where)  # fmt: skip
    pending = [c for c in state.copies if c.status is CopyStatus.PENDING]
    errors = [c.last_error for c in state.copies if c.last_error]
    due = state.next_attempt
    return QueueRow(
        queue_id=queue_id,
        age_seconds=age,
        sender=entry.envelope.mail_from,
        recipients=len(entry.envelope.rcpts),
        pending=len(pending),
        failed=sum(1 for c in state.copies if c.status is CopyStatus.FAILED),
        next_attempt="" if not pending else (due.isoformat(timespec="seconds") if due else "now"),
        last_error=errors[0] if errors else "",
        state=where,
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _spool(config_dir: Path | None) -> Spool:
    cfg = load_or_fail(config_dir)
    return Spool(cfg.data.dir / "spool", io_threads=1)


@click.group()
def spool() -> None:
    """The mail queue: list, retry now, drop."""


@spool.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help='One JSON document: {"messages": [...]}.')
def list_queue(config_dir: Path | None, as_json: bool) -> None:
    """Every queued message: id, age, sender, copies pending/failed, next attempt, last error."""
    queue = _spool(config_dir)
    now = time.time()
    rows = []
    listed = [(q, False) for q in queue.list()] + [(q, True) for q in queue.poisoned()]
    for queue_id, poisoned in listed:
        try:
            rows.append(_row(queue, queue_id, now, poisoned))
        except (SpoolError, FileNotFoundError):
            continue  # delivered (or moved to corrupt/ or poison/) while we looked
    if as_json:  # one document, as every --json of sigrelay
        click.echo(json.dumps({"messages": [row.to_json() for row in rows]}, indent=2))
        return
    if not rows:
        click.echo("spool is empty")
        return
    columns = "PENDING FAILED  NEXT ATTEMPT               SENDER"
    click.echo(f"{'QUEUE ID':19}  {'AGE':>6}  {'STATE':8}  {columns}")
    for row in rows:
        click.echo(
            f"{row.queue_id}  {_age(row.age_seconds):>6}  {row.state:8}  "
            f"{row.pending:>7} {row.failed:>6}  "
            f"{row.next_attempt or '-':25}  <{row.sender}> rcpts={row.recipients}"
        )
        if row.state == "poisoned":
            click.echo(f"{'':29}set aside: {row.last_error}")
            click.echo(f"{'':29}(sigrelay spool retry {row.queue_id} | drop {row.queue_id} --yes)")
        elif row.last_error:
            click.echo(f"{'':29}last error: {row.last_error}")
    click.echo(f"{len(rows)} message(s)")


@spool.command()
@config_option
@click.argument("queue_id", required=False)
def retry(config_dir: Path | None, queue_id: str | None) -> None:
    """Make one message (or all) due now; a running relay delivers within a second.
    A poisoned message is released only when named by its QUEUE_ID."""
    queue = _spool(config_dir)
    # A SpoolError (an unknown id) reaches the admin as its message (cli.py).
    if queue_id:
        queue.make_due(queue_id)
        ids = [queue_id]
    else:
        # The relay may deliver some meanwhile.
        ids = queue.make_all_due(lambda all_ids: tracked(all_ids, "making due"))
    queue.request_flush()
    click.echo(f"{len(ids)} message(s) due now")


@spool.command()
@config_option
@click.argument("queue_id")
@click.option("--yes", is_flag=True, help="Really delete it (no DSN is sent).")
def drop(config_dir: Path | None, queue_id: str, yes: bool) -> None:
    """Delete one message for good, whatever its state; no DSN is sent."""
    if not yes:
        raise click.ClickException(f"not dropped: add --yes to delete {queue_id} for good")
    queue = _spool(config_dir)
    entry = queue.load(queue_id, poisoned=True)
    queue.drop(queue_id)
    log.warning(
        "dropped by admin queue_id=%s from=<%s> rcpts=%d",
        queue_id,
        entry.envelope.mail_from,
        len(entry.envelope.rcpts),
    )
    click.echo(f"dropped {queue_id}")
