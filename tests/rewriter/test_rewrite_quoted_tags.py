"""Our tags of an earlier copy, quoted in a reply or forward, are made inert:
in HTML and in plain text, each kind of tag (pixel, banner, click, opt-out,
landing visit id); unreadable tokens change nothing and break nothing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewriter_plans import TRACKER, body_of, html_message, make_plan, message, tag_link

from rewriter import LinkMode, Outcome, Signature
from rewriter.quoted_tags import without_parameter
from rewriter.rewrite import rewrite

OLD_PIXEL = f"{TRACKER}/o/OLDPIXEL"
OLD_BANNER = f"{TRACKER}/b/OLDBANNER"
QUIET_BANNER = f"{TRACKER}/b/QUIETBANNER"
OLD_OPTOUT = f"{TRACKER}/u/OLDOPTOUT"
VISIT = "sr_vid=k1.0123456789abcdef.AAAAAAAAAAAAAAAA"


def untag_banner(url: str) -> str | None:
    """Our test tracker knows one banner token; anything else is unreadable."""
    return QUIET_BANNER if url == OLD_BANNER else None


def plan(**changes):
    values = dict(untag_banner=untag_banner, visit_parameter="sr_vid")
    values.update(changes)
    return make_plan(**values)


def quoted_html(inner: str) -> bytes:
    return html_message(f'<p>Paul, see below.</p><blockquote type="cite">{inner}</blockquote>')


def html_out(inner: str, **changes) -> str:
    result = rewrite(quoted_html(inner), plan(**changes))
    assert result.outcome is Outcome.REWRITTEN, result.reason
    return body_of(result.message, "text/html")


def text_out(quote: str, **changes) -> str:
    raw = message(f"Paul, see below.\r\n\r\nOn Monday Anna wrote:\r\n{quote}\r\n")
    result = rewrite(raw, plan(**changes))
    assert result.outcome is Outcome.REWRITTEN, result.reason
    return body_of(result.message, "text/plain")


# --- HTML -------------------------------------------------------------------


def test_html_quoted_pixel_is_removed():
    out = html_out(f'<p>old</p><img src="{OLD_PIXEL}" width="1" height="1" alt="">')
    assert "OLDPIXEL" not in out and "<p>old</p>" in out


def test_html_quoted_click_link_leads_to_its_target_again():
    out = html_out(f'<a href="{tag_link("https://old.test/?a=1")}">old</a>')
    assert 'href="https://old.test/?a=1"' in out


def test_html_quoted_click_link_loses_the_visit_id_its_target_carried():
    target = f"https://www.example.com/spring?x=1&{VISIT}#top"
    out = html_out(f'<a href="{tag_link(target)}">old</a>')
    assert 'href="https://www.example.com/spring?x=1#top"' in out and "sr_vid" not in out


def test_html_landing_link_pasted_with_its_visit_id_loses_it():
    out = html_out(f'<a href="https://www.example.com/spring?{VISIT}">seen here</a>')
    assert 'href="https://www.example.com/spring"' in out


def test_html_quoted_banner_becomes_the_image_that_counts_nothing():
    banner = f'<a href="{tag_link("https://shop.test/")}"><img src="{OLD_BANNER}" width="600" height="200"></a>'  # noqa: E501 (a literal message line)
    out = html_out(banner)
    assert "OLDBANNER" not in out
    assert f'<a href="https://shop.test/"><img src="{QUIET_BANNER}" width="600"' in out


def test_html_quoted_banner_is_removed_when_there_is_no_quiet_url_for_it():
    out = html_out(f'<img src="{TRACKER}/b/FORGED" alt="Spring">', untag_banner=None)
    assert "/b/FORGED" not in out and 'alt="Spring"' not in out


def test_html_quoted_optout_link_is_removed_with_its_text():
    footer = f'<p style="font-size:11px"><a href="{OLD_OPTOUT}" style="x">Tracking options</a></p>'
    out = html_out(f"<p>old</p>{footer}")
    assert "OLDOPTOUT" not in out and "Tracking options" not in out
    assert '<p style="font-size:11px"></p>' in out


def test_html_forged_click_token_is_left_and_nothing_breaks():
    forged = f"{TRACKER}/c/%%%not-a-token"
    out = html_out(f'<a href="{forged}">old</a><img src="{OLD_PIXEL}">', untag_link=lambda _: None)
    assert f'href="{forged}"' in out and "OLDPIXEL" not in out


def test_html_untracked_copy_still_neutralises_the_quote():
    # An internal colleague or an opted-out recipient gets no tags of its own,
    # but the thread it receives must not speak for Bob either.
    inner = f'<img src="{OLD_PIXEL}"><a href="{tag_link("https://old.test/")}">o</a>'
    out = html_out(inner, tag_link=None, pixel_url=None)
    assert "OLDPIXEL" not in out and 'href="https://old.test/"' in out


def test_html_our_own_new_tags_are_not_neutralised():
    optout = f"{TRACKER}/u/NEWOPTOUT"
    signature = Signature(html=f'<a href="{optout}">Tracking options</a>', text="x")
    out = html_out(f'<img src="{OLD_PIXEL}">', signature=signature, link_mode=LinkMode.ALL)
    assert optout in out and "BANNERTOKEN" in out and "PIXELTOKEN" in out


# --- plain text -----------------------------------------------------------------


def test_text_quoted_click_link_leads_to_its_target_again():
    out = text_out(f"> Our offer: {tag_link('https://old.test/offer')}")
    assert "> Our offer: https://old.test/offer\r\n" in out and "/c/" not in out


def test_text_quoted_click_link_loses_the_visit_id_its_target_carried():
    out = text_out(f"> {tag_link('https://www.example.com/spring?' + VISIT)}")
    assert "> https://www.example.com/spring\r\n" in out


def test_text_landing_link_with_a_visit_id_loses_it():
    out = text_out(f"> https://www.example.com/spring?a=1&{VISIT}&b=2")
    assert "> https://www.example.com/spring?a=1&b=2\r\n" in out


def test_text_quoted_optout_line_is_removed():
    out = text_out(f"> Jane Roe\r\n> Tracking options for our e-mails: {OLD_OPTOUT}\r\n> bye")
    assert "OLDOPTOUT" not in out and "Tracking options" not in out
    assert "> Jane Roe\r\n> bye" in out


def test_text_quoted_optout_line_is_removed_with_lf_line_ends_too():
    raw = message(
        f"Hi\n\nOn Monday Anna wrote:\n> Options: {OLD_OPTOUT}\n> bye\n".encode(), cte="base64"
    )
    raw = (
        raw.split(b"\r\n\r\n", 1)[0]
        + b"\r\n\r\n"
        + base64.encodebytes(raw.split(b"\r\n\r\n", 1)[1])
    )
    out = body_of(rewrite(raw, plan()).message, "text/plain")
    assert "OLDOPTOUT" not in out and "Options" not in out and "> bye" in out


def test_html_optout_link_never_closed_before_another_is_removed_once():
    inner = f'<p><a href="{OLD_OPTOUT}">one <a href="{OLD_OPTOUT}2">two</a> after</p>'
    out = html_out(inner)
    assert "OLDOPTOUT" not in out and "<p> after</p>" in out


def test_text_quoted_optout_url_inside_a_sentence_goes_alone():
    out = text_out(f"> see {OLD_OPTOUT} for options")
    assert "> see  for options" in out


def test_text_quoted_pixel_and_banner_urls():
    out = text_out(f"> [image: {OLD_BANNER}] [pixel: {OLD_PIXEL}]")
    assert f"[image: {QUIET_BANNER}]" in out and "OLDPIXEL" not in out


def test_text_forged_tokens_do_not_crash():
    out = text_out(f"> {TRACKER}/c/@@@ {TRACKER}/b/nope {TRACKER}/u/x", untag_link=lambda _: None)
    assert f"{TRACKER}/c/@@@" in out and "/b/nope" not in out and "/u/x" not in out


# --- the visit id parameter -------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.test/p?sr_vid=1", "https://a.test/p"),
        ("https://a.test/p?a=1&sr_vid=1&b=2#f", "https://a.test/p?a=1&b=2#f"),
        ("https://a.test/p?sr_vid=1#f", "https://a.test/p#f"),
        ("https://a.test/p?xsr_vid=1", "https://a.test/p?xsr_vid=1"),
        ("https://a.test/p#sr_vid=1", "https://a.test/p#sr_vid=1"),
        ("https://a.test/p?a=%20b&sr_vid=", "https://a.test/p?a=%20b"),
    ],
)
def test_without_parameter_keeps_everything_else(url, expected):
    assert without_parameter(url, "sr_vid") == expected


# --- whatever the quote holds -------------------------------------------------

PIECES = st.sampled_from(
    [
        f'<img src="{OLD_PIXEL}">',
        f'<img src="{OLD_BANNER}" width=600>',
        f"<img src='{TRACKER}/b/'>",
        f'<a href="{OLD_OPTOUT}">opt',
        f"<a href={OLD_OPTOUT}>",
        "</a>",
        f'<a href="{TRACKER}/c/">',
        f'<a href="{tag_link("https://a.test/?" + VISIT)}">',
        f"{TRACKER}/u/",
        f"{TRACKER}/c/%%",
        "?sr_vid=&sr_vid",
        "> ",
        "\r\n",
        "\n",
        "text ",
        '"',
        "<",
    ]
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(PIECES, max_size=25), st.booleans())
def test_any_mix_of_our_old_tags_is_rewritten_never_raises(pieces, as_html):
    quote = "".join(pieces)
    raw = quoted_html(quote) if as_html else message(f"Hi\r\n\r\nAnna wrote:\r\n{quote}\r\n")
    result = rewrite(raw, plan())
    assert result.outcome is Outcome.REWRITTEN, result.reason
    assert "OLDPIXEL" not in body_of(result.message, "text/html" if as_html else "text/plain")
