"""A preview's copies are the relay's copies: the same fan-out, headers and parts,
compared with what a real relay delivered into its Maildir outbox for the same
message. Only what legitimately differs is left out: the trace fields (the
relay's Received: with its queue id and time, the outbox's Return-Path and
Delivered-To) and the tokens, which the preview signs with its own key."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from email.policy import default as default_policy

import pytest

from config.running import RunningConfig
from proxy.preview import Preview, Previewer
from proxy.preview_samples import KINDS, sample_message
from tracker.tokens import UNTRACKED_COPY_ID, Kind, decode

TRACE_FIELDS = {"received", "return-path", "delivered-to"}
TOKEN = re.compile(r"(/[obcu]/)[a-z0-9]{1,4}\.[A-Za-z0-9_-]+")
SALES = "anna.schmidt@example.com"  # group sales: personal mode
STAFF = "ben.mueller@example.com"  # group staff: anonymous mode
EXTERNAL = ["max@customer.test", "eva@customer.test", "li@partner.test"]


def _without_tokens(text: str) -> str:
    return TOKEN.sub(r"\1TOKEN", text)


def _parts(data: bytes) -> list[tuple[list[tuple[str, str]], str]]:
    """Each MIME part: its header fields (trace fields left out) and its decoded
    content, tokens replaced by a placeholder."""
    parsed = message_from_bytes(data, policy=default_policy)
    parts = []
    for part in parsed.walk():
        fields = [(k.lower(), _without_tokens(str(v))) for k, v in part.items()]
        fields = [(k, v) for k, v in fields if k not in TRACE_FIELDS]
        body = "" if part.is_multipart() else _without_tokens(_content(part))
        parts.append((fields, body))
    return parts


def _content(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "ascii")


def _delivered_to(data: bytes) -> tuple[str, ...]:
    parsed = message_from_bytes(data, policy=default_policy)
    return tuple(str(v) for v in parsed.get_all("Delivered-To", []))


async def _both(cfg, keyring, relay_delivery, sender: str, rcpts: list[str], kind: str):
    message = sample_message(kind, sender, rcpts, datetime.now(UTC))
    delivered = await relay_delivery(sender, rcpts, message)
    preview = await Previewer(RunningConfig(cfg), keyring).preview(sender, rcpts, message, kind)
    return {_delivered_to(d): d for d in delivered}, preview


@pytest.mark.parametrize("kind", KINDS)
async def test_personal_copies_equal_what_the_relay_delivers(cfg, keyring, relay_delivery, kind):
    rcpts = [*EXTERNAL, "clara.weber@example.com"]
    delivered, preview = await _both(cfg, keyring, relay_delivery, SALES, rcpts, kind)
    assert {c.recipients for c in preview.copies} == set(delivered)
    assert len(preview.copies) == 4  # one per external recipient, one internal
    for copy in preview.copies:
        if not copy.tracked:
            continue  # its banner variant is chosen by copy id, which names the queue id
        relay_parts = _parts(delivered[copy.recipients])
        assert _parts(copy.message) == relay_parts
        assert any("Anna Schmidt" in body for _, body in relay_parts)
        # Same token lengths (key ids of three characters), so the same bytes too,
        # but for the trace fields and the tokens' characters.
        ours, theirs = copy.message, delivered[copy.recipients]
        assert len(ours.split(b"\r\n\r\n", 1)[1]) == len(theirs.split(b"\r\n\r\n", 1)[1])


async def test_anonymous_group_gets_one_copy_like_the_relay(cfg, keyring, relay_delivery):
    delivered, preview = await _both(cfg, keyring, relay_delivery, STAFF, EXTERNAL, "new")
    assert [c.recipients for c in preview.copies] == list(delivered) == [tuple(EXTERNAL)]
    assert preview.copies[0].privacy == "anonymous"
    relay_copy = _parts(next(iter(delivered.values())))
    preview_copy = _parts(preview.copies[0].message)
    # The variant of a shared copy is chosen by its id, which differs; the rest is equal.
    assert len(preview_copy) == len(relay_copy)
    assert preview_copy[0] == relay_copy[0]  # the header


async def test_preview_tokens_are_refused_by_the_tracker(cfg, keyring, relay_delivery):
    _, preview = await _both(cfg, keyring, relay_delivery, SALES, EXTERNAL[:1], "new")
    html = preview.copies[0].html or ""
    tokens = {
        kind: [m.group(1) for m in re.finditer(rf"/{kind.value}/([a-z0-9]+\.[\w-]+)", html)]
        for kind in Kind
    }
    assert tokens[Kind.OPEN] and tokens[Kind.CLICK] and tokens[Kind.OPTOUT] and tokens[Kind.BANNER]
    for kind in (Kind.OPEN, Kind.CLICK, Kind.OPTOUT):
        assert all(decode(t, keyring, kind) is None for t in tokens[kind]), kind
    # The banner loads from the tracker, under the copy id that counts nothing.
    banners = [decode(t, keyring, Kind.BANNER) for t in tokens[Kind.BANNER]]
    assert banners and all(b is not None and b.copy_id == UNTRACKED_COPY_ID for b in banners)


def test_preview_facts_name_the_group_mode_and_banner(cfg, keyring):
    import asyncio

    message = sample_message("new", SALES, EXTERNAL[:2], datetime.now(UTC))
    previewer = Previewer(RunningConfig(cfg), keyring)
    preview: Preview = asyncio.run(previewer.preview(SALES, EXTERNAL[:2], message, "new"))
    facts = preview.facts()
    assert (facts["group"], facts["privacy"]) == ("sales", "personal")
    assert [c["recipients"] for c in facts["copies"]] == [[r] for r in EXTERNAL[:2]]
    assert preview.summary().startswith("new: 2 copies, group sales, privacy personal, campaign ")
