"""Signature and banner images: by URL by default, as CID parts when the group embeds them."""

import base64
import re

import pytest
from rewriter_plans import SIGNATURE, html_message, make_plan, message, parsed

from rewriter import Banner, InlineImage, LinkMode, Outcome, Signature
from rewriter.rewrite import rewrite

# A 1x1 transparent GIF and a made-up PNG payload: the bytes only need to survive.
LOGO = InlineImage(
    cid="logo.0001@sigrelay",
    content_type="image/gif",
    data=base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
    filename="logo.gif",
)
BANNER_IMAGE = InlineImage(
    cid="banner.0001@sigrelay", content_type="image/png", data=bytes(range(256)) * 40
)
UNUSED = InlineImage(cid="unused@sigrelay", content_type="image/png", data=b"\x89PNG")
EMBEDDED_SIGNATURE = Signature(
    html=f'<p>Jane Roe<br><img src="cid:{LOGO.cid}" alt="Example GmbH"></p>',
    text="Jane Roe\nExample GmbH",
)
EMBEDDING = make_plan(
    signature=EMBEDDED_SIGNATURE,
    banner=Banner(image_url=f"cid:{BANNER_IMAGE.cid}", alt="Spring sale"),
    link_mode=LinkMode.NONE,
    embed_images=True,
    inline_images=(LOGO, BANNER_IMAGE, UNUSED),
)

ALTERNATIVE = message(
    "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<html><body><p>Hello</p></body></html>\r\n"
    "--alt--\r\n",
    "multipart/alternative; boundary=alt",
)
WITH_ATTACHMENT = message(
    "--mix\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
    "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<html><body><p>Hello</p></body></html>\r\n--alt--\r\n"
    "--mix\r\nContent-Type: application/pdf; name=a.pdf\r\n"
    "Content-Disposition: attachment; filename=a.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--mix--\r\n",
    "multipart/mixed; boundary=mix",
)
PASTED_PICTURE = message(
    "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    '<html><body><p>See <img src="cid:pasted@client"></p></body></html>\r\n'
    "--rel\r\nContent-Type: image/png\r\nContent-ID: <pasted@client>\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "iVBORw0KGgo=\r\n--rel--\r\n",
    'multipart/related; boundary=rel; type="text/html"',
)
SHAPES = {
    "single html": html_message("<p>Hello</p>"),
    "alternative": ALTERNATIVE,
    "mixed with attachment": WITH_ATTACHMENT,
    "related with a pasted picture": PASTED_PICTURE,
}


def _parts(raw: bytes) -> list[str]:
    return [part.get_content_type() for part in parsed(raw).walk()]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_images_are_referenced_by_url_by_default(shape):
    offered = make_plan(inline_images=(LOGO, BANNER_IMAGE))  # offered, but not embedding
    raw = SHAPES[shape]
    out = rewrite(raw, offered).message
    assert _parts(out) == _parts(raw)
    assert b"cid:" + LOGO.cid.encode() not in out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_embedding_gives_a_related_part_where_every_cid_resolves(shape):
    result = rewrite(SHAPES[shape], EMBEDDING)
    assert result.outcome is Outcome.REWRITTEN
    message_ = parsed(result.message)
    assert not any(part.defects for part in message_.walk())
    related = next(p for p in message_.walk() if p.get_content_type() == "multipart/related")
    assert related.get_param("type") == "text/html"
    html_part, *others = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    by_cid = {part["Content-ID"].strip("<>"): part for part in others}
    referenced = re.findall(r'src="cid:([^"]+)"', html_part.get_content())
    assert referenced and set(referenced) <= set(by_cid)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_embedded_images_are_inline_and_byte_identical(shape):
    message_ = parsed(rewrite(SHAPES[shape], EMBEDDING).message)
    ours = {p["Content-ID"]: p for p in message_.walk() if "sigrelay" in (p["Content-ID"] or "")}
    assert set(ours) == {f"<{LOGO.cid}>", f"<{BANNER_IMAGE.cid}>"}  # the unused one stays out
    for image in (LOGO, BANNER_IMAGE):
        part = ours[f"<{image.cid}>"]
        assert part.get_content_disposition() == "inline"
        assert part.get_content_type() == image.content_type
        assert part.get_content() == image.data


def test_pasted_pictures_stay_and_ours_join_the_same_related_part():
    message_ = parsed(rewrite(PASTED_PICTURE, EMBEDDING).message)
    assert message_.get_content_type() == "multipart/related"
    cids = [part["Content-ID"] for part in message_.iter_parts()][1:]
    assert cids == ["<pasted@client>", f"<{LOGO.cid}>", f"<{BANNER_IMAGE.cid}>"]


def test_single_part_message_keeps_its_headers_on_the_message():
    message_ = parsed(rewrite(html_message("<p>Hello</p>"), EMBEDDING).message)
    assert (message_["From"], message_["Subject"], message_["MIME-Version"]) == (
        "a@example.com",
        "hi",
        "1.0",
    )
    assert message_.get_content_type() == "multipart/related"


def test_text_only_message_gets_no_image_parts():
    out = rewrite(message("Hello\r\n"), EMBEDDING).message
    assert _parts(out) == ["text/plain"]


def test_signature_without_cid_images_adds_no_parts_even_when_embedding():
    plan = make_plan(signature=SIGNATURE, banner=None, embed_images=True, inline_images=(LOGO,))
    assert _parts(rewrite(ALTERNATIVE, plan).message) == _parts(ALTERNATIVE)
