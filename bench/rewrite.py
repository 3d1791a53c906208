"""Rewriter throughput and memory, beside altermime measured in the same run.

usage: .venv/bin/python bench/rewrite.py [--seconds 3] [--corpus DIR]

Prints messages per second for
  - every message of the corpus (if present),
  - a generated ~50 KB HTML message with 40 links (signature + banner + pixel,
    every link tracked),
  - altermime adding a disclaimer to the same message, one process per
    message as Postfix's content filter runs it,
and the peak memory of rewriting a 25 MB message with attachments (measured in
a fresh subprocess, above its baseline). Targets (issue 13): >= 3x altermime,
peak memory <= 4x the message size.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewriter import Banner, LinkMode, Plan, Signature  # noqa: E402
from rewriter.rewrite import rewrite  # noqa: E402

TRACKER = "http://127.0.0.1:8080"
PLAN = Plan(
    signature=Signature(
        html='<p>Jane Roe<br>Example GmbH | <a href="https://example.com/">example.com</a></p>',
        text="Jane Roe\nExample GmbH\nhttps://example.com/",
    ),
    banner=Banner(image_url=f"{TRACKER}/b/BANNER", alt="Spring", link_url="https://shop.test/"),
    pixel_url=f"{TRACKER}/o/PIXEL",
    link_mode=LinkMode.ALL,
    tag_link=lambda url: f"{TRACKER}/c/" + base64.urlsafe_b64encode(url.encode()).decode(),
    tracker_prefix=TRACKER,
)
DISCLAIMER_TEXT = "Jane Roe\nExample GmbH\nhttps://example.com/\n"
DISCLAIMER_HTML = (
    '<p>Jane Roe<br>Example GmbH | <a href="https://example.com/">example.com</a></p>\n'
)


def html_message(links: int = 40, size: int = 50_000) -> bytes:
    """A newsletter-like HTML message of about `size` bytes with `links` links."""
    paragraphs = []
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. "
    for index in range(links):
        paragraphs.append(
            f'<p class="MsoNormal" style="margin:0 0 8px 0">{filler * 3}'
            f'<a href="https://news.example.org/article/{index}?utm_source=mail&amp;id={index}">'
            f"Article {index}</a><o:p></o:p></p>\r\n"
        )
    body = "".join(paragraphs)
    while len(body) < size - 400:
        body += f"<p>{filler * 4}</p>\r\n"
    document = (
        "<html><head><meta charset=utf-8><!--[if mso]><style>p{margin:0}</style><![endif]-->"
        f"</head><body>\r\n{body}</body></html>\r\n"
    )
    headers = (
        "From: jane@example.com\r\nTo: bob@customer.test\r\nSubject: News\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
    )
    return headers.encode() + document.encode()


def big_message(size: int = 25_000_000) -> bytes:
    """A text+HTML message with base64 attachments adding up to `size` bytes."""
    attachment = base64.encodebytes(os.urandom(3_000_000)).replace(b"\n", b"\r\n")
    parts = [
        b"From: jane@example.com\r\nTo: bob@customer.test\r\nSubject: Files\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Files</p></body></html>\r\n"
    ]
    total = sum(map(len, parts))
    index = 0
    while total < size:
        part = (
            "--m\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            f'Content-Disposition: attachment; filename="f{index}.bin"\r\n\r\n'
        ).encode() + attachment
        parts.append(part)
        total += len(part)
        index += 1
    parts.append(b"--m--\r\n")
    return b"".join(parts)


def rate(function, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function()
        count += 1
    return count / (time.perf_counter() - start)


def corpus_rate(corpus: Path, seconds: float) -> tuple[float, int] | None:
    if not corpus.is_dir():
        return None
    messages = [
        p.read_bytes()
        for p in sorted(corpus.rglob("*"))
        if p.is_file() and p.suffix not in (".md", ".py", ".tsv", ".html")
    ]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for raw in messages:
            rewrite(raw, PLAN)
        count += len(messages)
    return count / (time.perf_counter() - start), len(messages)


def altermime_rate(message: bytes, seconds: float) -> float | None:
    binary = shutil.which("altermime")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as directory:
        text, html = Path(directory, "d.txt"), Path(directory, "d.html")
        text.write_text(DISCLAIMER_TEXT)
        html.write_text(DISCLAIMER_HTML)
        mail = Path(directory, "mail.eml")

        def once() -> None:
            mail.write_bytes(message)  # altermime edits in place, like the Postfix filter
            subprocess.run(
                [binary, f"--input={mail}", f"--disclaimer={text}", f"--disclaimer-html={html}",
                 "--htmltoo"],
                check=True, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip

        return rate(once, seconds)


def peak_memory_child() -> None:
    """Run in a fresh process: print message size and the peak of memory allocated
    while rewriting it (tracemalloc: Python allocations, the message excluded)."""
    raw = big_message()
    tracemalloc.start()
    result = rewrite(raw, PLAN)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(len(raw), peak, result.outcome.value)


# ../shared/corpus beside the repository
SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(__file__).resolve().parents[1].parent / "shared" / "corpus",
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.memory_child:
        peak_memory_child()
        return

    corpus = corpus_rate(options.corpus, options.seconds)
    if corpus is None:
        print(f"corpus: absent at {options.corpus}")
    else:
        print(f"corpus ({corpus[1]} files): {corpus[0]:8.0f} msg/s")

    message = html_message()
    result = rewrite(message, PLAN)
    tracked = result.message.count(f"{TRACKER}/c/".encode())
    print(f"generated HTML: {len(message)} bytes, {tracked} tracked links, {result.outcome.value}")
    ours = rate(lambda: rewrite(message, PLAN), options.seconds)
    print(f"sigrelay rewriter:        {ours:8.0f} msg/s")
    theirs = altermime_rate(message, options.seconds)
    if theirs is None:
        print("altermime: absent (apt-get install altermime to compare)")
    else:
        print(f"altermime (1 proc/msg):   {theirs:8.0f} msg/s")
        print(f"ratio sigrelay/altermime: {ours / theirs:8.2f}x (target >= 3x)")

    child = subprocess.run(
        [sys.executable, __file__, "--memory-child"], check=True, capture_output=True, text=True
    )
    size, peak, outcome = child.stdout.split()
    print(
        f"25 MB message: {int(size) / 1e6:.1f} MB, peak allocated while rewriting "
        f"{int(peak) / 1e6:.1f} MB "
        f"= {int(peak) / int(size):.2f}x its size ({outcome}; target <= 4x)"
    )


if __name__ == "__main__":
    main()
