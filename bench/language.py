"""Language detection of the newest text, measured on real replies and forwards.

usage: .venv/bin/python bench/language.py [--misses]

For each sample of tests/data/replies and tests/data/replies-unseen (manifests:
tests/data/SOURCES.md) the newest text (above the quote, found as the rewriter
finds it) goes through rewriter/language.py. The manifests' `language` is the
language the sample's mail client wrote the quote separator in; it is the
language of the newest text too except where that text is Lorem ipsum, a name
or empty, or where the sender wrote in another language than the client's
(NEWEST_TEXT_LANGUAGE below: read by hand, listed with the reason). So per set:
- right: detected == label; wrong: another language named; none: no answer
  (the relay then uses the group's default language);
- "of the answers": right / (right + wrong), how far a detected language can be trusted;
- on samples whose newest text has >= 8 words and no "Lorem ipsum" (text with a language).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from placement_judge import SETS, load_samples  # noqa: E402

from rewriter.language import STOP_WORDS, detect_language, newest_text_of_body  # noqa: E402

# Samples whose newest text we read and found in another language than the label
# (the label is the separator's: an English reply from a German Google Inbox).
# "": no newest text of its own (the quote was not found): left out.
NEWEST_TEXT_LANGUAGE = {
    "email_reply_trimmer/embedded_email_chinese.txt": "en",
    "email_reply_trimmer/embedded_email_dutch_1.txt": "en",
    "email_reply_trimmer/embedded_email_dutch_2.txt": "en",
    "email_reply_trimmer/embedded_email_french_2.txt": "",
    "email_reply_trimmer/embedded_email_german_1.txt": "en",
    "email_reply_trimmer/embedded_email_german_4.txt": "en",
    "email_reply_trimmer/embedded_email_german_5.txt": "en",
    "email_reply_trimmer/embedded_email_italian.txt": "en",
    "email_reply_trimmer/embedded_email_spanish_1.txt": "en",
    "email_reply_trimmer/embedded_email_swedish.txt": "en",
    "email_reply_trimmer/usenet.txt": "de",
    "mail-parser-reply/email_swedish_2.txt": "en",
    "edgetier-email-reply-parser/email_portuguese_1.txt": "en",
    "edgetier-email-reply-parser/email_portuguese_3.txt": "en",
    "edgetier-email-reply-parser/email_romanian_1.txt": "en",
}
_LOREM = re.compile(r"lorem ipsum|dolor sit amet|mollis ligula|aliquam", re.I)


def _has_language(text: str) -> bool:
    return len(re.findall(r"\w+", text)) >= 8 and not _LOREM.search(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every wrong answer")
    args = parser.parse_args()
    print(f"languages the detector knows: {', '.join(STOP_WORDS)}")
    for set_name in SETS:
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # right, wrong, none
        with_language = [0, 0, 0]
        for sample in load_samples(set_name):
            label = NEWEST_TEXT_LANGUAGE.get(sample.file, sample.language)
            if not label:
                continue
            newest = newest_text_of_body(sample.text(), sample.format == "html")
            found = detect_language(newest)
            slot = 2 if found is None else 0 if found == label else 1
            tally[label][slot] += 1
            tally["(all)"][slot] += 1
            if _has_language(newest) and label in STOP_WORDS:
                with_language[slot] += 1
            if slot == 1 and args.misses:
                print(f"  wrong: {sample.file} [{label}] -> {found}")
        _report(set_name, tally, with_language)


def _report(set_name: str, tally: dict[str, list[int]], with_language: list[int]) -> None:
    right, wrong, none = tally["(all)"]
    print(f"\n=== {set_name}: {right + wrong + none} samples")
    print(f"right {right}, wrong {wrong}, no answer {none}")
    answered = right + wrong
    print(f"right of the answers: {right}/{answered} = {100 * right / max(1, answered):.1f}%")
    r, w, n = with_language
    total = r + w + n
    print(
        f"newest text with a language we know (>= 8 words, no Lorem ipsum): "
        f"{r}/{total} = {100 * r / max(1, total):.1f}% right, {w} wrong, {n} no answer"
    )
    print("per label: right/wrong/none")
    for language, (r, w, n) in sorted(tally.items()):
        print(f"  {language:6} {r:4} {w:4} {n:4}")


if __name__ == "__main__":
    main()
