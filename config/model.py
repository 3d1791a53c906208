"""`Config`: the validated configuration and the questions the relay asks it.

Built only by `config.loader.load_config`, which validates the TOML into the
sections below and then attaches what lives beside it (employee directory,
compiled templates, the upstream password). After that nothing here reads a
file or the environment: every method is a plain function of the config and
its arguments.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from config import campaigns as campaign_choice
from config.campaigns import Audience
from config.directory import Directory
from config.images import ImageFolders, ImageReferences
from config.languages import template_name
from config.mailboxes import SharedMailboxes
from config.recipient_rules import template_names
from config.rules import Sender, default_group, domain_of, match_group
from config.schema import (
    AdminSection,
    ApiTokenSection,
    CampaignSection,
    CompanySection,
    DataSection,
    DkimSection,
    GroupSection,
    PrivacyMode,
    PrivacySection,
    RelaySection,
    StoreSection,
    TrackerSection,
    UpstreamEndpoint,
    UpstreamSection,
    VariantSection,
    WebhookSection,
    parse_upstream,
)
from config.schema_directory import DirectorySection, employee_file, synced_directory_file
from config.schema_mailboxes import SharedMailboxSection
from config.schema_recipients import LanguagesSection, RecipientRuleSection
from config.schema_sent import SentItemsSection
from config.schema_topics import TopicSection
from config.schema_variants import SignatureVariantSection
from config.templates import SignatureTemplate
from rewriter import Signature

TEXT_FIELDS = ("email", "name", "title", "phone", "mobile", "department")


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    relay: RelaySection = RelaySection()
    upstream: UpstreamSection = UpstreamSection()
    tracker: TrackerSection = TrackerSection()
    store: StoreSection
    data: DataSection
    company: CompanySection = CompanySection()
    privacy: PrivacySection = PrivacySection()
    groups: tuple[GroupSection, ...] = Field(min_length=1)
    campaigns: tuple[CampaignSection, ...] = ()
    topics: tuple[TopicSection, ...] = ()  # interest topics of links (with consent only)
    signature_variants: tuple[SignatureVariantSection, ...] = ()
    shared_mailboxes: tuple[SharedMailboxSection, ...] = ()  # info@ & co. (mailboxes.py)
    directory: DirectorySection = DirectorySection()
    webhooks: tuple[WebhookSection, ...] = ()
    dkim: DkimSection = DkimSection()
    sent_items: SentItemsSection = SentItemsSection()
    languages: LanguagesSection = LanguagesSection()
    admins: tuple[AdminSection, ...] = ()  # dashboard logins
    api_tokens: tuple[ApiTokenSection, ...] = ()  # bearer tokens for /api/v1

    _config_dir: Path = PrivateAttr(default=Path("."))
    _employees: Directory = PrivateAttr(default_factory=lambda: Directory([]))
    _templates: dict[str, SignatureTemplate] = PrivateAttr(default_factory=dict)
    _upstream_password: str | None = PrivateAttr(default=None)
    _mailboxes: SharedMailboxes = PrivateAttr(
        default_factory=lambda: SharedMailboxes(Directory([]), ())
    )

    @model_validator(mode="before")
    @classmethod
    def _groups_inherit_default_privacy(cls, data: Any) -> Any:
        # After loading, group.privacy is always set: callers never need to
        # know about privacy.default_mode.
        if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
            return data
        privacy = data.get("privacy")
        default = privacy.get("default_mode") if isinstance(privacy, dict) else None
        default = default or PrivacyMode.PERSONAL.value
        if default not in set(PrivacyMode):
            return data  # privacy.default_mode itself is reported as invalid
        groups = [
            {**g, "privacy": g.get("privacy") or default} if isinstance(g, dict) else g
            for g in data["groups"]
        ]
        return {**data, "groups": groups}

    def attach(
        self,
        *,
        config_dir: Path,
        employees: Directory,
        templates: dict[str, SignatureTemplate],
        upstream_password: str | None,
    ) -> None:
        """Called once by the loader; pydantic allows private attributes on frozen models."""
        self._config_dir = config_dir
        self._employees = employees
        self._templates = templates
        self._upstream_password = upstream_password
        self._mailboxes = SharedMailboxes(employees, self.shared_mailboxes)

    # --- where things are -------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self._config_dir

    @property
    def banners_dir(self) -> Path:
        return self._config_dir / "banners"

    @property
    def images_dir(self) -> Path:
        return self._config_dir / "images"

    @property
    def image_folders(self) -> ImageFolders:
        """images/ first, then the photos `directory sync` wrote (config/images.py)."""
        photos = synced_directory_file(self.data.dir).parent / "photos"
        return ImageFolders(self.images_dir, photos)

    def image_references(self, group: GroupSection) -> ImageReferences:
        """A fresh `image()` for one rendering: CID parts for groups that embed."""
        return ImageReferences(
            self.image_folders, self.tracker.public_url, embed=group.embed_images
        )

    @property
    def templates_dir(self) -> Path:
        return self._config_dir / "templates"

    @property
    def compiled_template_names(self) -> frozenset[str]:
        """Every template file loaded, language files included."""
        return frozenset(self._templates)

    @property
    def employees(self) -> Directory:
        return self._employees

    @property
    def directory_file(self) -> Path:
        return employee_file(self.directory, self._config_dir, self.data.dir)

    @property
    def upstream_endpoint(self) -> UpstreamEndpoint:
        """The parsed upstream URL; a maildir path is absolute (under the data dir)."""
        return parse_upstream(self.upstream.url)

    @property
    def upstream_password(self) -> str | None:
        return self._upstream_password

    # --- senders and signatures --------------------------------------------

    def group(self, name: str) -> GroupSection | None:
        return next((g for g in self.groups if g.name == name), None)

    @property
    def default_group(self) -> GroupSection:
        group = default_group(self.groups)
        assert group is not None, "the loader rejects configs without a default group"
        return group

    def sender(self, address: str) -> Sender:
        address = address.strip().strip("<>")
        employee = self._employees.find(address)
        return Sender(address, employee, match_group(self.groups, address, employee))

    @property
    def mailboxes(self) -> SharedMailboxes:
        """Shared mailboxes and who may send as them (config/mailboxes.py)."""
        return self._mailboxes

    @property
    def has_shared_mailboxes(self) -> bool:
        """False: every message gets its envelope sender's signature, so planning
        need not read From:/Sender: (parsing them strictly costs ~0.5 ms)."""
        return bool(self._mailboxes)

    def message_sender(
        self, mail_from: str, from_address: str | None = None, sender_address: str | None = None
    ) -> Sender:
        """Whose signature a message gets. The envelope sender's, except for
        mail From: a shared mailbox sent by a person (the Sender: header, else
        the envelope): then the mailbox's group chooses, by
        `shared_mailbox_signature`, the mailbox's signature or the person's."""
        envelope = self.sender(mail_from)
        if not from_address or not self._mailboxes.is_shared(from_address):
            return envelope
        mailbox = self.sender(from_address)
        person = (sender_address or mail_from).strip().strip("<>")
        if not person or person.lower() in self._mailboxes.addresses_of(from_address):
            return mailbox  # the mailbox itself
        if mailbox.group.shared_mailbox_signature == "sender":
            return self.sender(person)
        return mailbox

    def tracking_allowed(self, group: GroupSection) -> bool:
        return self.privacy.tracking_enabled and group.privacy is not PrivacyMode.OFF

    def template_fields(self, sender: Sender) -> dict[str, object]:
        """What a template sees: the employee's columns (empty when the sender
        is not in the directory), plus `address`, `company` and `group`."""
        if sender.employee is not None:
            fields = sender.employee.template_fields()
        else:
            fields = {name: "" for name in TEXT_FIELDS} | {"email": sender.address}
        return fields | {
            "address": sender.address,
            "company": self.company.name,
            "group": sender.group.name,
        }

    def _render(
        self,
        sender: Sender,
        html_name: str,
        text_name: str,
        language: str | None,
        disclaimer: tuple[str | None, str | None] = (None, None),
        images: ImageReferences | None = None,
    ) -> Signature:
        # `image("logo.png")` and `photo_url`: hosted URLs unless the caller
        # (build_plan) passes references that embed and collect the images.
        images = images or self.image_references(sender.group)
        fields = self.template_fields(sender)
        fields |= {"image": images, "photo_url": images(fields.get("photo") or None)}

        def render(name: str) -> str:
            return self._templates[template_name(self._templates, name, language)].render(fields)

        html, text = render(html_name), render(text_name)
        # A disclaimer (recipient rule) goes under the signature, in the same language.
        if disclaimer[0] is not None and disclaimer[1] is not None:
            html, text = html + render(disclaimer[0]), f"{text}\n\n{render(disclaimer[1])}"
        return Signature(html=html, text=text)

    def signature_variant_for(
        self, group_name: str, now: datetime | None
    ) -> SignatureVariantSection | None:
        """The scheduled variant whose templates replace the group's at `now`
        (the message's received time); None without a time (preview, check)."""
        if now is None:
            return None
        return campaign_choice.scheduled_winner(self.signature_variants, group_name, now)

    def signature_for(
        self,
        sender: Sender,
        language: str | None = None,
        rule: RecipientRuleSection | None = None,
        *,
        images: ImageReferences | None = None,
        now: datetime | None = None,
    ) -> Signature:
        """The signature in `language` (None: the unsuffixed templates) with the
        templates and disclaimer of the recipient rule, if one applies. The
        signature variant active at `now` replaces the group's templates; a
        rule's own templates replace both."""
        variant = self.signature_variant_for(sender.group.name, now)
        names = template_names(sender.group, rule, variant)
        disclaimer = (names["disclaimer_html"], names["disclaimer_text"])
        return self._render(
            sender,
            names["signature_html"] or "",
            names["signature_text"] or "",
            language,
            disclaimer,
            images,
        )

    def reply_signature_for(
        self,
        sender: Sender,
        language: str | None = None,
        rule: RecipientRuleSection | None = None,
        *,
        images: ImageReferences | None = None,
        now: datetime | None = None,
    ) -> Signature | None:
        """The shorter signature for replies and forwards, if the group (or rule,
        or active variant) has one. One with only one of reply_html/reply_text
        uses the full one for the other."""
        variant = self.signature_variant_for(sender.group.name, now)
        names = template_names(sender.group, rule, variant)
        if names["reply_html"] is None and names["reply_text"] is None:
            return None
        disclaimer = (names["disclaimer_html"], names["disclaimer_text"])
        return self._render(
            sender,
            names["reply_html"] or names["signature_html"] or "",
            names["reply_text"] or names["signature_text"] or "",
            language,
            disclaimer,
            images,
        )

    # --- campaigns ------------------------------------------------------------

    def campaign(self, campaign_id: str) -> CampaignSection | None:
        return next((c for c in self.campaigns if c.id == campaign_id), None)

    def campaign_for(
        self, group_name: str, now: datetime, audience: Audience | None = None
    ) -> CampaignSection | None:
        """The campaign for a group at `now`; with an audience (the recipients of
        one copy), recipient targeting, follow-ups and fallbacks apply too."""
        return campaign_choice.campaign_for(
            self.campaigns, group_name, now, audience, self.is_internal
        )

    def variant_for(self, campaign: CampaignSection, recipient_key: str) -> VariantSection:
        return campaign_choice.variant_for(campaign, recipient_key)

    def banner_file(self, campaign_id: str, variant_id: str) -> Path | None:
        campaign = self.campaign(campaign_id)
        variant = campaign.variant(variant_id) if campaign else None
        return self.banners_dir / variant.image if variant else None

    def is_internal(self, address: str) -> bool:
        """True for the company's domains and their subdomains."""
        domain = domain_of(address)
        return any(domain == d or domain.endswith("." + d) for d in self.company.internal_domains)
