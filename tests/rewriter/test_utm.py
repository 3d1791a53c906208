"""UTM parameters on tracked links (issue 18, item 5)."""

from __future__ import annotations

import pytest

from rewriter.utm import with_utm

UTM = {"utm_source": "email", "utm_medium": "signature", "utm_campaign": "spring"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/x", "https://example.com/x?utm_source=email&utm_medium=signature&utm_campaign=spring"),
        ("https://example.com/x?a=1&b=%20", "https://example.com/x?a=1&b=%20&utm_source=email&utm_medium=signature&utm_campaign=spring"),
        ("https://example.com/x#part", "https://example.com/x?utm_source=email&utm_medium=signature&utm_campaign=spring#part"),
        ("https://example.com/x?", "https://example.com/x?utm_source=email&utm_medium=signature&utm_campaign=spring"),
    ],
)  # fmt: skip
def test_parameters_are_appended_keeping_the_query_and_fragment(url, expected):
    assert with_utm(url, UTM) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/x?utm_source=newsletter",  # the sender chose an attribution
        "https://example.com/x?UTM_Campaign=fair",
        "mailto:anna@example.com",
        "tel:+49301234567",
        "https://[broken/",
        "/relative/path",
    ],
)
def test_links_with_utm_or_not_on_the_web_are_left_alone(url):
    assert with_utm(url, UTM) == url


def test_no_parameters_no_change():
    assert with_utm("https://example.com/x", {}) == "https://example.com/x"
