"""One form of line end per copy; no line over 998 octets that we wrote (issue 13, parts 3, 5)."""

import base64
import re
from email.message import EmailMessage
from email.policy import SMTP, default

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rewriter_plans import body_of, html_message, make_plan, message, parsed

from peers import corpus_messages, require_corpus
from rewriter import Outcome, Signature
from rewriter.line_ends import line_end_of, with_line_ends
from rewriter.mime import to_crlf
from rewriter.rewrite import rewrite

# A signature as Jinja renders a template file: LF line ends (newline_sequence).
TEMPLATE_SIGNATURE = Signature(
    html="<table>\n  <tr><td>Jane Roe</td></tr>\n  <tr><td>Sales</td></tr>\n</table>\n",
    text="Jane Roe\nSales\nhttps://example.com/team\n",
)
PLAN = make_plan(signature=TEMPLATE_SIGNATURE)


def bare_lf(data: bytes) -> int:
    return data.count(b"\n") - data.count(b"\r\n")


def bare_cr(data: bytes) -> int:
    return data.count(b"\r") - data.count(b"\r\n")


def longest_line(data: bytes) -> int:
    return max(map(len, re.split(rb"\r\n|\r|\n", data)))


def test_an_html_template_brings_no_bare_lf_into_a_crlf_message():
    raw = html_message("<p>Hello</p>")
    out = rewrite(raw, PLAN)
    assert out.outcome is Outcome.REWRITTEN
    assert bare_lf(out.message) == 0
    assert "<tr><td>Jane Roe</td></tr>\r\n  <tr>" in body_of(out.message, "text/html")


def test_a_quoted_printable_html_part_gets_crlf_line_ends_not_encoded_lfs():
    raw = html_message("<p>Hello</p>", cte="quoted-printable")
    out = rewrite(raw, PLAN)
    assert b"=0A" not in out.message and bare_lf(out.message) == 0
    assert "\n" not in body_of(out.message, "text/html").replace("\r\n", "")


def test_a_base64_text_part_with_lf_line_ends_gets_lf_line_ends_in_the_signature():
    # Python's MIMEText and many web apps encode text with LF line ends.
    text = "Hello Bob,\n\nthe offer is attached.\n\nAnna\n"
    raw = message(base64.b64encode(text.encode()), cte="base64")
    out = rewrite(raw, PLAN)
    decoded = parsed(out.message).get_payload(decode=True)
    assert b"Jane Roe\nSales\n" in decoded and b"\r" not in decoded


def test_a_carriage_return_in_a_directory_field_becomes_a_line_end():
    plan = make_plan(signature=Signature(html="<p>Jane\rRoe</p>", text="Jane\rRoe"))
    out = rewrite(message("Hi\r\n"), plan)
    assert bare_cr(out.message) == 0 and b"Jane\r\nRoe" in out.message


def test_the_senders_own_bare_cr_stays_where_it_was():
    raw = message("one\rline\r\n")
    out = rewrite(raw, PLAN)
    assert out.outcome is Outcome.REWRITTEN and bare_cr(out.message) == bare_cr(raw) == 1


def test_line_end_of_the_senders_text_ignores_our_additions():
    text = "ours\r\nmore\r\nsender\nline\n"
    assert line_end_of(text, [(0, 12)]) == "\n"
    assert line_end_of("no break", []) == "\r\n"
    assert with_line_ends(text, [(0, 12)], "\n") == "ours\nmore\nsender\nline\n"


def test_a_long_html_line_is_re_encoded_when_the_part_is_changed():
    long_line = "<p>" + "word " * 2000 + "</p>"
    raw = html_message(long_line)
    out = rewrite(raw, PLAN)
    assert out.outcome is Outcome.REWRITTEN
    assert longest_line(out.message) <= 998
    html = body_of(out.message, "text/html")
    assert long_line in html and "Jane Roe" in html


def test_a_long_line_in_an_untouched_attachment_passes_byte_for_byte():
    attachment = b"x" * 5000 + b"\r\n"
    raw = (
        b"From: a@example.com\r\nTo: b@customer.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
        b'--b1\r\nContent-Type: text/plain; name="long.txt"\r\n'
        b"Content-Disposition: attachment; filename=long.txt\r\n\r\n" + attachment + b"--b1--\r\n"
    )
    out = rewrite(raw, PLAN)
    assert out.outcome is Outcome.REWRITTEN
    assert b"\r\n\r\n" + attachment + b"--b1--" in out.message


# --- property: no copy has a bare LF or CR that the message did not have ----------

LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])
words = st.text(alphabet=st.sampled_from("abc äö Ж <>&"), max_size=30)


@st.composite
def signatures(draw) -> Signature:
    def lines() -> str:
        items = ["Jane Roe", *draw(st.lists(words, max_size=4))]
        return "".join(item + draw(LINE_ENDS) for item in items)

    return Signature(html=f"<p>{lines()}</p>{draw(LINE_ENDS)}", text=lines())


@st.composite
def messages(draw) -> bytes:
    """A text or HTML body (or both, in an alternative) in any transfer encoding,
    sent with CRLF (SMTP) or LF (a file) line ends."""

    def body(subtype: str) -> EmailMessage:
        content = "\n".join(draw(st.lists(words, max_size=6))) + "\n"
        if subtype == "html":
            content = f"<html><body>{content}</body></html>\n"
        part = EmailMessage()
        cte = draw(st.sampled_from(["7bit", "8bit", "quoted-printable", "base64"]))
        if cte == "7bit" and not content.isascii():
            cte = "8bit"
        part.set_content(content, subtype=subtype, charset="utf-8", cte=cte)
        return part

    kind = draw(st.sampled_from(["plain", "html", "alternative"]))
    if kind == "alternative":
        root = EmailMessage()
        root.make_alternative(boundary="alt-boundary")  # not a random one
        root.attach(body("plain"))
        root.attach(body("html"))
    else:
        root = body(kind)
    root["From"], root["To"], root["Subject"] = "a@example.com", "b@customer.test", "hi"
    return root.as_bytes(policy=draw(st.sampled_from([SMTP, default])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=messages(), signature=signatures())
def test_no_copy_has_a_bare_lf_or_cr_the_message_did_not_have(raw, signature):
    out = rewrite(raw, make_plan(signature=signature))
    assert out.outcome is Outcome.REWRITTEN, out.reason
    assert bare_lf(out.message) <= bare_lf(raw) and bare_cr(out.message) <= bare_cr(raw)
    for part in parsed(out.message).walk():
        if part.get_content_maintype() != "text":
            continue
        decoded = part.get_payload(decode=True)
        # One form per part: LF-only stays LF-only (base64 from MIMEText), else CRLF.
        assert bare_cr(decoded) == 0
        assert decoded.count(b"\r\n") == 0 or bare_lf(decoded) == 0


def test_no_corpus_copy_has_a_bare_lf_or_cr_the_message_did_not_have():
    require_corpus()
    rewritten = 0
    for name, raw in corpus_messages().items():
        sent = to_crlf(raw)  # as SMTP carries it
        out = rewrite(sent, PLAN)
        rewritten += out.outcome is Outcome.REWRITTEN
        assert bare_lf(out.message) <= bare_lf(sent), name
        assert bare_cr(out.message) <= bare_cr(sent), name
    assert rewritten > 200
