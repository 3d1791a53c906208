"""The root of tracker/'s exceptions: `except TrackerError` catches every one of them.

Each message says what happened and, where an admin can do something about
it, what to do (the command line prints it as it is, without a traceback).
The classes live beside the code that raises them:

- `tracker.tokens.TokenError` (a keyring or token that cannot be built)
- `tracker.pseudonym.PseudonymKeyError`
- `tracker.classify.RulesError` (a rules file that cannot be used)
- `tracker.store.store.StoreError` (the store used wrongly; a database that is
  down raises SQLAlchemy's own errors, which the command line explains too)
"""

from __future__ import annotations


class TrackerError(Exception):
    """Something the tracker could not do; the message says what and what to do."""
