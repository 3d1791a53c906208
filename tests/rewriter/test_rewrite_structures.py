"""Where the signature, banner and pixel go in each MIME structure."""

import re
from dataclasses import replace

from rewriter_plans import BANNER, PIXEL, body_of, html_message, make_plan, message, parsed

from rewriter import LinkMode, Outcome, Signature
from rewriter.rewrite import rewrite


def test_text_signature_follows_the_rfc3676_delimiter():
    out = rewrite(message("Hello Bob\r\n"), make_plan(link_mode=LinkMode.NONE)).message
    expected = "Hello Bob\r\n\r\n-- \r\nJane Roe\r\nExample GmbH\r\nhttps://example.com/team\r\n"
    assert body_of(out, "text/plain") == expected


def test_html_signature_goes_before_body_end_then_banner_then_pixel():
    out = body_of(rewrite(html_message("<p>Hi</p>"), make_plan()).message, "text/html")
    signature, banner, pixel = out.index("Jane Roe"), out.index("BANNERTOKEN"), out.index(PIXEL)
    assert out.index("<p>Hi</p>") < signature < banner < pixel < out.index("</body>")


def test_pixel_has_the_exact_markup():
    out = body_of(rewrite(html_message("<p>Hi</p>"), make_plan()).message, "text/html")
    assert f'<img src="{PIXEL}" width="1" height="1" alt="" style="display:block;border:0">' in out


def test_html_without_body_tag_gets_the_signature_at_the_end():
    raw = message("<p>Hi</p>\r\n", "text/html; charset=utf-8")
    out = body_of(rewrite(raw, make_plan()).message, "text/html")
    assert out.index("<p>Hi</p>") < out.index("Jane Roe")


def test_alternative_gets_the_signature_in_text_and_html():
    raw = message(
        "--z\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHi\r\n"
        "--z\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<p>Hi</p>\r\n--z--\r\n",
        "multipart/alternative; boundary=z",
    )
    out = rewrite(raw, make_plan()).message
    assert "Jane Roe" in body_of(out, "text/plain") and "Jane Roe" in body_of(out, "text/html")


MIXED = (
    "--m\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nBody text\r\n"
    "--m\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\n"  # noqa: E501 (a literal message line)
    "attached notes\r\n"
    "--m\r\nContent-Type: text/html\r\nContent-Disposition: inline; filename=page.html\r\n\r\n<p>page</p>\r\n"  # noqa: E501 (a literal message line)
    "--m\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\nContent-Type: text/plain\r\n\r\ninner\r\n"  # noqa: E501 (a literal message line)
    "--m--\r\n"
)


def test_mixed_signs_the_body_and_leaves_attachments_byte_identical():
    raw = message(MIXED, "multipart/mixed; boundary=m")
    out = rewrite(raw, make_plan()).message
    untouched = MIXED[MIXED.index("--m\r\nContent-Type: text/plain; name") :].encode()
    assert out.endswith(untouched)
    assert "Jane Roe" in body_of(out, "text/plain")


def test_related_signs_the_html_root_and_keeps_the_image():
    image = "--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"  # noqa: E501 (a literal message line)
    raw = message(
        '--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><img src="cid:logo@x"></body></html>\r\n'  # noqa: E501 (a literal message line)
        + image,
        'multipart/related; boundary=r; type="text/html"',
    )
    out = rewrite(raw, make_plan()).message
    assert out.endswith(image.encode()) and "Jane Roe" in body_of(out, "text/html")


def test_nested_mixed_alternative_related_signs_both_renderings():
    raw = message(
        "--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        "--a\r\nContent-Type: text/plain\r\n\r\nHi\r\n"
        "--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        "--r\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n--r--\r\n--a--\r\n"
        "--m\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--m--\r\n",  # noqa: E501 (a literal message line)
        "multipart/mixed; boundary=m",
    )
    bodies = [
        p.get_content()
        for p in parsed(rewrite(raw, make_plan()).message).walk()
        if p.get_content_maintype() == "text"
    ]
    assert len(bodies) == 2 and all(b.count("Jane") == 1 for b in bodies)


def test_flowed_text_stays_flowed_and_the_signature_lines_are_fixed():
    raw = message(
        "A long paragraph that \r\nflows on.\r\n", "text/plain; charset=utf-8; format=flowed"
    )
    out = rewrite(raw, make_plan(signature=Signature(html="", text="Jane   \nRoe"))).message
    assert b"format=flowed" in out
    assert b"\r\n-- \r\nJane\r\nRoe\r\n" in out


def test_splicing_keeps_outlook_conditional_comments_and_vml():
    inner = '<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]--><p class=MsoNormal>Hi&nbsp;there<o:p></o:p></p><v:rect style="width:1pt">x</v:rect>'  # noqa: E501 (a literal message line)
    raw = html_message(inner)
    out = rewrite(raw, make_plan()).message
    assert inner.encode() in out


def test_untracked_copy_has_no_pixel_and_no_tagged_links_but_keeps_the_banner():
    out = body_of(rewrite(html_message("<p>Hi</p>"), make_plan(tag_link=None)).message, "text/html")
    assert "/o/" not in out and "/c/" not in out and "BANNERTOKEN" in out


def test_signature_none_adds_no_signature():
    result = rewrite(message("Hi\r\n"), make_plan(signature=None))
    assert result.outcome is Outcome.REWRITTEN and b"Jane" not in result.message


def test_banner_keeps_its_size_attributes_for_outlook_and_scales_down_on_phones():
    plan = make_plan(banner=replace(BANNER, width=600, height=100))
    out = body_of(rewrite(html_message("<p>Hi</p>"), plan).message, "text/html")
    (image,) = re.findall(r"<img [^>]*BANNERTOKEN[^>]*>", out)
    assert 'width="600"' in image and 'height="100"' in image and 'border="0"' in image
    assert "max-width:100%" in image and "height:auto" in image
    # a gap below the banner, before whatever follows (the quoted thread)
    assert re.search(r'<div class="sigrelay-banner" style="[^"]*margin:12px 0 16px 0', out)
