"""Planning: from a spooled message to its copies, and from a copy to its bytes.

`plan()` runs once per message: it fixes the copies (fan-out by the sender
group's privacy mode), their ids, campaign and banner variant, and the spool
keeps the result with the first attempt's outcome, so a retry or a restart
makes exactly the same copies with the same tokens. Copy ids are derived from
the queue id and the copy (proxy/copyids.py): a message planned again because
the relay stopped before its first outcome was written gets the same ids.
`render()` runs per delivery attempt: config builds the rewriter plan from
the stored copy, the rewriter makes the bytes.

Fail open (DESIGN.md): if planning or rewriting raises, the recipients get
the original message unmodified; mail is never held back by a template.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import asdict, replace

from config import Config, QuotedTags, Tracking, build_plan
from config.campaigns import Audience
from config.schema import CampaignSection, PrivacyMode, VariantSection
from proxy import metrics
from proxy.copyids import copy_id_for
from proxy.fanout import CopySpec, split
from proxy.notrack import strip_notrack, wants_no_tracking
from proxy.optout_footer import optout_url, with_optout_link
from proxy.recipient_choices import Caps, RecipientChoices, cap_of
from proxy.spool import SpoolEntry
from proxy.state import CopyState, MessageState
from rewriter import Outcome, Rewritten
from rewriter.rewrite import rewrite
from tracker.store import CopyRecord
from tracker.tokens import (
    UNTRACKED_COPY_ID,
    VISIT_PARAMETER,
    Keyring,
    Kind,
    Token,
    decode,
    token_url,
)

log = logging.getLogger("sigrelay.proxy.planning")


class Planner:
    def __init__(
        self,
        cfg: Config,
        keyring: Keyring,
        clicked: Callable[[str], frozenset[str]] | None = None,
    ) -> None:
        # `cfg` is replaced as a whole on a hot reload; one message is planned
        # with the Config it started with (read once into a local).
        self.cfg = cfg
        self.keyring = keyring
        # The opt-out and consent lists; the relay sets them when it has a store.
        self.choices: RecipientChoices | None = None
        # recipient address -> campaigns they clicked (personal mode follow-ups).
        self.clicked = clicked

    # --- once per message ---------------------------------------------------

    def plan(self, entry: SpoolEntry, caps: Caps | None = None) -> MessageState:
        """`caps`: what each recipient allows, from `await recipient_caps(entry)`."""
        envelope = entry.envelope
        try:
            return self._plan(entry, caps or {})
        except Exception:
            log.exception("planning failed queue_id=%s: one untracked copy", entry.queue_id)
            copy_id = copy_id_for(self.keyring, entry.queue_id, PrivacyMode.OFF, envelope.rcpts)
            untracked = CopyState(copy_id, envelope.rcpts, tracked=False, privacy=PrivacyMode.OFF)
            return MessageState(envelope.mail_from, "", (untracked,))

    def _plan(self, entry: SpoolEntry, caps: Caps) -> MessageState:
        cfg, envelope = self.cfg, entry.envelope
        sender = cfg.sender(envelope.mail_from)
        group = sender.group
        # A null sender is a bounce or other machine mail (RFC 5321 4.5.5): never tracked.
        tracked = bool(envelope.mail_from) and cfg.tracking_allowed(group)
        # The sender's own switch for this one message (header or subject tag).
        tracked = tracked and not wants_no_tracking(entry.data, cfg.privacy.notrack_tag)
        mode = group.privacy if tracked else PrivacyMode.OFF
        copies = []

        def copy_id(privacy: PrivacyMode, recipients: tuple[str, ...]) -> str:
            return copy_id_for(self.keyring, entry.queue_id, privacy, recipients)

        for spec in split(envelope.rcpts, mode, cfg.is_internal, copy_id, cap_of(caps)):
            try:
                campaign_id, variant = self._campaign_of(entry, spec, group.name)
            except Exception as error:
                # One recipient's trouble (an address no code path foresaw) costs
                # that copy its banner, never the other copies their plan.
                log.error(
                    "campaign choice failed queue_id=%s copy_id=%s error=%s: no banner",
                    entry.queue_id,
                    spec.copy_id,
                    type(error).__name__,
                )
                campaign_id = variant = None
            copies.append(CopyState(**asdict(spec), campaign=campaign_id, variant=variant))
        return MessageState(sender.address, group.name, tuple(copies))

    def _campaign_of(
        self, entry: SpoolEntry, spec: CopySpec, group: str
    ) -> tuple[str | None, str | None]:
        cfg, envelope = self.cfg, entry.envelope
        # The schedule is read at the time the message was received, per copy:
        # campaigns may target some recipients only.
        campaign = cfg.campaign_for(group, envelope.received_at, self._audience(spec))
        if campaign is None:
            return None, None
        # Deterministic per recipient: the same person sees the same banner.
        key = spec.recipient or spec.domain or spec.copy_id
        return campaign.id, cfg.variant_for(campaign, key).id

    def _audience(self, spec: CopySpec) -> Audience:
        # Past behaviour only where the store keeps the address (personal mode):
        # a domain or anonymous copy is never targeted by what someone did.
        clicked: frozenset[str] = frozenset()
        if spec.privacy is PrivacyMode.PERSONAL and spec.recipient and self.clicked is not None:
            clicked = self.clicked(spec.recipient)
        return Audience(spec.recipients, clicked)

    async def recipient_caps(self, entry: SpoolEntry) -> Caps:
        """What each recipient allows (opt-out, consent), looked up before plan()."""
        if self.choices is None:
            return {}
        cfg = self.cfg
        return await self.choices.caps(entry.envelope.rcpts, cfg.privacy, cfg.is_internal)

    def records(self, entry: SpoolEntry, state: MessageState) -> list[CopyRecord]:
        """The "sent" facts of the tracked copies; untracked copies leave no trace."""
        return [
            CopyRecord(
                copy_id=copy.copy_id,
                queue_id=entry.queue_id,
                sent_at=entry.envelope.received_at,
                sender=state.sender.lower(),
                group=state.group,
                privacy=copy.privacy,
                campaign=copy.campaign,
                variant=copy.variant,
                recipient=copy.recipient,
                domain=copy.domain,
                recipients=len(copy.recipients),
            )
            for copy in state.copies
            if copy.tracked
        ]

    # --- once per delivery attempt --------------------------------------------

    def render(self, entry: SpoolEntry, copy: CopyState, allow_8bit: bool = False) -> Rewritten:
        """The copy's bytes and how the rewriter fared (counted, and logged by delivery).
        `allow_8bit`: the upstream takes 8bit text (8BITMIME), so added non-ASCII
        text need not turn a whole 7bit part into quoted-printable."""
        # Our no-track header and subject tag never reach the recipients; the
        # spooled original keeps them (new bytes for the copy, no edit in place).
        data = strip_notrack(entry.data, self.cfg.privacy.notrack_tag)
        entry = dataclasses.replace(entry, data=data)
        try:
            plan = replace(self._rewriter_plan(entry, copy), allow_8bit=allow_8bit)
            url = self._optout_url(copy)
            if url is not None:
                language = self.cfg.sender(entry.envelope.mail_from).group.language
                plan = with_optout_link(plan, url, language)
            result = rewrite(entry.data, plan)
        except Exception as error:
            # rewrite() never raises by contract; build_plan renders templates and might.
            log.exception(
                "rewrite failed queue_id=%s copy_id=%s: original sent", entry.queue_id, copy.copy_id
            )
            result = Rewritten(entry.data, Outcome.FAILED, f"plan: {type(error).__name__}")
        metrics.REWRITES.labels(result.outcome.value, metrics.rewrite_reason(result.reason)).inc()
        if result.outcome is Outcome.FAILED:
            log.warning(
                "rewrite failed queue_id=%s copy_id=%s reason=%s: original sent",
                entry.queue_id,
                copy.copy_id,
                result.reason,
            )
        return result

    def _campaign(self, copy: CopyState) -> tuple[CampaignSection | None, VariantSection | None]:
        campaign = self.cfg.campaign(copy.campaign) if copy.campaign else None
        variant = campaign.variant(copy.variant) if campaign and copy.variant else None
        return (campaign, variant) if variant else (None, None)

    def _rewriter_plan(self, entry: SpoolEntry, copy: CopyState):
        cfg = self.cfg
        sender = cfg.sender(entry.envelope.mail_from)
        campaign, variant = self._campaign(copy)
        public = cfg.tracker.public_url
        banner_url = None
        if campaign and variant:
            # Untracked copies show the banner too, through a token that names no
            # copy: the tracker serves the image and counts nothing.
            copy_id = copy.copy_id if copy.tracked else UNTRACKED_COPY_ID
            banner = Token(Kind.BANNER, copy_id, f"{campaign.id}/{variant.id}")
            banner_url = token_url(public, banner, self.keyring)
        # Every copy, tracked or not, makes the tags of earlier copies quoted in it inert.
        quoted = QuotedTags(self._untag, self._untag_banner, VISIT_PARAMETER)
        if not copy.tracked:
            tracking = Tracking.untracked(banner_url, quoted)
        else:
            tracking = Tracking(
                pixel_url=token_url(public, Token(Kind.OPEN, copy.copy_id), self.keyring),
                banner_url=banner_url,
                tag_link=self._tagger(copy.copy_id),
                quoted=quoted,
            )
        plan = build_plan(cfg, sender, campaign=campaign, variant=variant, tracking=tracking)
        # We sign what we send: a DKIM-signed original may then be rewritten.
        return replace(plan, resign_dkim=True) if cfg.dkim.enabled else plan

    def _optout_url(self, copy: CopyState) -> str | None:
        if self.choices is None:
            return None
        public, key = self.cfg.tracker.public_url, self.choices.pseudonym_key
        return optout_url(copy, self.keyring, public, key)

    def _tagger(self, copy_id: str) -> Callable[[str], str]:
        public, keyring = self.cfg.tracker.public_url, self.keyring

        def tag_link(url: str) -> str:
            return token_url(public, Token(Kind.CLICK, copy_id, url), keyring)

        return tag_link

    def _untag(self, url: str) -> str | None:
        """One of our click URLs (from an earlier message quoted in this one) -> its target."""
        prefix = f"{self.cfg.tracker.public_url}/{Kind.CLICK.value}/"
        if not url.startswith(prefix):
            return None
        token = decode(url.removeprefix(prefix), self.keyring, Kind.CLICK)
        return token.target if token else None

    def _untag_banner(self, url: str) -> str | None:
        """One of our banner URLs (from an earlier copy quoted in this one) -> the
        same image under a token that names no copy: served, cached, counted never."""
        public = self.cfg.tracker.public_url
        prefix = f"{public}/{Kind.BANNER.value}/"
        if not url.startswith(prefix):
            return None
        token = decode(url.removeprefix(prefix), self.keyring, Kind.BANNER)
        if token is None or token.target is None:
            return None  # unreadable: the rewriter removes the image
        quiet = Token(Kind.BANNER, UNTRACKED_COPY_ID, token.target)
        return token_url(public, quiet, self.keyring)
