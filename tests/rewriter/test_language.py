"""The language of the newest text (rewriter/language.py): stop words above the quote."""

from __future__ import annotations

from rewriter.language import detect_language, message_language, newest_text


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
