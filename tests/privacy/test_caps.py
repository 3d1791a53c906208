"""What a recipient allows: the opt-out choice and consent, as a cap on the mode."""

from __future__ import annotations

import pytest

from config.schema import PrivacySection
from proxy.recipient_choices import cap_for

OPEN = PrivacySection()
CONSENT_ANON = PrivacySection(require_consent=True, without_consent="anonymous")
CONSENT_OFF = PrivacySection(require_consent=True, without_consent="off")


@pytest.mark.parametrize(
    ("choice", "consented", "privacy", "cap"),
    [
        (None, None, OPEN, "personal"),
        ("anonymous", None, OPEN, "anonymous"),
        ("untracked", None, OPEN, "off"),
        (None, False, CONSENT_ANON, "anonymous"),
        (None, False, CONSENT_OFF, "off"),
        (None, True, CONSENT_OFF, "personal"),
        ("anonymous", True, CONSENT_ANON, "anonymous"),
        ("anonymous", False, CONSENT_OFF, "off"),
        ("untracked", True, CONSENT_ANON, "off"),
    ],
)
def test_the_cap_is_the_least_tracking_any_rule_allows(
    choice: str | None, consented: bool | None, privacy: PrivacySection, cap: str
):
    assert cap_for(choice, consented, privacy) == cap
