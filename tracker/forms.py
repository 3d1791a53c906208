"""Reading a POSTed form that a client may have broken on purpose.

aiohttp's `request.post()` raises whatever its parsers raise on a body or a
Content-Type it cannot read: a urlencoded body not in its charset
(UnicodeDecodeError), a Content-Type parameter name ending in "*" (IndexError
in Python's email). Unhandled, each is a 500 and a traceback in the log. Found
by tests/hardening/fuzz/fuzz_optout.py; every form handler reads through here.
"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | web.FileField] | None:
    """The form, or None when the client sent one we cannot read (answer 400)."""
    try:
        return await request.post()
    except web.HTTPException:
        raise  # aiohttp's own answer (413: too large)
    except Exception:
        return None
