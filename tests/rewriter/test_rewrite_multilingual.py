"""Plain-text replies in the languages of the mail-parser-reply samples (German,
Dutch, Danish, Swedish, Polish, Japanese, English): the signature goes above
the first line of the quoted thread.

Where the thread begins is read from each file by the rule a person applies,
written here independently of the rewriter: an attribution line ("... wrote:",
also wrapped over up to three lines), a header block ("From:" and a "Sent:"
or "Date:" line just below, in any language), a rule line above such a
block, or the first line of a "> " quote that runs to the end. A file without
any of them is a new message: the signature goes last.
"""

import binascii
import re

import pytest
from rewriter_plans import body_of, make_plan, message

from peers import CORPUS, require_corpus
from rewriter import LinkMode, Outcome
from rewriter.rewrite import rewrite

SAMPLES = CORPUS / ("replies/text-mail-parser-reply")
PLAN = make_plan(link_mode=LinkMode.NONE, banner=None, pixel_url=None)
SIGNATURE_START = "-- \r\nJane Roe\r\n"

# "wrote:" in the samples' languages; the line ends with the colon.
_ATTRIBUTION = re.compile(
    r"(?:\bwrote|\bschrieb\b.*|\bskrev\b.*|\bnapisał\(a\)|\bschreef\b.*|\ba écrit ?"
    r"|\bescribió|\bha scritto|<[^<>@\s]+@[^<>\s]+>)\s*:\s*$"  # Japanese Gmail: "日時 名前 <addr>:"
)
# A field of a quoted header block: a short label, a colon, a value ("*Von:* Bob").
_HEADER_FIELD = re.compile(r"^\*?[^\W\d][\w ]{0,14}?\s?:\*?\s+\S")
_SENDER_FIELD = re.compile(r"^\*?(?:From|Von|Van|Fra|Från|Od|De|Da)\s?:\*?\s")
_RULE = re.compile(r"^(?:-{5,}.*|_{10,})$")


def _sample_names() -> list[str]:
    if not SAMPLES.is_dir():
        return []
    return sorted(path.name for path in SAMPLES.glob("*.txt"))


def _decoded(raw: bytes) -> tuple[str, bool]:
    """The sample's text; one sample is a quoted-printable body ("=E2=80=AF", "w=" breaks)."""
    quoted_printable = re.search(rb"=[0-9A-F]{2}|=\r?\n", raw) is not None
    data = binascii.a2b_qp(raw) if quoted_printable else raw
    return data.decode("utf-8").replace("\r\n", "\n"), quoted_printable


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _SENDER_FIELD.match(lines[index].strip()):
        return False
    following = [line.strip() for line in lines[index + 1 : index + 4]]
    return any(_HEADER_FIELD.match(line) for line in following)


def _quote_start_line(lines: list[str]) -> int | None:
    """The index of the first line of the quoted thread, or None."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith(">"):  # top-posted above a "> " quote (nothing unquoted after)
            rest = [other.strip() for other in lines[index:] if other.strip()]
            if all(other.startswith(">") for other in rest):
                return index
            continue
        if _is_header_block(lines, index):
            return index
        if _RULE.match(stripped):
            below = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
            if below is not None and _is_header_block(lines, below):
                return index
        start = _attribution_ending_at(lines, index)
        if start is not None:
            return start
    return None


def _attribution_ending_at(lines: list[str], end: int) -> int | None:
    """Where an attribution ending on line `end` begins: the latest of up to three
    unbroken lines that, joined, still carry the date ("On ... Bob\n<bob@x>wrote:")."""
    for start in range(end, max(end - 3, -1), -1):
        block = [line.strip() for line in lines[start : end + 1]]
        if not all(block):
            return None
        joined = " ".join(block)
        if _ATTRIBUTION.search(joined) and re.search(r"\d", joined):
            return start
    return None


def _wrapped(name: str) -> tuple[bytes, list[str]]:
    raw = (SAMPLES / name).read_bytes()
    text, quoted_printable = _decoded(raw)
    body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    cte = "quoted-printable" if quoted_printable else "8bit"
    return message(body, "text/plain; charset=utf-8", cte=cte), text.split("\n")


@pytest.mark.parametrize("name", _sample_names() or ["(corpus absent)"])
def test_signature_sits_above_the_first_quote_line(name):
    if not SAMPLES.is_dir():
        require_corpus("replies/text-mail-parser-reply")
    raw, lines = _wrapped(name)
    result = rewrite(raw, PLAN)
    assert result.outcome is Outcome.REWRITTEN
    out = body_of(result.message, "text/plain").replace("\r\n", "\n")
    signature = out.index(SIGNATURE_START.replace("\r\n", "\n"))
    quote = _quote_start_line(lines)
    if quote is None:  # a new message: everything the sender wrote comes first
        assert out[:signature].split() == "\n".join(lines).split()
        return
    newest = [line for line in lines[:quote] if line.strip()]
    thread = [line for line in lines[quote:] if line.strip()]
    above, below = out[:signature], out[signature:]
    assert [line for line in above.split("\n") if line.strip()] == newest
    assert [line for line in below.split("\n") if line.strip()][-len(thread) :] == thread
