"""Where a click may lead: exactly the original target, and nowhere else."""

import pytest

from tracker.app import redirect_target


@pytest.mark.parametrize(
    "target",
    [
        "https://www.example.com",
        "https://shop.example.com/a/b?x=1&y=%C3%A4#frag",
        "http://example.com:8080/path;params?q",
    ],
)
def test_ordinary_targets_pass_unchanged(target):
    assert redirect_target(target) == target


def test_a_space_in_the_original_href_is_quoted_as_the_browser_would():
    assert redirect_target("https://example.com/my file.pdf") == "https://example.com/my%20file.pdf"


def test_internationalised_path_is_percent_encoded_for_the_location_header():
    assert redirect_target("https://example.com/straße") == "https://example.com/stra%C3%9Fe"


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/file",
        "//evil.test/path",
        "https://example.com/\r\nSet-Cookie: x=1",
        "https:///no-host",
    ],
)
def test_anything_but_absolute_http_urls_gets_no_redirect(target):
    assert redirect_target(target) is None
