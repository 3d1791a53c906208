"""The shortcuts taken for speed read mail exactly as the slow, obvious way does."""

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st
from rewriter_plans import body_of, html_message, make_plan, message, tag_link

from rewriter import LinkMode, Outcome, Plan
from rewriter.body import EditableText
from rewriter.links import is_trackable
from rewriter.rewrite import rewrite
from rewriter.transfer import MAX_LINE, has_long_line

EXCLUDED = frozenset({"corp.test"})
_URL_PIECES = st.sampled_from(
    ["http://", "https://", "HTTP://", "ftp://", "a", "b.", ".", ":", "/", "?", "#", "@", "[",
     "]", "::1", "-", "_", "%20", " ", "\t", "\\", "9", "corp.test", "x.corp.test", "ü"]
)  # fmt: skip


def _trackable_by_urlsplit(url: str, plan: Plan) -> bool:
    if url.startswith(plan.tracker_prefix):
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host:
        return False
    return not any(host == d or host.endswith("." + d) for d in EXCLUDED)


@given(st.lists(_URL_PIECES, max_size=10).map("".join))
def test_is_trackable_agrees_with_urlsplit(url):
    plan = make_plan(excluded_domains=EXCLUDED)
    assert is_trackable(url, plan) == _trackable_by_urlsplit(url, plan)


@given(
    st.lists(st.tuples(st.integers(0, 1200), st.sampled_from([b"\r\n", b"\n"])), max_size=6).map(
        lambda lines: b"".join(b"x" * length + end for length, end in lines)
    ),
    st.integers(0, 1200),
)
def test_long_line_check_agrees_with_splitting_into_lines(head, tail_length):
    data = head + b"y" * tail_length
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    assert has_long_line(data) == (max(map(len, lines)) > MAX_LINE)


@given(
    st.text(alphabet="ab<>", min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), st.text("XY", max_size=4))),
)
def test_replace_all_equals_applying_each_edit_alone_last_first(text, raw_edits):
    edits, taken = [], -1
    for start, length, replacement in sorted(raw_edits):
        start = min(start, len(text))
        end = min(start + length, len(text))
        if start > taken:  # non-overlapping, as callers guarantee
            edits.append((start, end, replacement))
            taken = end if end > start else start
    together, one_by_one = EditableText(text), EditableText(text)
    for content in (together, one_by_one):
        content.marks.update(first=0, middle=len(text) // 2, last=len(text))
        content.added = [(0, len(text) // 3), (len(text) // 2, len(text))]
    together.replace_all(edits)
    for start, end, replacement in sorted(edits, reverse=True):
        one_by_one.replace(start, end, replacement)
    assert (together.text, together.marks, together.added) == (
        one_by_one.text,
        one_by_one.marks,
        one_by_one.added,
    )


def test_href_inside_another_attribute_value_is_not_a_link():
    raw = html_message("""<a title='href="https://x.test/"' href="https://y.test/">y</a>""")
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert "title='href=\"https://x.test/\"'" in out
    assert f'href="{tag_link("https://y.test/")}"' in out


def test_link_tag_never_closed_does_not_swallow_our_signature():
    raw = message('<p>text <a href="https://cut.test/', "text/html; charset=utf-8")
    out = body_of(rewrite(raw, make_plan(link_mode=LinkMode.ALL)).message, "text/html")
    assert tag_link("https://cut.test/") not in out
    assert out.count('<div class="sigrelay-signature">') == 1


def test_signature_words_split_by_markup_still_count_as_signed():
    raw = html_message(
        "<p>Hi</p><p>Jane <b>Roe</b><br>Example GmbH &middot; "
        '<a href="https://example.com/team?x=1&amp;y=2">Team</a></p>'
    )
    assert rewrite(raw, make_plan()).reason == "already-signed"


def test_signature_words_missing_from_the_newest_text_means_not_signed():
    raw = html_message("<p>Hi Jane, the Example GmbH team</p>")
    assert rewrite(raw, make_plan()).outcome is Outcome.REWRITTEN
