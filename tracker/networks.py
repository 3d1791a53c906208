"""A fast "which listed network holds this address" table, and network list files.

Lists can be large (Apple's Private Relay egress list has hundreds of thousands
of prefixes), and a lookup runs on every tracker request: ranges are kept as
sorted integer bounds per IP version and found by bisection, not by walking
`ipaddress` objects.

List files (`sigrelay classify import`) live in `<data dir>/networks/<verdict>/`
as `<name>.txt`, one CIDR per line; the verdict is the directory's name.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from config.durable import SHARED, write_durably

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PeerNumber = tuple[int, int]  # (IP version, the address as an integer)
NETWORKS_DIR = "networks"


@dataclass(frozen=True)
class Listed:
    """What a listed network says about a request from it."""

    verdict: str
    images_only: bool  # e.g. Apple's relay also carries people who really click
    reason: str = ""  # the events' reason (tracker/classify.py); empty: by verdict


class _Ranges:
    """Sorted [start, end] integer ranges of one IP version. `max_end[i]` is the
    largest end among the first i+1 ranges, so a nested or overlapping range
    is found by walking back only while a range could still hold the address."""

    def __init__(self, items: list[tuple[int, int, Listed]]) -> None:
        items.sort(key=lambda item: (item[0], -item[1]))
        self.starts = [start for start, _, _ in items]
        self.ends = [end for _, end, _ in items]
        self.listed = [listed for _, _, listed in items]
        self.max_end: list[int] = []
        highest = -1
        for end in self.ends:
            highest = max(highest, end)
            self.max_end.append(highest)

    def find(self, value: int) -> Listed | None:
        index = bisect.bisect_right(self.starts, value) - 1
        while index >= 0 and self.max_end[index] >= value:
            if self.ends[index] >= value:
                return self.listed[index]
            index -= 1
        return None


class NetworkTable:
    def __init__(self, entries: Iterable[tuple[IpNetwork, Listed]] = ()) -> None:
        by_version: dict[int, list[tuple[int, int, Listed]]] = {4: [], 6: []}
        for network, listed in entries:
            start = int(network.network_address)
            by_version[network.version].append((start, start + network.num_addresses - 1, listed))
        self.size = len(by_version[4]) + len(by_version[6])
        self._v4 = _Ranges(by_version[4])
        self._v6 = _Ranges(by_version[6])

    def __len__(self) -> int:
        return self.size

    def find(self, address: IpAddress) -> Listed | None:
        return self.find_number(address.version, int(address))

    def find_number(self, version: int, number: int) -> Listed | None:
        return (self._v4 if version == 4 else self._v6).find(number)


def parse_egress_csv(lines: Iterable[str]) -> Iterator[IpNetwork]:
    """Networks from Apple's `egress-ip-ranges.csv` (`prefix,country,region,city,`),
    or any file whose first column is a CIDR; blank lines and `#` comments skipped.
    Raises ValueError naming the line that is not a network."""
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        prefix = text.split(",", 1)[0].strip()
        try:
            yield ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            raise ValueError(f"line {number}: {prefix!r} is not an IP network") from None


def write_list(data_dir: Path, verdict: str, name: str, networks: Iterable[IpNetwork]) -> Path:
    """Replace the list `name` of `verdict` atomically; returns its path."""
    directory = data_dir / NETWORKS_DIR / verdict
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.txt"
    text = "".join(f"{network}\n" for network in networks)
    write_durably(
        path, text.encode("ascii"), tmp_path=path.with_name(f".{path.name}.tmp"), mode=SHARED
    )
    return path


def read_lists(
    data_dir: Path, images_only: dict[str, bool], reasons: dict[str, str] | None = None
) -> Iterator[tuple[IpNetwork, Listed]]:
    """Every imported list under `<data dir>/networks/`; `images_only[verdict]`
    says whether a verdict's networks judge clicks too, `reasons[verdict]` the
    reason their events keep ("{name}" in it: the list's name)."""
    root = data_dir / NETWORKS_DIR
    for path in sorted(root.glob("*/*.txt")) if root.is_dir() else ():
        verdict = path.parent.name
        reason = (reasons or {}).get(verdict, "").replace("{name}", path.stem)
        listed = Listed(verdict, images_only.get(verdict, False), reason)
        with open(path, encoding="ascii") as handle:
            for network in parse_egress_csv(handle):
                yield network, listed
