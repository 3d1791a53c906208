"""Body decoding and re-encoding: charset and Content-Transfer-Encoding.

Rules (DESIGN "Rewriting rules", RFC 2045): keep the part's charset when the
new text encodes in it, else the part becomes UTF-8; keep the transfer-encoding
family (quoted-printable stays QP, base64 stays base64); 7bit/8bit text that
gains non-ASCII goes 8bit only when the upstream offers 8BITMIME, else QP.
Encoded lines stay <= 76 characters, every line <= 998 octets, CRLF: a body
we re-encode never keeps a line over 998 octets (RFC 5322 2.1.1), even when
the sender's part had one (7bit/8bit with a long line becomes quoted-printable).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from rewriter import charsets
from rewriter.errors import RewriteError

MAX_LINE = 998
_B64_LINE = 57  # 57 input bytes -> 76 base64 characters


class Undecodable(RewriteError):
    """The part's body cannot be decoded losslessly; it is left as it is."""


@dataclass(frozen=True)
class Encoded:
    body: bytes
    charset: str  # the charset the body is now in
    transfer_encoding: str  # "7bit", "8bit", "quoted-printable" or "base64"


# Transfer encodings whose body is the bytes themselves (RFC 2045 6.2).
IDENTITY_ENCODINGS = frozenset({"7bit", "8bit", "binary"})


def decode_body(raw: bytes, transfer_encoding: str, charset: str) -> str:
    """The text of a body part; raises Undecodable rather than guessing.

    `transfer_encoding` is canonical (`mime.canonical_transfer_encoding`).
    """
    if transfer_encoding == "base64":
        try:
            # Non-strict: characters outside the alphabet are ignored, as RFC 2045
            # 6.8 tells decoders to; a broken final quantum still raises.
            data = binascii.a2b_base64(raw, strict_mode=False)
        except binascii.Error as error:
            raise Undecodable(f"base64: {error}") from error
    elif transfer_encoding == "quoted-printable":
        data = binascii.a2b_qp(raw)
    elif transfer_encoding in IDENTITY_ENCODINGS:
        data = raw
    else:  # uuencode, yEnc: readers decode them, we cannot write them back
        raise Undecodable(f"transfer encoding {transfer_encoding!r}")
    codec = charsets.python_codec(charset)
    if codec is None and charsets.clean_label(charset) in charsets.REPLACEMENT_LABELS:
        # Browsers and Thunderbird show these as one U+FFFD: nothing to place into.
        raise Undecodable(f"charset {charset!r}")
    # surrogateescape keeps bytes that do not fit the declared charset (8-bit text
    # without a charset, mislabelled parts) exactly as they were on re-encoding.
    try:
        return data.decode(codec or "ascii", errors="surrogateescape")
    except UnicodeError as error:  # utf-16 with an odd length, stateful codecs
        raise Undecodable(f"charset {charset!r}: {error}") from error


def codec_for(charset: str) -> str:
    """The Python codec for a MIME charset label (WHATWG labels, see charsets);
    unknown names keep their bytes as ASCII + surrogate escapes."""
    return charsets.python_codec(charset) or "ascii"


# Bytes a strict label leaves undefined: C1 positions (0x80-0x9F) of the Latin
# charsets and the surrogate escapes of bytes that did not decode.
_UNDEFINED_BYTES = re.compile("[\x80-\x9f\udc80-\udcff]+")


def readable(text: str, charset: str) -> str:
    """`text` with the bytes its label leaves undefined decoded as readers show
    them, for a part that becomes UTF-8 (otherwise those bytes would turn into
    U+FFFD or control characters in the new charset).

    Readers show us-ascii and iso-8859-1 as windows-1252 (WHATWG); for a label
    they do not know, Thunderbird detects UTF-8 (chardetng) and else falls back
    to windows-1252.
    """
    codec = charsets.python_codec(charset)  # None: a label nobody knows
    superset = charsets.DISPLAY_SUPERSETS.get(codec or "")
    if superset is None and codec is not None:
        return text  # a known charset: its escapes are bytes nobody could read
    surrogates_only = codec not in ("latin_1", "iso8859_9", "iso8859_11")

    def shown(match: re.Match[str]) -> str:
        run = match.group(0)
        if surrogates_only and not run[0] >= "\udc80":
            return run
        data = bytes(ord(c) - 0xDC00 if c >= "\udc80" else ord(c) for c in run)
        if superset is None:  # an unknown label
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return "".join(_windows_1252_byte(b, superset or "cp1252") for b in data)

    return _UNDEFINED_BYTES.sub(shown, text)


def _windows_1252_byte(byte: int, codec: str) -> str:
    try:
        return bytes([byte]).decode(codec)
    except UnicodeDecodeError:  # WHATWG maps the five holes of cp1252 to C1
        return chr(byte)


def encode_body(text: str, transfer_encoding: str, charset: str, allow_8bit: bool) -> Encoded:
    """Encode text for a part that was `transfer_encoding`/`charset` before."""
    try:
        data = text.encode(codec_for(charset), errors="surrogateescape")
    except UnicodeEncodeError:  # the additions do not fit: the part becomes UTF-8
        text, charset = readable(text, charset), "utf-8"
        data = text.encode(charset, errors="surrogateescape")
    if transfer_encoding == "base64":
        return Encoded(base64_lines(data), charset, "base64")
    if transfer_encoding == "quoted-printable":
        return Encoded(_quoted_printable(data), charset, "quoted-printable")
    # 7bit/8bit text travels as lines: a line ends with CRLF and nothing else
    # (RFC 5322 2.3, RFC 5321 2.3.8). The part came CRLF-normalised, so a bare
    # LF here is one of ours that escaped line_ends.py: it becomes a line end.
    data = _crlf_line_ends(data)
    short_lines = not has_long_line(data)
    if data.isascii() and short_lines:
        return Encoded(data, charset, transfer_encoding or "7bit")
    if allow_8bit and short_lines:
        return Encoded(data, charset, "8bit")
    return Encoded(_quoted_printable(data), charset, "quoted-printable")


# An LF not after a CR. The literal comes first, so re scans for "\n" in C and
# checks the lookbehind only there: a fifth of the two counts it replaces.
_BARE_LF = re.compile(rb"\n(?<!\r\n)")


def _crlf_line_ends(data: bytes) -> bytes:
    """Bare LFs as CRLF; bare CRs (the sender's, kept by mime.to_crlf) stay."""
    if _BARE_LF.search(data) is None:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def has_long_line(data: bytes) -> bool:
    """Whether a line is longer than MAX_LINE octets (without its CRLF).

    Jumps from the last line end in each window of MAX_LINE + 2 bytes to the
    next window: a few C-speed searches per 50 KB instead of one per line.
    """
    position = 0
    size = len(data)
    while size - position > MAX_LINE:
        line_end = data.rfind(b"\n", position, position + MAX_LINE + 2)
        if line_end < 0 or line_end - position > MAX_LINE + 1:
            return True
        if (
            line_end - position == MAX_LINE + 1
            and data[line_end - 1 : line_end] != b"\r"
            and data.rfind(b"\n", position, line_end) < 0
        ):
            return True  # one line of 999 octets ended by a bare LF
        position = line_end + 1
    return False


def base64_lines(data: bytes) -> bytes:
    return b"".join(
        binascii.b2a_base64(data[i : i + _B64_LINE], newline=False) + b"\r\n"
        for i in range(0, len(data), _B64_LINE)
    )


def _quoted_printable(data: bytes) -> bytes:
    """QP with CRLF line ends and lines <= 76 characters (RFC 2045 6.7)."""
    lines = data.split(b"\r\n")
    encoded = [binascii.b2a_qp(line, quotetabs=False, istext=False) for line in lines]
    # b2a_qp writes soft breaks as "=\n"; the wire wants CRLF.
    return b"\r\n".join(line.replace(b"=\n", b"=\r\n") for line in encoded)
