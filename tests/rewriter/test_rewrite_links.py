"""Link tagging: which links, and the target survives exactly."""

import re

import pytest
from rewriter_plans import TRACKER, body_of, html_message, make_plan, message, tag_link, untag_link

from rewriter import LinkMode, Signature
from rewriter.rewrite import rewrite


def _hrefs(html: str) -> list[str]:
    import html as html_module

    return [html_module.unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def test_signature_mode_tags_signature_and_banner_links_only():
    out = body_of(
        rewrite(html_message('<a href="https://news.test/">n</a>'), make_plan()).message,
        "text/html",
    )
    hrefs = _hrefs(out)
    assert hrefs[0] == "https://news.test/"
    assert [untag_link(h) for h in hrefs[1:]] == [
        "https://example.com/team?x=1&y=2",
        "https://shop.example.org/spring",
    ]


def test_all_mode_also_tags_the_senders_links():
    raw = html_message('<a href="https://news.test/a?b=1&amp;c=2#top">n</a>')
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert untag_link(_hrefs(out)[0]) == "https://news.test/a?b=1&c=2#top"


def test_none_mode_tags_nothing():
    out = body_of(
        rewrite(html_message("<p>x</p>"), make_plan(link_mode=LinkMode.NONE)).message, "text/html"
    )
    assert f"{TRACKER}/c/" not in out


@pytest.mark.parametrize(
    "href",
    [
        "mailto:a@b.test",
        "tel:+4930123",
        "#section",
        "data:text/html,x",
        f"{TRACKER}/admin/",
        "https://intra.corp.test/x",
        "https://corp.test/",
    ],
)
def test_links_that_are_never_tracked(href):
    raw = html_message(f'<a href="{href}">x</a>')
    plan = make_plan(link_mode=LinkMode.ALL, excluded_domains=frozenset({"corp.test"}))
    assert _hrefs(body_of(rewrite(raw, plan).message, "text/html"))[0] == href


@pytest.mark.parametrize(
    "url",
    [
        "https://xn--mnchen-3ya.test/stra%C3%9Fe?q=a b&x=<1>#frag",
        'https://münchen.test/path?q="quoted"',
        "http://a.test/?a=1&b=2&amp=3",
    ],
)
def test_tracked_target_is_exactly_the_original_url(url):
    import html as html_module

    raw = html_message(f'<a href="{html_module.escape(url)}">x</a>')
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert untag_link(_hrefs(out)[0]) == url


def test_single_quoted_and_unquoted_hrefs_are_tagged():
    raw = html_message("<a href='https://a.test/x'>a</a><a href=https://b.test/y>b</a>")
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert (
        f"href='{tag_link('https://a.test/x')}'" in out
        and f'href="{tag_link("https://b.test/y")}"' in out
    )


def test_text_part_links_read_as_written_by_default():
    # A long tracker URL in plain text, where the reader sees it, looks like phishing.
    out = body_of(
        rewrite(message("Hi https://a.test/x\r\n"), make_plan(link_mode=LinkMode.ALL)).message,
        "text/plain",
    )
    assert "https://example.com/team" in out and "https://a.test/x" in out
    assert f"{TRACKER}/c/" not in out


def test_text_part_links_in_the_signature_are_tagged_when_the_group_opts_in():
    out = body_of(
        rewrite(message("Hi\r\n"), make_plan(track_text_links=True)).message, "text/plain"
    )
    assert tag_link("https://example.com/team") in out


def test_our_optout_link_in_the_signature_is_never_tagged():
    optout = f"{TRACKER}/u/OPTOUT"
    signature = Signature(
        html=f'<a href="{optout}">Tracking options</a>', text=f"Options: {optout}"
    )
    raw = html_message("<p>Hi</p>")
    out = body_of(
        rewrite(raw, make_plan(link_mode=LinkMode.ALL, signature=signature)).message, "text/html"
    )
    assert _hrefs(out)[0] == optout


def test_links_in_the_quoted_thread_are_not_tagged_in_all_mode():
    raw = html_message(
        '<p>new <a href="https://a.test/">a</a></p><blockquote type="cite"><a href="https://old.test/">o</a></blockquote>'
    )
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert 'href="https://old.test/"' in out and tag_link("https://a.test/") in out


def test_our_old_pixel_and_tracked_links_in_the_quote_are_neutralised():
    quoted = f'<blockquote type="cite"><a href="{tag_link("https://old.test/?a=1")}">o</a><img src="{TRACKER}/o/OLDPIXEL" width="1"></blockquote>'  # noqa: E501 (a literal message line)
    out = body_of(rewrite(html_message("<p>new</p>" + quoted), make_plan()).message, "text/html")
    assert "OLDPIXEL" not in out and 'href="https://old.test/?a=1"' in out


def test_text_signature_with_plain_url_and_no_tracking():
    plan = make_plan(tag_link=None, signature=Signature(html="", text="see https://x.test/"))
    assert "https://x.test/" in body_of(rewrite(message("Hi\r\n"), plan).message, "text/plain")
