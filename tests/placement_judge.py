"""Judge of signature placement on real replies (tests/data/replies): shared by
bench/placement.py and tests/rewriter/test_placement_world.py.

Each sample of the manifest is wrapped into a message, rewritten with a plan that
adds a signature, and judged right when the signature lands after the newest text
(its last line, as the third party's own test expects it) and before the first
line of the quoted thread, or at the very end when there is no quote.
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rewriter import Plan, Signature
from rewriter.rewrite import rewrite

DATA = Path(__file__).resolve().parent / "data"
REPLIES = DATA / "replies"
# The two evaluation sets: "replies" (the patterns were tuned on it) and "replies-unseen"
# (taken from other sources and measured before any pattern was changed for it).
SETS = ("replies", "replies-unseen")
MARK = "Sigrelay Placement Mark"
PLAN = Plan(signature=Signature(html=f"<p>{MARK}</p>", text=MARK))


@dataclass(frozen=True)
class Sample:
    file: str
    language: str
    format: str  # "text" or "html"
    quote_first_line: str  # "none": no quote
    newest_last_line: str  # "": no newest text
    repo: str
    path: str
    set: str = "replies"

    @property
    def source(self) -> str:
        return self.repo

    def text(self) -> str:
        return (DATA / self.set / self.file).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Verdict:
    sample: Sample
    right: bool
    why: str


def load_samples(set_name: str = "replies") -> list[Sample]:
    manifest = tomllib.loads((DATA / set_name / "manifest.toml").read_text(encoding="utf-8"))
    fields = set(Sample.__dataclass_fields__) - {"set"}
    return [
        Sample(**{k: v for k, v in entry.items() if k in fields}, set=set_name)
        for entry in manifest["sample"]
    ]


def wrap(sample: Sample, line_end: str = "\r\n", cte: str = "8bit") -> bytes:
    """The sample as the body of a one-part message (text/plain or text/html)."""
    subtype = "html" if sample.format == "html" else "plain"
    body = re.sub(r"\r?\n", line_end, sample.text())
    if cte == "base64":
        encoded = base64.encodebytes(body.encode("utf-8")).decode().replace("\n", "\r\n")
    else:
        encoded = body.replace("\r\n", "\n").replace("\n", "\r\n")
    head = (
        "From: a@example.com\r\nTo: b@customer.test\r\nSubject: Re: hi\r\n"
        "In-Reply-To: <x@example.com>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n"
    )
    return (head + "\r\n" + encoded).encode("utf-8")


def _lines_of_html(document: str) -> str:
    """Visible text, one line per block or <br>, blanks collapsed: what a reader sees."""
    document = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", document)
    document = re.sub(
        r"(?i)<(?:br|/?(?:p|div|blockquote|tr|li|table|hr))\b[^>]*>", "\ue000", document
    )
    text = html.unescape(re.sub(r"<[^>]*>", "", document)).replace("\xa0", " ")
    text = re.sub(r"\s+", " ", text)
    return "\n".join(line.strip() for line in text.split("\ue000") if line.strip())


def placed_text(message: bytes, fmt: str) -> str:
    """The decoded body of the rewritten message as the judge reads it."""
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    content = parsed.get_content().replace("\r\n", "\n")
    if fmt == "html":
        return _lines_of_html(content)
    return "\n".join(re.sub(r"\s+", " ", line).strip() for line in content.split("\n"))


def _normal(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def judge(sample: Sample, message: bytes | None = None) -> Verdict:
    result = rewrite(message if message is not None else wrap(sample), PLAN)
    text = placed_text(result.message, sample.format)
    at = text.find(MARK)
    if at < 0:
        return Verdict(sample, False, f"no signature ({result.outcome.value} {result.reason})")
    start = 0
    if sample.newest_last_line:
        newest = text.find(_normal(sample.newest_last_line))
        if newest < 0:
            return Verdict(sample, False, "newest text not found")
        start = newest + len(_normal(sample.newest_last_line))
        if at < start:
            return Verdict(sample, False, "signature above the end of the newest text")
    if sample.quote_first_line == "none":
        if text[at + len(MARK) :].strip():
            return Verdict(sample, False, "signature not at the end (no quote)")
        return Verdict(sample, True, "")
    quote = text.find(_normal(sample.quote_first_line), start)
    if quote < 0:
        return Verdict(sample, False, "quote's first line not found")
    if at > quote:
        where = "at the end" if not text[at + len(MARK) :].strip() else "inside the quote"
        return Verdict(sample, False, f"signature {where}, below the quote's first line")
    return Verdict(sample, True, "")


def judge_all(samples: list[Sample] | None = None, set_name: str = "replies") -> list[Verdict]:
    return [
        judge(sample) for sample in (samples if samples is not None else load_samples(set_name))
    ]


def shares(verdicts: list[Verdict], key) -> dict[str, tuple[int, int]]:
    """(right, total) per value of key(sample)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for verdict in verdicts:
        entry = counts[key(verdict.sample)]
        entry[0] += verdict.right
        entry[1] += 1
    return {name: (right, total) for name, (right, total) in sorted(counts.items())}
