"""`[[campaigns]]` and their `[[campaigns.variants]]`: banners by schedule,
priority, group and recipient (choosing one is config/campaigns.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, ValidationInfo, field_validator, model_validator

from config.schema_types import SLUG, AddressGlob, Domain, FileName, HttpUrl, Section, Slug, Utm


class VariantSection(Section):
    id: Slug  # e.g. "a", "b": reported per variant
    image: FileName  # under banners/
    alt: str = ""  # text shown while images are blocked
    link: HttpUrl | None = None  # where a click on the banner leads (tracked)
    weight: int = Field(default=1, gt=0)  # share of recipients, relative to the others
    width: int | None = Field(default=None, gt=0)  # px; keeps the layout before loading
    height: int | None = Field(default=None, gt=0)  # px
    # Interest topics a click on this banner counts for (with consent only; [[topics]]).
    topics: tuple[Slug, ...] = ()


class RecipientScope(StrEnum):
    ALL = "all"
    INTERNAL = "internal"  # company domains only (an internal announcement)
    EXTERNAL = "external"


class BannerDelivery(StrEnum):
    HOSTED = "hosted"  # an image URL on the tracker: impressions are counted
    EMBEDDED = "embedded"  # a CID image part: shows with images blocked, counts nothing


class CampaignSection(Section):
    """A banner campaign: when, for which senders and recipients, which variants."""

    id: Slug  # stays in the statistics: do not rename a running campaign
    name: str = ""  # shown on the dashboard
    groups: tuple[str, ...] = Field(min_length=1)  # sender groups whose mail shows it
    # A fallback campaign runs whenever no scheduled one does: no start or end needed.
    fallback: bool = False
    start: AwareDatetime | None = None  # with a timezone: 2026-03-01T00:00:00+01:00
    end: AwareDatetime | None = None  # exclusive
    priority: int = 0  # the highest active one wins; equal ones: listed first
    # Recipient targeting; empty lists target everyone. A copy for several
    # recipients matches only when every one of them does.
    recipients: RecipientScope = RecipientScope.ALL
    recipient_domains: tuple[Domain, ...] = ()  # only recipients of these domains
    recipient_addresses: tuple[AddressGlob, ...] = ()  # or matching these globs
    # Personal mode only: shown to recipients who clicked campaign `follow_up_of`.
    follow_up_of: Annotated[str, Field(pattern=SLUG)] | None = None
    # Personal mode with recorded consent only: shown to recipients whose interest
    # profile holds one of these topics ([[topics]], variants' `topics`).
    target_topics: tuple[Slug, ...] = ()
    delivery: BannerDelivery = BannerDelivery.HOSTED  # hosted (counted) or embedded
    # UTM parameters on tracked links of this campaign's mail, over the group's.
    utm: Utm = Field(default_factory=dict)
    # The banners, A/B tested by weight; a recipient always sees the same one.
    variants: tuple[VariantSection, ...] = Field(min_length=1)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        return end

    @model_validator(mode="after")
    def _scheduled_or_fallback(self) -> CampaignSection:
        if not self.fallback and (self.start is None or self.end is None):
            raise ValueError("a campaign needs start and end (or fallback = true)")
        return self

    @field_validator("variants")
    @classmethod
    def _unique_variant_ids(cls, variants: tuple[VariantSection, ...]) -> tuple:
        ids = [v.id for v in variants]
        if len(ids) != len(set(ids)):
            raise ValueError(f"variant ids must be unique, got {ids}")
        return variants

    def active(self, now: datetime) -> bool:
        started = self.start is None or self.start <= now
        return started and (self.end is None or now < self.end)

    def variant(self, variant_id: str) -> VariantSection | None:
        return next((v for v in self.variants if v.id == variant_id), None)
