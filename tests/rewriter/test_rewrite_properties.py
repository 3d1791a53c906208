"""Property tests: random MIME trees keep the rewriter's invariants (issue 4)."""

import email
import email.policy
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rewriter_plans import make_plan, without_additions

from rewriter import LinkMode, Outcome
from rewriter.rewrite import rewrite

PLAN = make_plan(link_mode=LinkMode.NONE)
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252", "koi8-r")
ENCODINGS = ("7bit", "8bit", "quoted-printable", "base64")
words = st.text(alphabet=st.sampled_from("abc xyz äöü ß é Ж \n<>&"), min_size=0, max_size=200)


@st.composite
def text_parts(draw, subtype: str):
    charset = draw(st.sampled_from(CHARSETS))
    text = draw(words).encode(charset, errors="ignore").decode(charset)
    if subtype == "html":
        text = f"<html><body><p>{text}</p></body></html>"
    cte = draw(st.sampled_from(ENCODINGS))
    part = EmailMessage()
    part.set_content(text, subtype=subtype, charset=charset, cte=cte if cte != "7bit" else None)
    return part


@st.composite
def attachments(draw):
    part = EmailMessage()
    data = draw(st.binary(max_size=300))
    part.set_content(data, maintype="application", subtype="octet-stream", filename="a.bin")
    return part


@st.composite
def trees(draw, depth: int = 0):
    kind = draw(
        st.sampled_from(
            ["plain", "html", "alternative", "mixed"] if depth < 3 else ["plain", "html"]
        )
    )
    if kind in ("plain", "html"):
        return draw(text_parts(kind))
    container = EmailMessage()
    if kind == "alternative":
        container.make_alternative()
        container.attach(draw(text_parts("plain")))
        container.attach(draw(text_parts("html")))
    else:
        container.make_mixed()
        container.attach(draw(trees(depth + 1)))
        for attachment in draw(st.lists(attachments(), max_size=3)):
            container.attach(attachment)
    return container


def _leaves(raw: bytes):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return [part for part in message.walk() if not part.is_multipart()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees())
def test_random_trees_keep_attachments_and_get_one_signature_per_body(tree):
    tree["From"], tree["To"], tree["Subject"] = "a@example.com", "b@customer.test", "t"
    raw = tree.as_bytes(policy=email.policy.SMTP)
    result = rewrite(raw, PLAN)
    assert result.outcome is Outcome.REWRITTEN, result.reason
    before, after = _leaves(raw), _leaves(result.message)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if old.is_attachment():
            assert old.get_payload(decode=True) == new.get_payload(decode=True)
        elif old.get_content() != new.get_content():
            assert new.get_content().count("Jane Roe") == 1
            signature = "\r\n".join(PLAN.signature.text.split("\n"))
            assert without_additions(new.get_content(), signature) == without_additions(
                old.get_content(), signature
            )
    assert all(len(line) <= 998 for line in result.message.split(b"\r\n"))
    assert b"\n" not in result.message.replace(b"\r\n", b"")
