"""The root of proxy/'s exceptions: `except ProxyError` catches every one of them.

Each message says what happened and, where an admin can do something about
it, what to do (the command line prints it as it is, without a traceback).
The classes live beside the code that raises them:

- `proxy.spool.SpoolError` (and `SpoolWriteError`: a message was not accepted)
- `proxy.auth.AuthUnavailable`, `proxy.auth.users.UsersFileError`
- `proxy.address_headers.MalformedHeader`
- `proxy.dkim.DkimKeyError`
- `proxy.workers.WorkerError`
"""

from __future__ import annotations


class ProxyError(Exception):
    """Something the relay could not do; the message says what and what to do."""
