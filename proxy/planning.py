"""Planning: from a spooled message to its copies, and from a copy to its bytes.

`plan()` runs once per message: it fixes the copies (fan-out by the sender
group's privacy mode), their ids, campaign and banner variant, and the spool
keeps the result with the first attempt's outcome, so a retry or a restart
makes exactly the same copies with the same tokens. Copy ids are derived from
the queue id and the copy (proxy/copyids.py): a message planned again because
the relay stopped before its first outcome was written gets the same ids.
`render()` runs per delivery attempt: config builds the rewriter plan from
the stored copy and every fact of this delivery (config/plans.py), the
rewriter makes the bytes.

Each of them reads the running config once (config/running.py) and uses that
snapshot throughout: a large message renders in a thread while a reload may
swap the holder, and must not mix two configurations.

Fail open (DESIGN.md): if planning or rewriting raises, the recipients get
the original message unmodified; mail is never held back by a template.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import asdict

from config import Config, QuotedTags, Tracking, build_plan
from config.campaigns import Audience
from config.languages import offered, recipient_language
from config.recipient_rules import adds_nothing, rule_for, rule_index
from config.rules import Sender
from config.running import RunningConfig
from config.schema import GroupSection, PrivacyMode
from config.schema_recipients import RecipientRuleSection
from proxy import metrics
from proxy.address_headers import header_senders
from proxy.copyids import copy_id_for
from proxy.fanout import CopySpec, Rendering, split
from proxy.notrack import strip_notrack, wants_no_tracking
from proxy.optout_link import optout_url
from proxy.recipient_choices import Caps, ChoiceSource, cap_of
from proxy.spool import SpoolEntry
from proxy.state import CopyState, MessageState
from rewriter import Outcome, Plan, Rewritten
from rewriter.language import message_language
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
        running: RunningConfig,
        keyring: Keyring,
        *,
        choices: ChoiceSource | None = None,
        clicked: Callable[[str], frozenset[str]] | None = None,
        interests: Callable[[str], frozenset[str]] | None = None,
        dkim: bool = False,
        banner_keyring: Keyring | None = None,
        counted: bool = True,
    ) -> None:
        """`choices`: the opt-out and consent lists (None: nobody is looked up and
        no copy gets an opt-out link); `clicked`: recipient address -> campaigns
        they clicked (personal mode follow-ups); `interests`: recipient address ->
        the topics of their interest profile (personal mode, consent only: the
        store builds none without it, tracker/store/interests.py); `dkim`: the relay signs what it
        sends (proxy/dkim.py).

        For a preview (proxy/preview.py) `keyring` signs with a throw-away key;
        `banner_keyring` (the live one) then signs every banner token under the
        untracked copy id, so the image loads and counts nothing, and
        `counted=False` keeps previews out of the relay's rewrite metrics."""
        self.running = running
        self.keyring = keyring
        self.choices = choices
        self.clicked = clicked
        self.interests = interests
        self.dkim = dkim
        self.banner_keyring = banner_keyring
        self.counted = counted

    # --- once per message ---------------------------------------------------

    def plan(self, entry: SpoolEntry, caps: Caps | None = None) -> MessageState:
        """`caps`: what each recipient allows, from `await recipient_caps(entry)`."""
        envelope = entry.envelope
        try:
            return self._plan(self.running.current, entry, caps or {})
        except Exception:
            log.exception("planning failed queue_id=%s: one untracked copy", entry.queue_id)
            copy_id = copy_id_for(self.keyring, entry.queue_id, PrivacyMode.OFF, envelope.rcpts)
            untracked = CopyState(copy_id, envelope.rcpts, tracked=False, privacy=PrivacyMode.OFF)
            return MessageState(envelope.mail_from, "", (untracked,))

    def _plan(self, cfg: Config, entry: SpoolEntry, caps: Caps) -> MessageState:
        envelope = entry.envelope
        sender = _message_sender(cfg, entry)
        group = sender.group
        # A null sender is a bounce or other machine mail (RFC 5321 4.5.5): never tracked.
        tracked = bool(envelope.mail_from) and cfg.tracking_allowed(group)
        # The sender's own switch for this one message (header or subject tag).
        tracked = tracked and not wants_no_tracking(entry.data, cfg.privacy.notrack_tag)
        mode = group.privacy if tracked else PrivacyMode.OFF
        copies = []

        def copy_id(privacy: PrivacyMode, recipients: tuple[str, ...]) -> str:
            return copy_id_for(self.keyring, entry.queue_id, privacy, recipients)

        output_of = _renderings(cfg, group, entry.data)
        cap = cap_of(caps)

        def cap_or_nothing(address: str) -> PrivacyMode:
            # A recipient whose rule adds nothing gets no tags either: untracked.
            nothing = adds_nothing(rule_for(group, address, cfg.is_internal))
            return PrivacyMode.OFF if nothing else cap(address)

        for spec in split(
            envelope.rcpts, mode, cfg.is_internal, copy_id, cap_or_nothing, output_of
        ):
            try:
                campaign_id, variant = self._campaign_of(cfg, entry, spec, group.name)
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
        self, cfg: Config, entry: SpoolEntry, spec: CopySpec, group: str
    ) -> tuple[str | None, str | None]:
        envelope = entry.envelope
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
        # With `privacy.require_consent`, a personal copy goes only to a recipient
        # who consented (proxy/recipient_choices.py); profiles need that consent too.
        if spec.privacy is not PrivacyMode.PERSONAL or not spec.recipient:
            return Audience(spec.recipients)
        clicked = self.clicked(spec.recipient) if self.clicked is not None else frozenset()
        topics = self.interests(spec.recipient) if self.interests is not None else frozenset()
        return Audience(spec.recipients, clicked, topics)

    async def recipient_caps(self, entry: SpoolEntry) -> Caps:
        """What each recipient allows (opt-out, consent), looked up before plan()."""
        if self.choices is None:
            return {}
        cfg = self.running.current
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
        cfg = self.running.current  # this copy's one snapshot
        # Our no-track header and subject tag never reach the recipients; the
        # spooled original keeps them (new bytes for the copy, no edit in place).
        data = strip_notrack(entry.data, cfg.privacy.notrack_tag)
        entry = dataclasses.replace(entry, data=data)
        try:
            # Every recipient of a copy falls under the same rule (the fan-out split them so).
            # The sender whose group planned the copy (a shared mailbox's, maybe).
            sender = _message_sender(cfg, entry)
            rule = rule_for(sender.group, copy.recipients[0], cfg.is_internal)
            if adds_nothing(rule):
                result = Rewritten(entry.data, Outcome.SKIPPED, "recipient-rule")
            else:
                plan = self._rewriter_plan(cfg, entry, sender, copy, allow_8bit, rule)
                result = rewrite(entry.data, plan)
        except Exception as error:
            # rewrite() never raises by contract; build_plan renders templates and might.
            log.exception(
                "rewrite failed queue_id=%s copy_id=%s: original sent", entry.queue_id, copy.copy_id
            )
            result = Rewritten(entry.data, Outcome.FAILED, f"plan: {type(error).__name__}")
        if self.counted:
            reason = metrics.rewrite_reason(result.reason)
            metrics.REWRITES.labels(result.outcome.value, reason).inc()
        if result.outcome is Outcome.FAILED:
            log.warning(
                "rewrite failed queue_id=%s copy_id=%s reason=%s: original sent",
                entry.queue_id,
                copy.copy_id,
                result.reason,
            )
        return result

    def _rewriter_plan(
        self,
        cfg: Config,
        entry: SpoolEntry,
        sender: Sender,
        copy: CopyState,
        allow_8bit: bool,
        rule: RecipientRuleSection | None,
    ) -> Plan:
        campaign = cfg.campaign(copy.campaign) if copy.campaign else None
        variant = campaign.variant(copy.variant) if campaign and copy.variant else None
        if variant is None:
            campaign = None
        public = cfg.tracker.public_url
        banner_url = None
        banner_keyring = self.banner_keyring or self.keyring
        if campaign and variant:
            # Untracked copies show the banner too, through a token that names no
            # copy: the tracker serves the image and counts nothing.
            counts = copy.tracked and self.banner_keyring is None
            copy_id = copy.copy_id if counts else UNTRACKED_COPY_ID
            banner = Token(Kind.BANNER, copy_id, f"{campaign.id}/{variant.id}")
            banner_url = token_url(public, banner, banner_keyring)
        # Every copy, tracked or not, makes the tags of earlier copies quoted in it inert.
        quoted = QuotedTags(
            _untagger(public, self.keyring),
            _banner_untagger(public, self.keyring, banner_keyring),
            VISIT_PARAMETER,
        )
        if not copy.tracked:
            tracking = Tracking.untracked(banner_url, quoted)
        else:
            tracking = Tracking(
                pixel_url=token_url(public, Token(Kind.OPEN, copy.copy_id), self.keyring),
                banner_url=banner_url,
                tag_link=_tagger(public, self.keyring, copy.copy_id),
                quoted=quoted,
            )
        optout = None
        if self.choices is not None:
            optout = optout_url(copy, self.keyring, public, self.choices.pseudonym_key)
        return build_plan(
            cfg,
            sender,
            campaign=campaign,
            variant=variant,
            tracking=tracking,
            allow_8bit=allow_8bit,
            optout_url=optout,
            resign_dkim=self.dkim,  # we sign what we send: a signed original may be rewritten
            language=copy.language,
            rule=rule,
            received_at=entry.envelope.received_at,  # picks a scheduled signature variant
        )


def _message_sender(cfg: Config, entry: SpoolEntry) -> Sender:
    """Whose signature: From:/Sender: are read only where a shared mailbox exists."""
    headers = header_senders(entry.data) if cfg.has_shared_mailboxes else (None, None)
    return cfg.message_sender(entry.envelope.mail_from, *headers)


def _renderings(cfg: Config, group: GroupSection, message: bytes) -> Callable[[str], Rendering]:
    """What each recipient gets (fan-out splits copies by it): their recipient
    rule and language. The newest text is read only when it could decide."""
    languages = offered(group)
    if len(languages) == 1 and not group.recipient_rules:
        return lambda _address: Rendering()  # one rendering for all: the split of old
    read: list[str | None] = []

    def detected() -> str | None:
        """Read once, and only for a recipient whose domain does not decide."""
        if not read:
            detect = cfg.languages.detect and len(languages) > 1
            read.append(message_language(message) if detect else None)
        return read[0]

    def rendering(address: str) -> Rendering:
        language = recipient_language(group, cfg.languages, address, detected)
        return Rendering(rule_index(group, address, cfg.is_internal), language)

    return rendering


def _tagger(public: str, keyring: Keyring, copy_id: str) -> Callable[[str], str]:
    def tag_link(url: str) -> str:
        return token_url(public, Token(Kind.CLICK, copy_id, url), keyring)

    return tag_link


def _untagger(public: str, keyring: Keyring) -> Callable[[str], str | None]:
    """One of our click URLs (from an earlier message quoted in this one) -> its target."""
    prefix = f"{public}/{Kind.CLICK.value}/"

    def untag(url: str) -> str | None:
        if not url.startswith(prefix):
            return None
        token = decode(url.removeprefix(prefix), keyring, Kind.CLICK)
        return token.target if token else None

    return untag


def _banner_untagger(
    public: str, keyring: Keyring, signing: Keyring
) -> Callable[[str], str | None]:
    """One of our banner URLs (from an earlier copy quoted in this one) -> the
    same image under a token that names no copy: served, cached, counted never.
    `keyring` reads the quoted token, `signing` signs the new one."""
    prefix = f"{public}/{Kind.BANNER.value}/"

    def untag_banner(url: str) -> str | None:
        if not url.startswith(prefix):
            return None
        token = decode(url.removeprefix(prefix), keyring, Kind.BANNER)
        if token is None or token.target is None:
            return None  # unreadable: the rewriter removes the image
        return token_url(public, Token(Kind.BANNER, UNTRACKED_COPY_ID, token.target), signing)

    return untag_banner
