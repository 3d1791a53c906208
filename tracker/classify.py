"""Who fetched a tracker URL: a person, or a machine acting around them.

The verdict of a request comes from the request alone: its method, its user
agent and its client address, against the rules in `tracker/machines.toml`
(with sources), the admin's `machines.toml` in the config directory, and the
network lists imported into the data directory (`sigrelay classify import`).
Timing rules (a click seconds after sending, many links at once) need the
copy's history and are applied when events are written (tracker/store/timing.py).
Only the verdict and its reason are kept; the request itself never reaches
the store.

Reasons (DESIGN.md "Tokens and the tracker"): `human`; `proxy:<provider>`
(the rule's `provider`, e.g. `proxy:gmail`); `prefetch:apple`; `scanner:agent`
(a known agent), `scanner:network` (a listed network), `scanner:head` (a HEAD
request). The timing rules add `scanner:early` and `scanner:burst`. A reason
names a rule, never the request: no address, no agent string.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from tracker.networks import IpAddress, IpNetwork, Listed, NetworkTable, PeerNumber, read_lists

ADMIN_FILE = "machines.toml"
AGENT_CACHE_SIZE = 4096  # distinct user agents are few; a dict beats 40 substring scans


class Verdict(StrEnum):
    HUMAN = "human"
    PROXY = "proxy"  # a mail provider's image proxy: fetches on a real open (cached)
    PREFETCH = "prefetch"  # fetched for the recipient whether they look or not (Apple MPP)
    SCANNER = "scanner"  # security scanners and link checkers: nobody opened or clicked


MACHINE_VERDICTS = (Verdict.PROXY, Verdict.PREFETCH, Verdict.SCANNER)
# Imported lists: image proxies and Apple's relay only tell about images (people
# browse through Apple's relay too); scanner networks judge clicks as well.
IMAGES_ONLY = {Verdict.PROXY.value: True, Verdict.PREFETCH.value: True}


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the entry."""


HUMAN_REASON = "human"
HEAD_REASON = "scanner:head"
_REASON_CHARS = 32  # events.reason's width
# The reason of a rule without a `provider`: by its verdict and the kind of rule.
_AGENT_REASON = {
    Verdict.PROXY: "proxy:other",
    Verdict.PREFETCH: "prefetch:apple",
    Verdict.SCANNER: "scanner:agent",
}
_NETWORK_REASON = {
    Verdict.PROXY.value: "proxy:other",
    Verdict.PREFETCH.value: "prefetch:apple",
    Verdict.SCANNER.value: "scanner:network",
}


def rule_reason(verdict: Verdict, provider: object, by_agent: bool) -> str:
    """A rule's reason: `<verdict>:<provider>` when the rule names one (proxies
    and prefetchers: which mail provider), else by verdict and kind of rule."""
    if isinstance(provider, str) and provider.strip() and verdict is not Verdict.SCANNER:
        name = "".join(c for c in provider.strip().lower() if c.isalnum() or c in "-_.")
        return f"{verdict.value}:{name}"[:_REASON_CHARS]
    return (_AGENT_REASON if by_agent else _NETWORK_REASON)[verdict]


@dataclass(frozen=True)
class AgentRule:
    contains: str  # lower-cased substring of the User-Agent
    verdict: Verdict
    reason: str = ""  # empty: by verdict (rule_reason)

    def __post_init__(self) -> None:
        if not self.reason:
            object.__setattr__(self, "reason", rule_reason(self.verdict, None, by_agent=True))


class Classifier:
    def __init__(self, agents: Iterable[AgentRule], networks: NetworkTable | None = None) -> None:
        self.agents = tuple(agents)
        self.networks = networks or NetworkTable()
        self._by_agent: dict[str, str] = {}  # user agent -> reason

    def verdict(
        self,
        method: str,
        user_agent: str | None,
        address: IpAddress | None = None,
        image: bool = True,
        *,
        number: PeerNumber | None = None,
    ) -> Verdict:
        """The verdict for one request; `image` is False for clicks. The client's
        address as an ipaddress object, or as `number` (clientip.peer_number:
        the request handlers' cheaper form). Pure apart from a cache: the same
        facts give the same verdict."""
        reason = self.reason(method, user_agent, address, image, number=number)
        return Verdict(reason.partition(":")[0])

    def reason(
        self,
        method: str,
        user_agent: str | None,
        address: IpAddress | None = None,
        image: bool = True,
        *,
        number: PeerNumber | None = None,
    ) -> str:
        """Why one request is a person's or a machine's: the reason of the rule
        that fired (the verdict is its part before the colon), `human` if none."""
        agent = self._agent_reason(user_agent or "")
        if agent != HUMAN_REASON:
            return agent
        # A HEAD asks whether the URL exists without looking at it: link checkers do, people don't.
        if method != "GET" and method.upper() == "HEAD":
            return HEAD_REASON
        if address is not None:
            number = (address.version, int(address))
        if number is not None and self.networks.size:
            listed = self.networks.find_number(*number)
            if listed is not None and (image or not listed.images_only):
                return listed.reason or _NETWORK_REASON[listed.verdict]
        return HUMAN_REASON

    def _agent_reason(self, user_agent: str) -> str:
        reason = self._by_agent.get(user_agent)
        if reason is None:
            lowered = user_agent.lower()
            reason = next((r.reason for r in self.agents if r.contains in lowered), HUMAN_REASON)
            if len(self._by_agent) >= AGENT_CACHE_SIZE:
                self._by_agent.clear()  # a flood of made-up agents must not grow memory
            self._by_agent[user_agent] = reason
        return reason


def _read_rules(text: str, source: str) -> tuple[list[AgentRule], list[tuple[IpNetwork, Listed]]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: {exc}") from None
    agents: list[AgentRule] = []
    for number, entry in enumerate(data.get("agent", []), 1):
        where = f"{source}: [[agent]] #{number}"
        contains = entry.get("contains")
        if not isinstance(contains, str) or not contains.strip():
            raise RulesError(f"{where}: `contains` must be a non-empty string")
        verdict = _machine_verdict(entry.get("verdict"), where)
        reason = rule_reason(verdict, entry.get("provider"), by_agent=True)
        agents.append(AgentRule(contains.lower(), verdict, reason))
    networks: list[tuple[IpNetwork, Listed]] = []
    for number, entry in enumerate(data.get("network", []), 1):
        where = f"{source}: [[network]] #{number}"
        try:
            network = ipaddress.ip_network(str(entry.get("cidr")), strict=False)
        except ValueError:
            raise RulesError(f"{where}: `cidr` {entry.get('cidr')!r} is not a network") from None
        applies_to = entry.get("applies_to", "all")
        if applies_to not in ("all", "images"):
            raise RulesError(f'{where}: `applies_to` must be "all" or "images"')
        verdict = _machine_verdict(entry.get("verdict"), where)
        reason = rule_reason(verdict, entry.get("provider"), by_agent=False)
        networks.append((network, Listed(verdict.value, applies_to == "images", reason)))
    return agents, networks


def _machine_verdict(value: object, where: str) -> Verdict:
    if value not in {v.value for v in MACHINE_VERDICTS}:
        names = ", ".join(v.value for v in MACHINE_VERDICTS)
        raise RulesError(f"{where}: `verdict` must be one of {names}, got {value!r}")
    return Verdict(str(value))


def shipped_rules_text() -> str:
    return resources.files("tracker").joinpath(ADMIN_FILE).read_text("utf-8")


def load_classifier(config_dir: Path | None = None, data_dir: Path | None = None) -> Classifier:
    """The shipped rules, then the admin's `<config dir>/machines.toml`, then the
    network lists imported into `<data dir>/networks/`."""
    agents, networks = _read_rules(shipped_rules_text(), "tracker/machines.toml")
    admin = config_dir / ADMIN_FILE if config_dir is not None else None
    if admin is not None and admin.is_file():
        more_agents, more_networks = _read_rules(admin.read_text("utf-8"), str(admin))
        agents += more_agents
        networks += more_networks
    if data_dir is not None:
        networks.extend(read_lists(data_dir, IMAGES_ONLY))
    return Classifier(agents, NetworkTable(networks))


_SHIPPED: Classifier | None = None


def classify(method: str, user_agent: str | None) -> Verdict:
    """The verdict by the shipped agent rules and the method alone."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = load_classifier()
    return _SHIPPED.verdict(method, user_agent)
