"""The misses issue 13 names, one behaviour each: the signature goes under the
newest text and above the first line of the quoted thread (or last, when what
follows the quote is only a footer's business), in text and in HTML."""

from __future__ import annotations

import base64

import pytest
from rewriter_plans import body_of, make_plan, message

from rewriter import LinkMode
from rewriter.rewrite import rewrite

PLAN = make_plan(link_mode=LinkMode.NONE, banner=None, pixel_url=None)
NEWEST = "Thanks, that works for me."
SIGNATURE = "Jane Roe"
OLD = "> The old message.\n> Second line."


def _placed(body: str, content_type: str = "text/plain") -> tuple[int, str]:
    """Where our signature sits in the rewritten body, and that body."""
    raw = message(body.replace("\n", "\r\n"), f"{content_type}; charset=utf-8")
    text = body_of(rewrite(raw, PLAN).message, content_type).replace("\r\n", "\n")
    return text.index(SIGNATURE), text


def _assert_between(body: str, quote_line: str, content_type: str = "text/plain") -> None:
    at, text = _placed(body, content_type)
    assert text.index(NEWEST) < at < text.index(quote_line), text


ATTRIBUTIONS = {
    "ru": "ср, 30 апр. 2025 г. в 15:19, Иван Петров <ivan@example.ru>:",
    "ru-outlook": '28.10.2021, 12:46 пользователь "Иван" <ivan@example.ru> написал:',
    "zh": "在 2016年12月12日，下午8:45，王伟 <wang@example.cn> 写道：",
    "ja": "2022年1月1日(金) 9:00 田中太郎 <taro@example.jp>:",
    "ko": "2021년 2월 2일 (화) 오전 8:33, 김민수 <minsu@example.kr>님이 작성:",
    "pl": "W dniu 2017-01-09 11:59:39 użytkownik Anna <anna@example.pl> napisał:",
    "cs": "Dne 28/10/2021 12:46, Jan Novák <jan@example.cz> napsal(a):",
    "hu": "2021. január 18., hétfő 1:34 keltezéssel, Kovács Anna írta:",
    "da": "Den 24. nov. 2025 kl. 10.00 skrev Peter Petersen <peter@example.dk>:",
    "fi": "John Doe <john@example.fi> kirjoitti 28/10/2021 12.46:",
    "sv": "ons 4 dec. 2024 kl. 20:42 skrev Person B <person.b@example.se>:",
    "no": "tir. 18. apr. 2017 kl. 13:09 skrev Ola Nordmann <ola@example.no>:",
    "pt": "Em 10 de julho de 2017 às 16:32:35, João <joao@example.pt> escreveu:",
    "tr": "Ali <ali@example.com.tr>, 26 Eyl 2026 Cmt 14:30 tarihinde şunu yazdı:",
}


@pytest.mark.parametrize("language", sorted(ATTRIBUTIONS))
def test_signature_goes_above_an_attribution_in_each_language(language):
    attribution = ATTRIBUTIONS[language]
    _assert_between(f"{NEWEST}\n\n{attribution}\n{OLD}\n", attribution)


@pytest.mark.parametrize("language", ["ru", "zh", "pl", "tr", "cs"])
def test_signature_goes_above_an_html_attribution_in_each_language(language):
    attribution = ATTRIBUTIONS[language].replace("<", "&lt;").replace(">", "&gt;")
    body = (
        f"<html><body><p>{NEWEST}</p><p>{attribution}</p><blockquote>Old</blockquote></body></html>"
    )
    at, text = _placed(body, "text/html")
    assert text.index(NEWEST) < at < text.index(attribution[:12]), text


HEADER_BLOCKS = {
    "zh": ("发件人: 王伟 <wang@example.cn>", "发送时间: 2021年10月28日 12:46", "主题: 你好"),
    "pl": ("Od: Anna <anna@example.pl>", "Wysłano: środa, 1 marca 2023 12:00", "Temat: Test"),
    "ru": ("От: Иван <ivan@example.ru>", "Отправлено: 28 октября 2021 г. 12:46", "Тема: Тест"),
    "hu": ("Feladó: Anna <anna@example.hu>", "Elküldve: 2021. október 28.", "Tárgy: Teszt"),
    "tr": ("Kimden: Ali <ali@example.com.tr>", "Gönderildi: 28 Ekim 2021", "Konu: Deneme"),
}


@pytest.mark.parametrize("language", sorted(HEADER_BLOCKS))
def test_signature_goes_above_a_localised_outlook_header_block(language):
    block = "\n".join(HEADER_BLOCKS[language])
    _assert_between(f"{NEWEST}\n\n{block}\n\nThe old message.\n", HEADER_BLOCKS[language][0])


@pytest.mark.parametrize("language", sorted(HEADER_BLOCKS))
def test_signature_goes_above_a_localised_outlook_header_block_in_html(language):
    fields = "<br>".join(
        f"<b>{k}:</b>{v}" for k, v in (f.split(":", 1) for f in HEADER_BLOCKS[language])
    )
    old = f"<div><p>{fields}</p><p>The old message.</p></div>"
    body = f"<html><body><p>{NEWEST}</p>{old}</body></html>"
    at, text = _placed(body, "text/html")
    assert text.index(NEWEST) < at < text.index(HEADER_BLOCKS[language][0].split(":")[0]), text


def test_signature_goes_above_zohos_dashed_attribution():
    line = "---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam <sam@example.com> wrote ----"
    _assert_between(f"{NEWEST}\n\n{line}\n\nThe old message.\n", line)


def test_signature_goes_above_a_bold_original_message_rule():
    rule = "*-------- Original Message --------*"
    block = f"{rule}\n*From:* Bob <bob@example.com>\n*Sent:* Monday\n"
    _assert_between(f"{NEWEST}\n\n{block}\nThe old message.\n", rule)


def test_signature_goes_above_name_and_address_wrote_without_a_date():
    line = "Some One <someone@example.com> wrote:"
    _assert_between(f"{NEWEST}\n\n{line}\n\n{OLD}\n", line)


def test_signature_goes_above_an_attribution_wrapped_over_three_lines():
    lines = 'Le 4 janv. 2016 19:03, "Neil Lalonde"\n<neil@example.com>\na écrit :'
    _assert_between(f"{NEWEST}\n\n{lines}\n\n{OLD}\n", "Le 4 janv.")


def test_signature_goes_above_mutts_forward_and_ignores_its_end_marker():
    body = (
        f"{NEWEST}\n\n----- Forwarded message from Bob <bob@example.com> -----\n\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0100\nFrom: Bob <bob@example.com>\n\n"
        "The old message.\n\n----- End forwarded message -----\n"
    )
    _assert_between(body, "----- Forwarded message from")


def test_signature_goes_above_the_quote_when_a_mailing_list_footer_follows_it():
    footer = "_______________________________________________\nriak-users mailing list\n"
    line = "On Mon, 1 Jan 2024 at 10:00, Bob <bob@example.com> wrote:"
    _assert_between(f"{NEWEST}\n\n{line}\n{OLD}\n\n{footer}", line)


def test_signature_goes_above_the_quote_when_a_disclaimer_follows_it():
    disclaimer = "This e-mail is confidential and meant for its intended recipient only."
    line = "On Mon, 1 Jan 2024 at 10:00, Bob <bob@example.com> wrote:"
    _assert_between(f"{NEWEST}\n\n{line}\n{OLD}\n\n{disclaimer}\n", line)


def test_bottom_posted_reply_under_a_quote_still_gets_the_signature_last():
    line = "On Mon, 1 Jan 2024 at 10:00, Bob <bob@example.com> wrote:"
    at, text = _placed(f"{line}\n{OLD}\n\n{NEWEST}\n")
    assert at > text.index(NEWEST)


def test_lf_base64_text_part_is_placed_as_its_crlf_twin():
    line = "On Mon, 1 Jan 2024 at 10:00, Bob <bob@example.com> wrote:"
    body = f"{NEWEST}\n\n{line}\n{OLD}\n"
    crlf = message(body.replace("\n", "\r\n"), "text/plain; charset=utf-8")
    lf_base64 = message(
        base64.encodebytes(body.encode()), "text/plain; charset=utf-8", cte="base64"
    )
    placed = []
    for raw in (crlf, lf_base64):
        text = body_of(rewrite(raw, PLAN).message, "text/plain").replace("\r\n", "\n")
        placed.append(text.index(SIGNATURE) < text.index(line))
        placed.append(text.index(NEWEST) < text.index(SIGNATURE))
    assert placed == [True] * 4
