"""The one exception family of config/: every error says where and what to do.

An admin reads these on the terminal (`sigrelay check`) or in the log when a
live reload is rejected, so each carries the file (and line where we know it),
the field path in the TOML/CSV, the reason, and a hint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path


class ConfigError(Exception):
    """One problem in the configuration.

    `file` is the file (or "environment variable X") the bad value came from,
    `field` the dotted path of the value (`groups[1].privacy`, `row 4: email`),
    `line` the 1-based line in `file` when known.
    """

    def __init__(
        self,
        file: str | Path,
        field: str | None,
        reason: str,
        *,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = str(file)
        self.field = field
        self.reason = reason
        self.line = line
        self.hint = hint
        super().__init__(self.message)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def message(self) -> str:
        text = self.location
        if self.field:
            text += f": {self.field}"
        text += f": {self.reason}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def __repr__(self) -> str:
        return f"ConfigError({self.message!r})"


class ConfigErrors(ConfigError):
    """Several problems found in one pass; `errors` lists them in file order."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors = list(errors)
        if not self.errors:
            raise ValueError("ConfigErrors needs at least one error")
        first = self.errors[0]
        super().__init__(first.file, first.field, first.reason, line=first.line, hint=first.hint)

    @property
    def message(self) -> str:
        return "\n".join(error.message for error in self.errors)

    def __iter__(self) -> Iterator[ConfigError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)


def raise_if_any(errors: list[ConfigError]) -> None:
    """Raise all collected errors at once (always as ConfigErrors, so callers
    catching ConfigError get the first one's file/field and the full list)."""
    if errors:
        raise ConfigErrors(errors)
