"""The words mail clients write above a quoted thread, per language: data, not code.

Gathered from the clients' own output as the test fixtures of reply parsers
record it (see tests/data/SOURCES.md): Outlook (desktop, 2019, new, live),
Gmail, Apple Mail, Thunderbird, Yahoo, HubSpot, Zoho, iOS and Android mailers.
`text_quotes` and `placement` compile them into a few alternations, so a line
costs one regex match whatever the number of languages.

To add a language, add its words to each table; nothing else changes.
"""

from __future__ import annotations

import re

# The verb of an attribution ("On ... Bob wrote:"), anywhere in the line; the line
# also carries an address or a date, and ends in ":" (Zoho: "wrote ----").
ATTRIBUTION_VERBS: dict[str, tuple[str, ...]] = {
    "en": ("wrote",),
    "de": ("schrieb", "geschrieben"),
    "fr": ("a écrit", "a ecrit"),
    "es": ("escribió", "escribio"),
    "it": ("ha scritto", "scritto"),
    "nl": ("schreef", "geschreven"),
    "pt": ("escreveu",),
    "ru": ("написал", "написала", "пишет"),
    "uk": ("пише", "написав", "написала"),
    "pl": ("napisał", "napisała", "napisana przez"),  # Apple Mail: "Wiadomość napisana przez"
    "cs": ("napsal", "napsala"),
    "sk": ("napísal", "napísala"),
    "hu": ("írta",),
    "da": ("skrev",),
    "no": ("skrev",),
    "sv": ("skrev",),
    "fi": ("kirjoitti",),
    "tr": ("yazdı",),
    "ro": ("a scris",),
    "hr": ("napisao", "napisala", "je napisao"),
    "et": ("kirjutas",),
    "zh": ("写道", "寫道"),
    "ja": ("書きました", "のメッセージ"),
    "ko": ("작성", "님이 작성"),
}

# The sender field of a quoted header block (Outlook, Gmail and Yahoo forwards).
FROM_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("From",),
    "de": ("Von",),
    "fr": ("De", "Expéditeur"),
    "es": ("De", "Remitente"),
    "it": ("Da", "Mittente"),
    "nl": ("Van", "Afzender"),
    "pt": ("De", "Remetente"),
    "ru": ("От", "Отправитель"),
    "uk": ("Від",),
    "pl": ("Od", "Nadawca"),
    "cs": ("Od", "Odesílatel"),
    "sk": ("Od", "Odosielateľ"),
    "hu": ("Feladó",),
    "da": ("Fra",),
    "no": ("Fra",),
    "sv": ("Från",),
    "fi": ("Lähettäjä",),
    "tr": ("Kimden", "Gönderen"),
    "ro": ("De la",),
    "hr": ("Šalje", "Od"),
    "et": ("Saatja",),
    "zh": ("发件人", "寄件者", "發件人"),
    "ja": ("差出人", "送信者"),
    "ko": ("보낸 사람", "보낸사람"),
}

_DATES = {
    "Sent", "Date", "Gesendet", "Datum", "Envoyé", "Enviado", "Enviada", "Fecha", "Inviato",
    "Data", "Verzonden", "Отправлено", "Дата", "Надіслано", "Wysłano", "Wysłane", "Odesláno",
    "Odoslané", "Dátum", "Elküldve", "Küldve", "Sendt", "Dato", "Skickat", "Lähetetty",
    "Päivämäärä", "Gönderildi", "Gönderilme", "Tarih", "Trimis", "Poslano", "Saadetud",
    "Kuupäev", "发送时间", "日期", "寄件日期", "送信日時", "日付", "보낸 날짜",
}  # fmt: skip

# The other fields of a header block: the date, recipients and subject.
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("Sent", "Date", "To", "Cc", "Subject"),
    "de": ("Gesendet", "Datum", "An", "Betreff", "Kopie"),
    "fr": ("Envoyé", "Date", "À", "A", "Objet", "Cc"),
    "es": ("Enviado", "Fecha", "Para", "Asunto", "CC"),
    "it": ("Inviato", "Data", "A", "Oggetto", "Cc"),
    "nl": ("Verzonden", "Datum", "Aan", "Onderwerp", "CC"),
    "pt": ("Enviado", "Enviada", "Data", "Para", "Assunto", "Cc"),
    "ru": ("Отправлено", "Дата", "Кому", "Тема", "Копия"),
    "uk": ("Надіслано", "Дата", "Кому", "Тема", "Копія"),
    "pl": ("Wysłano", "Wysłane", "Data", "Do", "Temat", "DW"),
    "cs": ("Odesláno", "Datum", "Komu", "Předmět", "Kopie"),
    "sk": ("Odoslané", "Dátum", "Komu", "Predmet", "Kópia"),
    "hu": ("Elküldve", "Küldve", "Dátum", "Címzett", "Tárgy", "Másolatot kap"),
    "da": ("Sendt", "Dato", "Til", "Emne", "Cc"),
    "no": ("Sendt", "Dato", "Til", "Emne", "Kopi"),
    "sv": ("Skickat", "Datum", "Till", "Ämne", "Kopia"),
    "fi": ("Lähetetty", "Päivämäärä", "Vastaanottaja", "Aihe", "Kopio"),
    "tr": ("Gönderildi", "Gönderilme", "Tarih", "Kime", "Konu", "Bilgi"),
    "ro": ("Trimis", "Data", "Către", "Subiect"),
    "hr": ("Poslano", "Datum", "Prima", "Predmet"),
    "et": ("Saadetud", "Kuupäev", "Saaja", "Teema"),
    "zh": ("发送时间", "日期", "收件人", "主题", "抄送", "寄件日期", "收件者", "主旨"),
    "ja": ("送信日時", "日付", "宛先", "件名", "CC"),
    "ko": ("보낸 날짜", "받는 사람", "제목", "참조"),
}

# The date field alone: the HTML reader wants it close below the sender field.
DATE_WORDS: dict[str, tuple[str, ...]] = {
    language: tuple(word for word in words if word in _DATES)
    for language, words in FIELD_WORDS.items()
}

# Titles of a forward or "original message" rule ("-----Original Message-----").
# Any titled rule followed by header fields counts too; these need no fields below.
BLOCK_TITLES: dict[str, tuple[str, ...]] = {
    "en": ("Original Message", "Forwarded message", "Begin forwarded message"),
    "de": ("Ursprüngliche Nachricht", "Weitergeleitete Nachricht", "Originalnachricht"),
    "fr": ("Message d'origine", "Message transféré", "Message transmis", "Message original"),
    "es": ("Mensaje original", "Mensaje reenviado"),
    "it": ("Messaggio originale", "Messaggio inoltrato"),
    "nl": ("Oorspronkelijk bericht", "Origineel bericht", "Doorgestuurd bericht"),
    "pt": ("Mensagem original", "Mensagem encaminhada", "Mensagem reencaminhada"),
    "ru": ("Исходное сообщение", "Пересылаемое сообщение", "Перенаправленное сообщение"),
    "uk": ("Вихідне повідомлення", "Переслане повідомлення", "Перенаправлене повідомлення"),
    "pl": ("Wiadomość oryginalna", "Przekazana wiadomość", "Oryginalna wiadomość"),
    "cs": ("Původní zpráva", "Přeposlaná zpráva"),
    "sk": ("Pôvodná správa", "Preposlaná správa"),
    "hu": ("Eredeti üzenet", "Továbbított üzenet"),
    "da": ("Oprindelig meddelelse", "Oprindelig besked", "Videresendt meddelelse"),
    "no": ("Opprinnelig melding", "Videresendt melding"),
    "sv": ("Ursprungligt meddelande", "Vidarebefordrat meddelande"),
    "fi": ("Alkuperäinen viesti", "Edelleenlähetetty viesti", "Välitetty viesti"),
    "tr": ("Özgün İleti", "Orijinal Mesaj", "İletilen ileti", "İletilmiş Mesaj"),
    "ro": ("Mesaj original", "Mesaj redirecționat"),
    "hr": ("Izvorna poruka", "Proslijeđena poruka"),
    "zh": ("原始邮件", "转发的邮件", "原始郵件"),
    "ja": ("元のメッセージ", "転送メッセージ", "メッセージを転送"),
    "ko": ("원본 메시지", "전달된 메시지"),
}


def alternation(table: dict[str, tuple[str, ...]]) -> str:
    """One regex alternation of every word of a table, longest first (so "De la"
    wins over "De"), spaces matching any run of blanks."""
    words = sorted({word for words in table.values() for word in words}, key=len, reverse=True)
    return "(?:" + "|".join(_escaped(word) for word in words) + ")"


def _escaped(word: str) -> str:
    return r"\s+".join(re.escape(part) for part in word.split())
