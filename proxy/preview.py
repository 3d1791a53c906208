"""Preview: the copies of one message exactly as the relay would send them, never live.

The relay's own steps, in the relay's order: the planner (proxy/planning.py)
splits the recipients into copies by the sender group's privacy mode and
chooses campaign and banner variant; the trace header is added and Bcc
removed (proxy/trace.py); each copy is rendered by `Planner.render`, which
builds the plan in config/plans.py and runs the rewriter. Nothing here plans
or rewrites by itself.

What differs on purpose, so that a preview an admin forwards can never count
an open or a click, nor opt anyone out:

- every token (pixel, links, opt-out) is signed by a throw-away key made for
  this one preview and known to no tracker: the tracker refuses them all;
- the banner's token is signed by the live key (when there is one) under the
  untracked copy id, as the relay does for untracked copies: the image loads,
  nothing is counted;
- the copies are not DKIM-signed (the relay signs when it sends) and nothing
  is recorded in the store or counted in the relay's metrics.

Recipients' choices (opt-out, consent) are looked up when a source is given
(the dashboard: the store's lists, as the relay does); without one every
recipient is previewed as someone with no recorded choice.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from config.running import RunningConfig
from config.schema import PrivacySection
from proxy.planning import Planner
from proxy.recipient_choices import Caps, ChoiceSource, cap_for
from proxy.spool import Envelope, SpoolEntry
from proxy.trace import add_trace
from tracker.tokens import KEYS_ENV, KEYS_FILE_ENV, KEYS_FILE_NAME, Keyring

PREVIEW_QUEUE_PREFIX = "preview"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def preview_keyring(live: Keyring | None) -> Keyring:
    """The live keys (to read tokens quoted from earlier mail, as the relay
    does) plus a new random key that signs: no tracker has it."""
    keys = dict(live.keys) if live is not None else {}
    number = 0
    while f"pv{number}" in keys:
        number += 1
    key_id = f"pv{number}"
    keys[key_id] = secrets.token_bytes(32)
    return Keyring(keys, current=key_id)


@dataclass(frozen=True)
class NoRecordedChoices:
    """Every recipient as one with no opt-out and no recorded consent (what a
    first mail to them gets); asks no store. Its pseudonym key is random: an
    opt-out token of a preview names nobody."""

    pseudonym_key: bytes

    async def caps(
        self, rcpts: Iterable[str], privacy: PrivacySection, is_internal: Callable[[str], bool]
    ) -> Caps:
        consented = False if privacy.require_consent else None
        return {r.lower(): cap_for(None, consented, privacy) for r in rcpts if not is_internal(r)}


@dataclass(frozen=True)
class PreviewCopy:
    """One copy: its recipients, what the planner decided, and its bytes."""

    number: int  # 1-based, in the relay's order of copies
    copy_id: str
    recipients: tuple[str, ...]
    privacy: str  # personal | domain | anonymous | off (untracked)
    tracked: bool
    campaign: str | None
    variant: str | None
    outcome: str  # rewritten | skipped | failed (the original is sent)
    reason: str
    message: bytes

    @property
    def html(self) -> str | None:
        return display_html(self.message)

    @property
    def text(self) -> str | None:
        return _part_text(self.message, "plain")

    def facts(self) -> dict[str, object]:
        return {
            "copy": self.number,
            "copy_id": self.copy_id,
            "recipients": list(self.recipients),
            "privacy": self.privacy,
            "tracked": self.tracked,
            "campaign": self.campaign,
            "variant": self.variant,
            "outcome": self.outcome,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Preview:
    name: str  # "new", "reply", or the message file's name
    sender: str
    group: str
    privacy: str  # the sender group's mode
    copies: tuple[PreviewCopy, ...]
    choices_looked_up: bool  # False: recipients as having no recorded choice
    banner_loads: bool  # False: no live key, the banner's token is refused too

    def facts(self) -> dict[str, object]:
        return {
            "name": self.name,
            "sender": self.sender,
            "group": self.group,
            "privacy": self.privacy,
            "campaigns": sorted({f"{c.campaign}/{c.variant}" for c in self.copies if c.campaign}),
            "choices_looked_up": self.choices_looked_up,
            "banner_loads": self.banner_loads,
            "copies": [copy.facts() for copy in self.copies],
        }

    def summary(self) -> str:
        """One line: how many copies, the group, its privacy mode, the banners chosen."""
        chosen: dict[str, list[str]] = {}
        for copy in self.copies:
            key = f"campaign {copy.campaign}/{copy.variant}" if copy.campaign else "no banner"
            chosen.setdefault(key, []).append(str(copy.number))
        banners = ", ".join(
            f"{key} ({'copy' if len(numbers) == 1 else 'copies'} {', '.join(numbers)})"
            for key, numbers in chosen.items()
        )
        return (
            f"{self.name}: {len(self.copies)} "
            f"{'copy' if len(self.copies) == 1 else 'copies'}, group {self.group}, "
            f"privacy {self.privacy}, {banners}"
        )

    def notes(self) -> list[str]:
        """What the admin should know about how this preview differs from the mail sent."""
        notes = [
            "tokens are signed with a throw-away preview key: the tracker counts nothing "
            "from these copies and their opt-out links opt nobody out; not DKIM-signed"
        ]
        if not self.choices_looked_up:
            notes.append("recipients are previewed as having no recorded opt-out or consent")
        if not self.banner_loads:
            notes.append(
                f"no token keys found (${KEYS_ENV}, ${KEYS_FILE_ENV} or the data directory's "
                f"{KEYS_FILE_NAME}): banner images will not load from the tracker"
            )
        return notes


class Previewer:
    def __init__(
        self,
        running: RunningConfig,
        live_keyring: Keyring | None,
        *,
        choices: ChoiceSource | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """`live_keyring`: the tracker's keys (None: unknown, then the banner
        image does not load either); `choices`: where recipients' opt-outs and
        consent are looked up (None: nowhere)."""
        self.running = running
        self.live_keyring = live_keyring
        self.choices = choices
        self.clock = clock

    async def preview(
        self, mail_from: str, rcpts: Sequence[str], message: bytes, name: str = "message"
    ) -> Preview:
        cfg = self.running.current
        planner = Planner(
            self.running,
            preview_keyring(self.live_keyring),
            choices=self.choices or NoRecordedChoices(secrets.token_bytes(32)),
            dkim=cfg.dkim.enabled,  # as the relay: a signed original may be rewritten
            banner_keyring=self.live_keyring,
            counted=False,
        )
        queue_id = f"{PREVIEW_QUEUE_PREFIX}{secrets.token_hex(6)}"
        envelope = Envelope(mail_from, tuple(rcpts), self.clock())
        entry = SpoolEntry(queue_id, envelope, message, state=None)
        state = planner.plan(entry, await planner.recipient_caps(entry))
        # What delivery does before rendering (proxy/delivery.py).
        traced = replace(entry, data=add_trace(message, envelope, queue_id, cfg.relay.hostname))
        copies = []
        for number, copy in enumerate(state.copies, start=1):
            rewritten = planner.render(traced, copy)
            copies.append(
                PreviewCopy(
                    number=number,
                    copy_id=copy.copy_id,
                    recipients=copy.recipients,
                    privacy=copy.privacy,
                    tracked=copy.tracked,
                    campaign=copy.campaign,
                    variant=copy.variant,
                    outcome=rewritten.outcome.value,
                    reason=rewritten.reason,
                    message=rewritten.message,
                )
            )
        group = cfg.group(state.group)
        return Preview(
            name=name,
            sender=state.sender,
            group=state.group,
            privacy=group.privacy.value if group is not None else "off",
            copies=tuple(copies),
            choices_looked_up=self.choices is not None,
            banner_loads=self.live_keyring is not None,
        )


def _parse(message: bytes) -> EmailMessage:
    parsed = message_from_bytes(message, policy=default_policy)
    assert isinstance(parsed, EmailMessage)  # the default policy's factory
    return parsed


def _part_text(message: bytes, subtype: str) -> str | None:
    body = _parse(message).get_body(preferencelist=(subtype,))
    if body is None:
        return None
    try:
        return body.get_content()
    except (LookupError, ValueError):  # an unknown charset: shown as well as it goes
        payload = body.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None


def display_html(message: bytes) -> str | None:
    """The copy's HTML part as a browser can show it alone: images embedded in
    the message (`cid:`, e.g. an embedded banner) become data: URLs. None when
    the copy has no HTML part."""
    html = _part_text(message, "html")
    if html is None:
        return None
    for part in _parse(message).walk():
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")
        if not content_id or part.get_content_maintype() != "image":
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            encoded = base64.b64encode(data).decode("ascii")
            html = html.replace(
                f"cid:{content_id}", f"data:{part.get_content_type()};base64,{encoded}"
            )
    return html
