"""`[[signature_variants]]`: other templates for a time (holidays, trade fairs).

Scheduled like campaigns (start, end, priority, groups; choosing one is
config/campaigns.py's `scheduled_winner`): while a variant is active for the
sender's group at the time the message was received, its templates replace
the group's. Its reply templates, when unset, are the group's."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field, model_validator

from config.schema_types import FileName, Section, Slug


class SignatureVariantSection(Section):
    """Templates that replace a group's between start and end."""

    id: Slug  # names the variant in `check` findings and logs
    groups: tuple[str, ...] = Field(min_length=1)  # sender groups whose mail uses it
    start: AwareDatetime  # with a timezone: 2026-12-20T00:00:00+01:00
    end: AwareDatetime  # exclusive
    priority: int = 0  # the highest active one wins; equal ones: listed first
    signature_html: FileName  # template under templates/ for new mail, HTML part
    signature_text: FileName  # and for the plain-text part
    reply_html: FileName | None = None  # for replies and forwards; unset: the group's
    reply_text: FileName | None = None  # its plain-text part; unset: the group's

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> SignatureVariantSection:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end.isoformat()}) must be after start")
        return self

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end
