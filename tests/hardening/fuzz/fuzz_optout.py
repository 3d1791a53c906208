"""Fuzz the opt-out form (tracker/optout.py): any token, Origin, content type
and body get a page with a status the handler means (200, 400, 403, 404, 503,
or aiohttp's own 4xx for a body it cannot parse), never an exception.

The input is four fields separated by NUL: token, Content-Type, Origin, body.
The handlers run against a real SQLite store in a scratch directory, so a
token that verifies takes the whole path to the opt-out list.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[2]), str(HERE)]

import atheris  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.streams import StreamReader  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402
from aiohttp.web_urldispatcher import UrlMappingMatchInfo  # noqa: E402
from multidict import CIMultiDict  # noqa: E402

with atheris.instrument_imports(include=["tracker.optout", "tracker.optout_texts"]):
    from tracker import optout

from fuzzing import main  # noqa: E402

from tracker.store import Store  # noqa: E402
from tracker.tokens import Keyring, Kind, Token, encode  # noqa: E402

KEYRING = Keyring({"t1": b"fuzz-optout-signing-key-32-bytes"}, current="t1")
LOOP = asyncio.new_event_loop()
EXPECTED = {200, 400, 403, 404, 413, 503}


class _Writer:
    def submit(self, record) -> None:  # the event writer: only counted here
        self.last = record


async def _handlers() -> optout._OptOutHandlers:
    folder = tempfile.mkdtemp(prefix="fuzz-optout-")
    store = await Store.open(f"sqlite+aiosqlite:///{folder}/store.db")
    await store.upgrade()
    clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731
    return optout._OptOutHandlers(
        KEYRING,
        store,
        b"p" * 32,
        _Writer(),
        clock,
        "https://t.example.com",
        lambda: "Example GmbH",
    )


HANDLERS = LOOP.run_until_complete(_handlers())


# make_mocked_request builds a dozen Mocks (2 ms); a clone of one is 0.05 ms.
# Its Mocks keep a record of every call a clone makes: a new one now and then
# keeps the memory flat (libFuzzer stops a run at 2 GB).
_FRESH_EVERY = 1000
_made = 0


def _base_request():
    return make_mocked_request("POST", "/u/x", headers={"Host": "t.example.com"}, loop=LOOP)


_BASE = _base_request()


class _Protocol:
    """What a StreamReader calls on its connection; a Mock would keep every
    call and grow until libFuzzer stops the run for its memory (2 GB)."""

    _reading_paused = False

    def pause_reading(self, **_: object) -> None:
        return None

    def resume_reading(self, **_: object) -> None:
        return None


_PROTOCOL = _Protocol()


def _request(method: str, token: str, content_type: str, origin: str, body: bytes):
    payload = StreamReader(_PROTOCOL, 2**16, loop=LOOP)
    payload.feed_data(body)
    payload.feed_eof()
    headers = CIMultiDict({"Host": "t.example.com", "Content-Type": content_type})
    if origin:
        headers["Origin"] = origin
    global _BASE, _made
    _made += 1
    if _made % _FRESH_EVERY == 0:
        _BASE = _base_request()
    request = _BASE.clone(method=method, headers=headers)
    request._payload = payload  # what the client sent
    request._match_info = UrlMappingMatchInfo({"token": token}, mock.sentinel.route)
    return request


def check(data: bytes) -> None:
    token, content_type, origin, body = (data.split(b"\0", 3) + [b"", b"", b""])[:4]
    fields = [f.decode("latin-1") for f in (token, content_type, origin)]
    if any(c in f for f in fields[1:] for c in "\r\n"):
        return  # a header value cannot hold a line end; aiohttp's parser never passes one
    for method, handler in (("POST", HANDLERS.confirm), ("GET", HANDLERS.show)):
        request = _request(method, fields[0], fields[1], fields[2], body)
        try:
            response = LOOP.run_until_complete(handler(request))
        except web.HTTPException as refused:  # aiohttp's own answer to a malformed body
            assert refused.status in EXPECTED, refused.status
            continue
        assert response.status in EXPECTED, response.status


def seeds() -> list[bytes]:
    tokens = [
        encode(Token(Kind.OPTOUT, "0123456789abcdef"), KEYRING),
        encode(Token(Kind.OPTOUT, "00" * 8, recipient="ab" * 12), KEYRING),
        "t1.garbage",
    ]
    forms = [
        (b"application/x-www-form-urlencoded", b"choice=anonymous"),
        (b"application/x-www-form-urlencoded", b"choice=untracked&x=%ff"),
        (b"application/x-www-form-urlencoded", b"choice=in"),
        (b"multipart/form-data; boundary=XX",
         b'--XX\r\nContent-Disposition: form-data; name="choice"\r\n\r\nanonymous\r\n--XX--\r\n'),
        (b"text/plain", b"choice=anonymous"),
    ]  # fmt: skip
    origins = [b"", b"null", b"https://t.example.com", b"https://evil.test"]
    return [
        b"\0".join([t.encode(), ct, origin, body])
        for t in tokens
        for ct, body in forms
        for origin in origins
    ]


if __name__ == "__main__":
    main(check, seeds)
