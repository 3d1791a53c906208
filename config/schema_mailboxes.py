"""`[[shared_mailboxes]]`: addresses several people send from (info@, sales@).

A shared mailbox is one listed here, or a directory entry with a `members`
column; who may send as it is its members (here or in that column) and the
people whose directory `send_as` column names it (config/mailboxes.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from config.directory import ADDRESS
from config.schema_types import Section

MailboxAddress = Annotated[str, Field(pattern=ADDRESS.pattern)]


class SharedMailboxSection(Section):
    """A shared mailbox and the people granted to send as it."""

    address: MailboxAddress  # the mailbox, e.g. "info@example.com"
    members: tuple[MailboxAddress, ...] = ()  # people who may send as it (or their aliases)
