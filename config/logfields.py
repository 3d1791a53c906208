"""Client-supplied values in log lines: one escaping function for every one of them.

Log lines are `key=value` and are read by people, grep and fail2ban. A value
a client chose (an AUTH user name, a MAIL FROM address, a HELO name, a user
agent, a path) may contain CR, LF, NUL or terminal escapes; written as it is,
`user=x\\n... auth-failed client=203.0.113.9` would start a second, forged
line that fail2ban believes. `quoted()` makes every value one token on one
line: control characters (C0, DEL, C1 and the Unicode line and paragraph
separators) become `\\n`, `\\x1b`, `\\u2028` ...; a backslash becomes `\\\\`,
so an escape the client typed cannot pass for one we wrote; a value with a
space, `"` or `=` (or an empty one) is put in double quotes, so
`user=a client=6.6.6.6` cannot pass for two fields.

Lives in config/ because proxy/ and tracker/ both import config and neither
may import the other; it knows nothing of sockets or files.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, what str.splitlines() also breaks on, and lone
# surrogates (bytes that were not UTF-8, kept by surrogateescape), which a
# UTF-8 log stream could not even write.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}
_NEEDS_QUOTES = re.compile(r'[\s"=]')


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` with its control characters escaped (backslashes left as they are):
    the last line of defence for a whole formatted log message."""
    return _CONTROL.sub(_escape_control, text)


def quoted(value: object) -> str:
    """One client-supplied value as one unambiguous token of a key=value log line."""
    text = one_line(str(value).replace("\\", "\\\\"))
    if not text or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '\\"') + '"'
    return text
