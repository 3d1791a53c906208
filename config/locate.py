"""Line numbers for TOML keys, so validation errors can say file:line.

tomllib returns plain dicts without positions. This scanner walks the text
once and records, for each table header and each `key =` line, the path
pydantic would report for it: `[relay]` + `listen = …` → ("relay",
"listen"); the second `[[groups]]` → ("groups", 1). Keys inside inline tables
and multi-line arrays map to the line of the key that opens them, which is
close enough for an admin to find the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _names(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in dotted.split(".")]


def key_lines(text: str) -> dict[Path, int]:
    lines: dict[Path, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    current: Path = ()

    def resolve(names: list[str], new_array_item: bool) -> Path:
        path: list[str | int] = []
        for depth, name in enumerate(names):
            path.append(name)
            prefix = tuple(names[: depth + 1])
            last = depth == len(names) - 1
            if last and new_array_item:
                array_counts[prefix] = array_counts.get(prefix, 0) + 1
                path.append(array_counts[prefix] - 1)
            elif prefix in array_counts:  # inside the latest item of an array of tables
                path.append(array_counts[prefix] - 1)
        return tuple(path)

    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_HEADER.match(line):
            current = resolve(_names(match.group(1)), new_array_item=True)
            lines.setdefault(current, number)
        elif match := _TABLE_HEADER.match(line):
            current = resolve(_names(match.group(1)), new_array_item=False)
            lines.setdefault(current, number)
        elif match := _KEY.match(line):
            lines.setdefault((*current, *_names(match.group(1))), number)
    return lines


def line_of(lines: dict[Path, int], location: Sequence[str | int]) -> int | None:
    """The line of the longest known prefix of `location`."""
    for end in range(len(location), 0, -1):
        if (found := lines.get(tuple(location[:end]))) is not None:
            return found
    return None


def field_path(location: Sequence[str | int]) -> str:
    """("groups", 1, "match", 0, "address") → "groups[1].match[0].address"."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
