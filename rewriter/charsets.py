"""Charset labels as mail readers resolve them.

Thunderbird (encoding_rs), every browser-based webmail and Gmail resolve a
charset label through the WHATWG Encoding Standard's label table
(https://encoding.spec.whatwg.org/#names-and-labels): `utf8`, `latin1`,
`ks_c_5601-1987`, `x-sjis` ... each name one encoding. Python's codec names
overlap but differ, so we carry the table (data, no code of anyone's).

Two choices where WHATWG decodes with a superset of what the label says:

- `us-ascii`, `iso-8859-1` (and aliases), `iso-8859-9` and `tis-620` are read
  by readers as windows-1252/1254/874. We keep reading and writing them with
  the label's own codec, so the part's bytes stay exactly as they were and our
  additions are only written where the label allows them; `display_codec`
  says how readers show the bytes the label does not define, used when a part
  has to become UTF-8 (see `transfer.readable`).
- GB2312/GBK, Shift_JIS and EUC-KR are read as GB18030, windows-31j (cp932)
  and windows-949 (cp949), whose extension characters real mail uses.

Labels WHATWG maps to "replacement" (ISO-2022-KR, HZ, ISO-2022-CN) are shown
by browsers as a single U+FFFD: we do not decode them either (the part is left
byte for byte). Labels outside the table fall back to Python's codec registry
(UTF-7, which Thunderbird decodes in mail, `x-mac-*` families).
"""

from __future__ import annotations

import codecs
import re

# WHATWG Encoding Standard, "Names and labels" (encodings.json), keyed by the
# Python codec we use for them.
_WHATWG_LABELS: dict[str, str] = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "cp866": "866 cp866 csibm866 ibm866",
    "iso8859_2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 "
    "iso_8859-2:1987 l2 latin2",
    "iso8859_3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 "
    "iso_8859-3:1988 l3 latin3",
    "iso8859_4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 "
    "iso_8859-4:1988 l4 latin4",
    "iso8859_5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 "
    "iso_8859-5 iso_8859-5:1988",
    "iso8859_6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 "
    "iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 "
    "iso_8859-6:1987",
    "iso8859_7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 "
    "iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    "iso8859_8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 "
    "iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual csiso88598i iso-8859-8-i logical",
    "iso8859_10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso8859_13": "iso-8859-13 iso8859-13 iso885913",
    "iso8859_14": "iso-8859-14 iso8859-14 iso885914",
    "iso8859_15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso8859_16": "iso-8859-16",
    "koi8_r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8_u": "koi8-ru koi8-u",
    "mac_roman": "csmacintosh mac macintosh x-mac-roman",
    "cp874": "dos-874 windows-874",
    "iso8859_11": "iso-8859-11 iso8859-11 iso885911 tis-620",  # WHATWG: windows-874
    "cp1250": "cp1250 windows-1250 x-cp1250",
    "cp1251": "cp1251 windows-1251 x-cp1251",
    "cp1252": "cp1252 windows-1252 x-cp1252",
    "ascii": "ansi_x3.4-1968 ascii us-ascii",  # WHATWG: windows-1252
    "latin_1": "cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 iso88591 "
    "iso_8859-1 iso_8859-1:1987 l1 latin1",  # WHATWG: windows-1252
    "cp1253": "cp1253 windows-1253 x-cp1253",
    "cp1254": "cp1254 windows-1254 x-cp1254",
    "iso8859_9": "csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
    "iso_8859-9:1989 l5 latin5",  # WHATWG: windows-1254
    "cp1255": "cp1255 windows-1255 x-cp1255",
    "cp1256": "cp1256 windows-1256 x-cp1256",
    "cp1257": "cp1257 windows-1257 x-cp1257",
    "cp1258": "cp1258 windows-1258 x-cp1258",
    "mac_cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gb18030": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 "
    "x-gbk gb18030",
    "big5hkscs": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc_jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso2022_jp": "csiso2022jp iso-2022-jp",
    "cp932": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "cp949": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 "
    "ks_c_5601-1989 ksc5601 ksc_5601 windows-949",
    "utf-16-be": "unicodefffe utf-16be",
    "utf-16-le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16le",
    # WHATWG reads "utf-16" as UTF-16LE after BOM sniffing; Python's utf-16
    # does the same sniffing and keeps the BOM on re-encoding.
    "utf-16": "utf-16",
}
REPLACEMENT_LABELS = frozenset(
    ["csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"]
)
# Mail-only labels outside WHATWG that Python decodes: classic Mac OS charsets
# (Apple Mail up to 10.4 and Outlook for Mac sent them).
_MAIL_EXTRAS = {
    "x-mac-greek": "mac_greek",
    "x-mac-ce": "mac_latin2",
    "x-mac-centraleurroman": "mac_latin2",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-mac-croatian": "mac_croatian",
    "x-mac-romanian": "mac_romanian",
}
# Labels that say "we do not know" (RFC 1428 unknown-8bit, Outlook's x-unknown).
UNKNOWN_LABELS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", ""})

_LABELS: dict[str, str] = {
    label: codec for codec, labels in _WHATWG_LABELS.items() for label in labels.split()
}
_LABELS.update(_MAIL_EXTRAS)

# How readers show the bytes a strict label leaves undefined (WHATWG supersets).
DISPLAY_SUPERSETS = {
    "ascii": "cp1252",
    "latin_1": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
}

_COMMENT = re.compile(r"\([^()]*\)")


def clean_label(charset: str) -> str:
    """A label as written in mail, reduced to what the table is keyed by: no
    quotes, comments (RFC 2045 5.1), trailing ';' or spaces (Outlook, PHP mailers)."""
    label = _COMMENT.sub("", charset).strip().strip("\"'").split(";", 1)[0]
    return label.strip().strip("\"'").strip().lower()


def python_codec(charset: str) -> str | None:
    """The Python codec a label names, or None for a label nobody can decode
    (WHATWG "replacement") or one we do not know."""
    label = clean_label(charset)
    if label in REPLACEMENT_LABELS:
        return None
    codec = _LABELS.get(label)
    if codec is not None:
        return codec
    try:
        info = codecs.lookup(label)  # e.g. utf-7, iso-2022-jp-2, cp437
    except (LookupError, ValueError):  # ValueError: a NUL in the label (fuzz_rewriter)
        return None
    # "base64", "rot13", "zlib" are codecs too, but not of text.
    return info.name if getattr(info, "_is_text_encoding", True) else None
