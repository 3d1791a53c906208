"""Who fetched a tracker URL: a person, or a machine acting around them.

The verdict of a request comes from the request alone: its method, its user
agent and its client address, against the rules in `tracker/machines.toml`
(with sources), the admin's `machines.toml` in the config directory, and the
network lists imported into the data directory (`sigrelay classify import`).
Timing rules (a click seconds after sending, many links at once) need the
copy's history and are applied when events are written (tracker/store/timing.py).
Beneath our rules, tracker/agents.py (a maintained detector and our shape rules)
judges agents no rule names. Only the verdict and its reason (`Reason`) are
kept; the request itself never reaches the store. A reason names a rule, never
the request: no address, no agent string.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from tracker.agents import is_machine
from tracker.errors import TrackerError
from tracker.networks import IpAddress, IpNetwork, Listed, NetworkTable, PeerNumber, read_lists
from tracker.store.records import REASON_CHARS

ADMIN_FILE = "machines.toml"
AGENT_CACHE_SIZE = 4096  # distinct user agents are few; a dict beats 40 substring scans


class Verdict(StrEnum):
    HUMAN = "human"
    PROXY = "proxy"  # a mail provider's image proxy: fetches on a real open (cached)
    PREFETCH = "prefetch"  # fetched for the recipient whether they look or not (Apple MPP)
    SCANNER = "scanner"  # security scanners and link checkers: nobody opened or clicked


class Reason(StrEnum):
    """Why an event got its verdict: `<verdict>` or `<verdict>:<what>`. The one
    vocabulary of reasons (DESIGN.md "Tokens and the tracker": every event keeps
    its reason); mail proxies name their provider (`proxy:<provider>`, a rule's
    `provider`, see `provider_reason`). The timing rules (tracker/store/timing.py)
    give scanner:early and scanner:burst, tracker/spray.py scanner:spray."""

    HUMAN = "human"
    PROXY_GMAIL = "proxy:gmail"
    PROXY_YAHOO = "proxy:yahoo"
    PROXY_OUTLOOK = "proxy:outlook"
    PREFETCH_APPLE = "prefetch:apple"  # Apple Mail Privacy Protection
    SCANNER_AGENT = "scanner:agent"  # the User-Agent is a machine's
    SCANNER_NETWORK = "scanner:network"  # from a listed scanner network
    SCANNER_BURST = "scanner:burst"  # several links of one copy within about a second
    SCANNER_SPRAY = "scanner:spray"  # one client clicking in several recipients' copies
    SCANNER_HEAD = "scanner:head"  # a HEAD request
    SCANNER_EARLY = "scanner:early"  # a click seconds after sending


def provider_reason(verdict: Verdict, provider: str) -> str:
    """`<verdict>:<provider>`, e.g. proxy:gmail: the provider in lower case, its
    letters, digits and `-_.` only, cut to the column's width."""
    name = "".join(c for c in provider.strip().lower() if c.isalnum() or c in "-_.")
    return f"{verdict.value}:{name}"[:REASON_CHARS]


@dataclass(frozen=True)
class Judgement:
    """A request's verdict and the reason for it."""

    verdict: Verdict
    reason: str


HUMAN_JUDGEMENT = Judgement(Verdict.HUMAN, Reason.HUMAN.value)
_HEAD = Judgement(Verdict.SCANNER, Reason.SCANNER_HEAD.value)
_AGENT = Judgement(Verdict.SCANNER, Reason.SCANNER_AGENT.value)
_APPLE = Judgement(Verdict.PREFETCH, Reason.PREFETCH_APPLE.value)
# Apple Mail Privacy Protection fetches with exactly this agent (documented by
# Mailgun and ClickDimensions); people browsing through Apple's Private Relay
# send their browser's full agent and stay people.
APPLE_PREFETCH_AGENT = "Mozilla/5.0"
# The reason of a listed network's verdict when its entry names none.
NETWORK_REASONS = {
    Verdict.PREFETCH.value: Reason.PREFETCH_APPLE.value,
    Verdict.SCANNER.value: Reason.SCANNER_NETWORK.value,
    Verdict.PROXY.value: Verdict.PROXY.value,
}
# Imported lists (tracker/networks.py): a proxy list names its provider by the
# list's name (`sigrelay classify import --verdict proxy --name gmail`).
LIST_REASONS = NETWORK_REASONS | {Verdict.PROXY.value: f"{Verdict.PROXY.value}:{{name}}"}

MACHINE_VERDICTS = (Verdict.PROXY, Verdict.PREFETCH, Verdict.SCANNER)
# Imported lists: image proxies and Apple's relay only tell about images (people
# browse through Apple's relay too); scanner networks judge clicks as well.
IMAGES_ONLY = {Verdict.PROXY.value: True, Verdict.PREFETCH.value: True}


class RulesError(TrackerError, ValueError):
    """A rules file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class AgentRule:
    contains: str  # lower-cased substring of the User-Agent
    verdict: Verdict
    reason: str = ""  # empty: the verdict's generic reason (scanner:agent, proxy)

    def judgement(self) -> Judgement:
        if self.reason:
            return Judgement(self.verdict, self.reason)
        if self.verdict is Verdict.SCANNER:
            return _AGENT
        return Judgement(self.verdict, self.verdict.value)


class Classifier:
    def __init__(self, agents: Iterable[AgentRule], networks: NetworkTable | None = None) -> None:
        self.agents = tuple(agents)
        self.networks = networks or NetworkTable()
        self._by_agent: dict[str, Judgement] = {}

    def verdict(self, *args: Any, **kwargs: Any) -> Verdict:
        """`judge(...)`'s verdict alone (the API from before reasons)."""
        return self.judge(*args, **kwargs).verdict

    def judge(
        self,
        method: str,
        user_agent: str | None,
        address: IpAddress | None = None,
        image: bool = True,
        *,
        number: PeerNumber | None = None,
    ) -> Judgement:
        """The verdict and its reason for one request; `image` is False for
        clicks. The client's address as an ipaddress object, or as `number`
        (clientip.peer_number: the request handlers' cheaper form). Pure apart
        from a cache: the same facts give the same judgement."""
        agent = user_agent or ""
        if address is not None:
            number = (address.version, int(address))
        listed = None
        if number is not None and self.networks.size:
            listed = self.networks.find_number(*number)
            if listed is not None and not image and listed.images_only:
                listed = None
        if listed is not None and listed.verdict == Verdict.PREFETCH.value:
            # Only Apple's prefetcher itself: Safari users share the relay.
            if agent == APPLE_PREFETCH_AGENT:
                return Judgement(Verdict.PREFETCH, listed.reason or _APPLE.reason)
            listed = None
        judged = self._agent_judgement(agent)
        if judged.verdict is not Verdict.HUMAN:
            return judged
        # A HEAD asks whether the URL exists without looking at it: link checkers do, people don't.
        if method != "GET" and method.upper() == "HEAD":
            return _HEAD
        if listed is not None:
            verdict = Verdict(listed.verdict)
            return Judgement(verdict, listed.reason or NETWORK_REASONS[verdict.value])
        return HUMAN_JUDGEMENT

    def _agent_judgement(self, user_agent: str) -> Judgement:
        judged = self._by_agent.get(user_agent)
        if judged is None:
            judged = self._judge_agent(user_agent)
            if len(self._by_agent) >= AGENT_CACHE_SIZE:
                self._by_agent.clear()  # a flood of made-up agents must not grow memory
            self._by_agent[user_agent] = judged
        return judged

    def _judge_agent(self, user_agent: str) -> Judgement:
        # Our rules first (mail proxies are proxies, named scanners scanners),
        # then the detector, which knows our mail programs are people.
        lowered = user_agent.lower()
        rule = next((r for r in self.agents if r.contains in lowered), None)
        if rule is not None:
            return rule.judgement()
        return _AGENT if is_machine(user_agent) else HUMAN_JUDGEMENT


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
        agents.append(AgentRule(contains.lower(), verdict, _reason(entry, verdict, where)))
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
        reason = _reason(entry, verdict, where) or NETWORK_REASONS[verdict.value]
        networks.append((network, Listed(verdict.value, applies_to == "images", reason)))
    return agents, networks


def _machine_verdict(value: object, where: str) -> Verdict:
    if value not in {v.value for v in MACHINE_VERDICTS}:
        names = ", ".join(v.value for v in MACHINE_VERDICTS)
        raise RulesError(f"{where}: `verdict` must be one of {names}, got {value!r}")
    return Verdict(str(value))


def _reason(entry: dict, verdict: Verdict, where: str) -> str:
    """The reason an entry's events keep: `<verdict>:<provider>` when it names its
    `provider` (proxies and prefetchers: which mail provider); empty otherwise
    (the verdict's generic reason)."""
    provider = entry.get("provider")
    if provider is None:
        return ""
    if verdict is Verdict.SCANNER:
        raise RulesError(f"{where}: `provider` is for proxy and prefetch rules, not scanners")
    if not isinstance(provider, str) or not provider_reason(verdict, provider).partition(":")[2]:
        raise RulesError(f'{where}: `provider` must be a name such as "gmail", got {provider!r}')
    return provider_reason(verdict, provider)


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
        networks.extend(read_lists(data_dir, IMAGES_ONLY, LIST_REASONS))
    return Classifier(agents, NetworkTable(networks))


_SHIPPED: Classifier | None = None


def classify(method: str, user_agent: str | None) -> Verdict:
    """The verdict by the shipped agent rules and the method alone."""
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = load_classifier()
    return _SHIPPED.verdict(method, user_agent)
