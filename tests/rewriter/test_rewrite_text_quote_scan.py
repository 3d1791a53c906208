"""Plain-text quote detection checks only the lines its prefilter picks, and finds
exactly the quote start that checking every line finds."""

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from rewriter import text_quotes
from rewriter.text_quotes import candidate_lines, text_quote_start

# Lines a reply is made of: attributions whole and wrapped, header blocks, rules,
# quotes, and text that merely looks a little like them.
_LINES = st.sampled_from(
    ["On Mon, 1 Jan 2024 at 10:00, Bob <b@x.test> wrote:", "On Mon, 1 Jan 2024 at 10:00,",
     "Bob <b@x.test> wrote:", "Am 1.1.2024 um 10:00 schrieb", "Hans <h@x.de>:",
     "Il 12 mar 2026 Luca ha scritto:", "Le 12 mars 2026, Jean a écrit :",
     "Dnia 28 lutego 2023 14:00 Anna <anna@example.com> napisał(a):", "Иван написал(а):",
     "2024/1/2 Bob <b@x.test>", "2024/01/02 9:00 Bob <b@x.test>", "1XXXXXXXX",
     "Begin forwarded message:",
     "---------- Forwarded message ---------", "-----Original Message-----",
     "________________________________", "From: Bob", "*From:* Bob", "Sent: Monday",
     "De : Jean", "Envoyé : lundi", "Von: Hans", "Gesendet: Montag", "> old text", " > old",
     ">", "", " ", "\t", "Hello", "Hi:", "1. item", "-- ", "a\n> b", "x:\n", "\xa0>",
     " Thanks:\xa0", "Dear Bob,"]
)  # fmt: skip
_REPLIES = st.lists(_LINES | st.text(alphabet=":>-_*1 \t\n\r@Onwrote", max_size=12), max_size=14)


def _quote_start_checking_every_line(text: str) -> int | None:
    """The obvious way: every line through the exact separator and quote checks."""
    lines = text.split("\n")  # a bare LF ends a line too (base64 bodies from web apps)
    offsets = [sum(map(len, lines[:i])) + i for i in range(len(lines))]
    last_text = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        separator = text_quotes._separator_kind(lines, index)
        if separator == "block":
            return offsets[text_quotes._include_rule_above(lines, index)]
        if separator == "attribution" or text_quotes._QUOTE_LINE.match(line):
            first = index + 1 if separator == "attribution" else index
            after = [i for i in range(first, last_text + 1) if lines[i].strip()]
            quoted = text_quotes.quoted_shape(lines, after)
            if all(quoted) or not any(quoted):
                return offsets[index]
            if text_quotes._footer_below_quote(lines, after, quoted):
                return offsets[index]  # quote, then a footer or disclaimer
            if any(
                text_quotes._separator_kind(lines, i)
                for i in after[1:]
                if not text_quotes._QUOTE_LINE.match(lines[i])
            ):
                return offsets[index]
            return None
    return None


def _smtp_source_text(lines: int = 2200) -> str:
    """The body Postfix's smtp-source sends by default: ~47 KB of short numbered lines."""
    return "".join(f"La de da de da {number}.\r\n" for number in range(1, lines + 1))


def _smtp_source_sized_text(size: int = 40960) -> str:
    """The body of `smtp-source -l 40960`: 80-character lines led by their number."""
    return "".join(f"{n}".ljust(79, "X") + "\r\n" for n in range(1, size // 81 + 1))


@given(_REPLIES)
def test_lines_the_prefilter_skips_are_neither_separators_nor_quotes(lines):
    text = "\r\n".join(lines)
    split = text.split("\n")
    picked = set(candidate_lines(text))
    for index in set(range(len(split))) - picked:
        assert text_quotes._separator_kind(split, index) is None
        assert not text_quotes._QUOTE_LINE.match(split[index])


@given(_REPLIES)
def test_quote_start_is_where_checking_every_line_finds_it(lines):
    text = "\r\n".join(lines)
    assert text_quote_start(text) == _quote_start_checking_every_line(text)


def test_long_text_without_quotes_needs_no_line_checked():
    text = _smtp_source_text()
    assert candidate_lines(text) == []
    assert text_quote_start(text) is None


def test_lines_led_by_numbers_need_no_check():
    text = _smtp_source_sized_text()
    assert candidate_lines(text) == []
    assert text_quote_start(text) is None


def test_long_reply_is_placed_where_checking_every_line_places_it():
    newest = _smtp_source_text()
    thread = "On Mon, 1 Jan 2024 at 10:00, Bob <b@x.test> wrote:\r\n" + "> old: 12:00\r\n" * 300
    text = newest + thread
    assert text_quote_start(text) == _quote_start_checking_every_line(text) == len(newest)


def test_each_line_is_checked_at_most_twice(monkeypatch):
    # Interleaved quotes and answers, each answer ending in ":" so every line is a
    # candidate: the worst case, where the answers below the first quote are checked
    # again for an older unquoted message.
    pair = "> Question 12:00?\r\nAnswer, see 1.2:\r\n"
    text = "Hello\r\n\r\n" + pair * 1100
    checked: Counter[int] = Counter()
    separator_kind = text_quotes._separator_kind

    def counting(lines: list[str], index: int) -> str | None:
        checked[index] += 1
        return separator_kind(lines, index)

    monkeypatch.setattr(text_quotes, "_separator_kind", counting)
    assert text_quote_start(text) is None  # interleaved: the signature ends the text
    assert len(checked) >= 1100  # every answer
    assert max(checked.values()) <= 2
