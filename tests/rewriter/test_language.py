"""The language of the newest text (rewriter/language.py): stop words above the quote."""

from __future__ import annotations

import base64

from rewriter.language import detect_language, message_language, newest_text
from tests.peers import corpus_messages, require_corpus


def _message(body: str, subtype: str = "plain") -> bytes:
    head = (
        "From: a@example.com\r\nTo: b@customer.test\r\nSubject: Re: hi\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + body.replace("\n", "\r\n")).encode()


def test_german_text_is_german():
    assert detect_language("Vielen Dank für die Unterlagen, ich melde mich bei Ihnen.") == "de"


def test_french_text_is_french():
    assert detect_language("Merci pour votre message, je vous réponds dans la journée.") == "fr"


def test_english_text_is_english():
    assert detect_language("Thanks for the update, we will have a look at it this week.") == "en"


def test_a_greeting_alone_gives_no_answer():
    assert detect_language("Hi Anna,") is None
    assert detect_language("") is None


def test_only_the_newest_text_counts_not_the_quote():
    body = (
        "Merci beaucoup, je vous envoie le contrat dans la journée.\n\n"
        "On Mon, 3 Feb 2025 at 10:00, Bob <bob@example.com> wrote:\n"
        "> Thanks for your call, please send the contract and the invoice when you can.\n"
        "> It was good to talk to you and we are looking forward to it.\n"
    )
    assert newest_text(_message(body)).strip().startswith("Merci")
    assert "contract" not in newest_text(_message(body))
    assert message_language(_message(body)) == "fr"


def test_html_newest_text_above_the_gmail_quote():
    body = (
        "<html><body><div>Vielen Dank, das ist eine gute Idee und wir machen das so.</div>"
        '<div class="gmail_quote">On Mon, Bob wrote:<blockquote>Thanks for the idea, '
        "it is the one we have been looking for and we will do it.</blockquote></div>"
        "</body></html>"
    )
    assert message_language(_message(body, "html")) == "de"


def test_unreadable_message_has_no_language():
    assert message_language(b"\xff\xfe not a message") is None


def _with_attachment(text: str, attachment: bytes, first: str = "text/plain") -> bytes:
    """multipart/mixed: a body part, then a large base64 attachment (or the other way round)."""

    encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    body_part = f"Content-Type: {first}; charset=utf-8\r\n\r\n{text}\r\n"
    file_part = (
        "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{encoded}"
    )
    parts = [body_part, file_part] if first == "text/plain" else [file_part, body_part]
    return (
        "From: a@example.com\r\nTo: b@customer.test\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        + "".join(f"--b1\r\n{part}" for part in parts)
        + "--b1--\r\n"
    ).encode()


def test_a_short_text_before_a_large_attachment_is_read():
    message = _with_attachment(
        "Vielen Dank für die Unterlagen, ich melde mich bei Ihnen.", b"x" * 200_000
    )
    assert message_language(message) == "de"
    assert newest_text(message) == newest_text(message, read_whole=True)


def test_a_text_after_a_large_attachment_is_still_found():
    # The beginning holds only the attachment: the whole message is read.
    message = _with_attachment(
        "Merci pour votre message, je vous réponds dans la journée.", b"x" * 200_000, first="x"
    )
    assert message_language(message) == "fr"


def test_a_long_plain_text_reads_the_same_first_characters_as_the_whole():
    body = "Thanks for the update, we will have a look at it this week.\n" * 2000
    message = _message(body + "\nOn Mon, 3 Feb 2025, Bob <bob@example.com> wrote:\n> Merci\n")
    assert len(message) > 100_000
    assert newest_text(message)[:4000] == newest_text(message, read_whole=True)[:4000]
    assert message_language(message) == "en"


def test_an_html_body_is_read_whole_since_a_plain_one_may_follow():
    html = "<html><head><style>" + "p{}" * 10_000 + "</style></head><body>Hello</body></html>"
    message = (
        "From: a@example.com\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        f"--b1\r\nContent-Type: text/html\r\n\r\n{html}\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Vielen Dank für die Unterlagen, ich melde mich bei Ihnen.\r\n--b1--\r\n"
    ).encode()
    assert message_language(message) == "de"


def test_the_corpus_gets_the_same_newest_text_as_when_read_whole():

    require_corpus()
    messages = corpus_messages()
    assert len(messages) > 100
    cut_short = 0
    for name, message in messages.items():
        whole = newest_text(message, read_whole=True)[:4000]
        assert newest_text(message)[:4000] == whole, name
        cut_short += len(message) > 20_000
    assert cut_short > 10  # the corpus holds messages the beginning is cut from


def test_a_single_part_body_reads_as_the_email_parser_reads_it():
    text = "Grüße aus Köln, vielen Dank für die Unterlagen, ich melde mich bei Ihnen.\r\n"
    encoded = base64.encodebytes((text * 400).encode("utf-8")).decode().replace("\n", "\r\n")
    for cte, body in (("base64", encoded), ("8bit", text * 400)):
        message = (
            "From: a@example.com\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
            + body
        ).encode()
        assert (
            newest_text(message)
            == newest_text(message, read_whole=True)[: len(newest_text(message))]
        )
        assert newest_text(message).startswith("Grüße aus Köln")
        assert message_language(message) == "de"
