"""Shapes of quoted threads first met in tests/data/replies-unseen (issue 13), one
behaviour each: the signature goes under the newest text and above the first line
of the quoted thread, in plain text and in HTML."""

from __future__ import annotations

from rewriter_plans import body_of, message

# The same placement check as the misses issue 13 names.
from test_placement_known_misses import NEWEST, PLAN, SIGNATURE, _assert_between

from rewriter.rewrite import rewrite


def test_signature_goes_above_apple_mail_polish_attribution():
    quote = "Wiadomość napisana przez Anna anna@example.pl w dniu 17.01.2023, o godz. 11:09:"
    _assert_between(f"{NEWEST}\n{quote}\nStara wiadomość.\n", quote)


def test_signature_goes_above_polish_webmail_header_on_one_line():
    quote = 'Temat: RE: Oferta 2023-01-17 13:46Nadawca: "Anna" anna@example.pl Adresat:'
    _assert_between(f"{NEWEST}\n{quote}\nStara wiadomość.\n", quote)


def test_signature_goes_above_attribution_without_colon_over_a_header_block():
    quote = "Am 20.06.24 um 16:20 schrieb Beispiel GmbH - Kundendienst"
    body = f"{NEWEST}\n{quote}\nVon: Beispiel GmbH\nDatum: 20. Juni 2024\nAn: Kunde\n\nAlt.\n"
    _assert_between(body, quote)


def test_signature_goes_above_dated_field_and_rule_over_a_french_header_block():
    body = (
        f"{NEWEST}\n\n====================\n\nMessage du : 12/12/2016 13:20\n"
        'De : "Support" <support@example.fr>\nA : client@example.fr\nSujet : Bonjour\n\nAncien.\n'
    )
    _assert_between(body, "====================")


def test_signature_goes_above_gmx_quote_div():
    body = (
        f'<div>{NEWEST}</div><div>&nbsp;<div name="quote" style="margin:10px 5px 5px 10px">'
        "<div><b>Gesendet:</b>&nbsp;Montag, 10. April 2017 um 12:40 Uhr<br/>"
        "<b>Von:</b>&nbsp;support@example.org<br/><b>An:</b>&nbsp;kunde@example.de</div>"
        "<div>Alt.</div></div></div>"
    )
    _assert_between(body, "Gesendet:", "text/html")


def test_signature_goes_above_outlook_header_with_colon_outside_the_bold_word():
    body = (
        f'<p>{NEWEST}</p><hr size="2" width="100%"><font face="Tahoma" size="2">'
        "<b>From</b>: Amber Weaver <br><b>To</b>: all@example.com<br>"
        "<b>Sent</b>: Tue Feb 02 12:00:05 2010<br><b>Subject</b>: Close date<br></font>"
        "<div>Old text.</div>"
    )
    _assert_between(body, "From</b>", "text/html")


def test_signature_goes_above_korean_outlook_header_block():
    quote = "보낸 사람: 김민수 <minsu@example.kr>"
    fields = "보낸 날짜: 2024년 1월 1일 월요일 오전 9:00\n받는 사람: 홍길동\n제목: 일정"
    body = f"{NEWEST}\n\n{quote}\n{fields}\n\n이전\n"
    _assert_between(body, quote)


def test_signature_goes_above_korean_outlook_html_header_block():
    body = (
        f'<div>{NEWEST}</div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>보낸 사람:</b> 김민수<br>'
        "<b>보낸 날짜:</b> 2024년 1월 1일 월요일 오전 9:00<br><b>제목:</b> 일정</div>"
        "<div>이전</div>"
    )
    _assert_between(body, "보낸 사람:", "text/html")


def test_signature_goes_above_chinese_outlook_html_header_block_without_marker():
    body = (
        f"<p>{NEWEST}</p><p><b>发件人:</b> 王伟 &lt;wang@example.cn&gt;<br>"
        "<b>发送时间:</b> 2024年1月1日 9:00<br><b>收件人:</b> 李雷<br><b>主题:</b> 会议</p>"
        "<p>旧</p>"
    )
    _assert_between(body, "发件人:", "text/html")


def test_signature_goes_above_japanese_outlook_header_block():
    quote = "差出人: 田中太郎 <taro@example.jp>"
    body = f"{NEWEST}\n\n{quote}\n送信日時: 2024年1月1日 9:00\n宛先: 鈴木\n件名: 会議\n\n以前\n"
    _assert_between(body, quote)


def test_signature_goes_above_gmail_korean_attribution_in_html():
    body = (
        f'<div dir="ltr">{NEWEST}</div><br><div class="gmail_quote"><div dir="ltr" '
        'class="gmail_attr">2024년 1월 1일 (월) 오전 9:00, '
        "김민수 &lt;minsu@example.kr&gt;님이 작성:<br>"
        "</div><blockquote>이전</blockquote></div>"
    )
    _assert_between(body, "2024년 1월 1일", "text/html")


def test_signature_goes_above_gmail_traditional_chinese_attribution_in_text():
    quote = "Bob <bob@example.tw> 於 2024年1月1日 週一 上午9:00寫道："
    _assert_between(f"{NEWEST}\n\n{quote}\n\n> 以前\n", quote)


def test_sentence_with_verb_and_date_above_a_header_block_stays_newest_text():
    sentence = "Wie ich Ihnen am 12.03. um 10:00 geschrieben habe, passt der Termin."
    body = f"{sentence}\nVon: Beispiel GmbH\nDatum: 20. Juni 2024\nAn: Kunde\n\nAlt.\n"
    raw = message(body.replace("\n", "\r\n"), "text/plain; charset=utf-8")
    text = body_of(rewrite(raw, PLAN).message, "text/plain").replace("\r\n", "\n")
    assert len(sentence) < text.index(SIGNATURE) < text.index("Von: Beispiel GmbH"), text
