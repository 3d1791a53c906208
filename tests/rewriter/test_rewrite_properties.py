"""Property tests: random MIME trees keep the rewriter's invariants (issue 4)."""

import email
import email.policy
import logging
import re
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rewriter_plans import make_plan, without_additions

from peers import CORPUS, require_corpus
from rewriter import LinkMode, Outcome
from rewriter.rewrite import rewrite

PLAN = make_plan(link_mode=LinkMode.NONE)
MUTATION_PLAN = make_plan(resign_dkim=True)  # DKIM would otherwise skip some seeds
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


# --- Bad input: mutated real messages (issue 13, "Bad input") ---------------------

_BOGUS_CTE = (
    "quoted-printable;",
    "BASE64 (x)",
    "x-foo",
    "",
    "8-bit",
    "binary",
    "uuencode",
    "7bit;",
)
_BOGUS_CHARSET = ("utf8", '"UTF-8;"', "x-unknown", "iso-2022-kr", "", "base64", "utf-16", "zz")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _small_corpus_messages() -> list[bytes]:
    if not CORPUS.is_dir():
        return []
    picked = []
    for folder in ("malformed", "mime", "alternative", "attachments", "charsets", "plain"):
        for path in sorted((CORPUS / folder).rglob("*")):
            message = path.is_file() and path.suffix not in (".md", ".py", ".tsv", ".html")
            if message and path.stat().st_size < 12_000:
                picked.append(path.read_bytes())
    return picked[::3]  # a spread over every folder, small enough for 20 s


SEEDS = _small_corpus_messages()


@st.composite
def mutated_messages(draw) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        kinds = ["truncate", "flip", "flip-anywhere", "garbage", "cte", "charset", "boundary"]
        kind = draw(st.sampled_from(kinds))
        if kind == "truncate" and raw:
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif kind == "flip" and raw:
            header_end = raw.find(b"\n\n") if b"\r\n\r\n" not in raw else raw.find(b"\r\n\r\n")
            at = draw(st.integers(0, max(0, header_end if header_end > 0 else len(raw) - 1)))
            raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
        elif kind == "flip-anywhere" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw = raw[:at] + bytes([draw(st.sampled_from(b'\r\n -:;="\x00\xff'))]) + raw[at + 1 :]
        elif kind == "garbage":  # a line that is no header field, in some header block
            fields = [m.start() for m in re.finditer(rb"(?im)^content-[a-z-]+:", raw)]
            if fields:
                at = draw(st.sampled_from(fields))
                raw = raw[:at] + b"not a field\r\n" + raw[at:]
        elif kind == "cte":
            value = draw(st.sampled_from(_BOGUS_CTE)).encode()
            raw = re.sub(
                rb"(?im)^(content-transfer-encoding:)[^\r\n]*", rb"\1 " + value, raw, count=1
            )
        elif kind == "charset":
            value = draw(st.sampled_from(_BOGUS_CHARSET)).encode()
            raw = re.sub(rb'(?i)(charset=)("[^"]*"|[^;\s]*)', rb"\1" + value, raw, count=1)
        elif kind == "boundary":
            delimiters = re.findall(rb"(?m)^--[^\r\n]+\r?\n", raw)
            if delimiters:
                line = draw(st.sampled_from(delimiters))
                at = draw(st.integers(0, len(raw)))
                at = raw.rfind(b"\n", 0, at) + 1  # a line start
                raw = raw[:at] + line + raw[at:]
    return raw


def _leaf_payloads(raw: bytes) -> list[tuple[str, bool, bytes]]:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [
        (
            part.get_content_type(),
            part.get_content_maintype() == "text"
            and part.get_content_disposition() != "attachment",
            str(part.get_payload()).encode("utf-8", "surrogateescape").replace(b"\r\n", b"\n"),
        )
        for part in message.walk()
        if not part.is_multipart()
    ]


def _defect_count(raw: bytes) -> int:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return sum(len(part.defects) for part in message.walk())


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_mutated_real_messages_never_raise_and_come_out_original_or_valid(data):
    if not SEEDS:
        require_corpus()
    raw = data.draw(mutated_messages())
    records = _Records()
    logger = logging.getLogger("sigrelay.rewriter")
    logger.addHandler(records)
    try:
        result = rewrite(raw, MUTATION_PLAN)
    finally:
        logger.removeHandler(records)
    if result.outcome is not Outcome.REWRITTEN:
        assert result.message == raw
        if result.outcome is Outcome.FAILED:
            assert result.reason and any(
                result.reason.split(":")[0] in r.getMessage() for r in records.records
            )
        return
    assert _defect_count(result.message) <= _defect_count(raw)
    before, after = _leaf_payloads(raw), _leaf_payloads(result.message)
    assert [t for t, _, _ in before] == [t for t, _, _ in after]
    for (_type, is_body, old), (_, _, new) in zip(before, after, strict=True):
        assert old == new or is_body  # only body text changes; attachments byte for byte
