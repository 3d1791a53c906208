"""Machines by agent and network: the shipped data file, the admin's additions,
imported lists (Apple's Private Relay egress ranges), and the client address."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tracker.classify import RulesError, Verdict, load_classifier, shipped_rules_text
from tracker.clientip import ClientAddresses, peer_number, truncated
from tracker.networks import parse_egress_csv, write_list

SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
MPP = "Mozilla/5.0"  # Apple Mail Privacy Protection's agent, exactly
APPLE_CSV = "172.224.224.0/27,GB,GB-EN,London,\n2a02:26f7:b3c0:4000::/64,DE,DE-BE,Berlin,\n"


def ip(text: str):
    return ipaddress.ip_address(text)


def test_every_shipped_entry_names_its_source_and_a_machine_verdict():
    data = tomllib.loads(shipped_rules_text())
    entries = data["agent"] + data["network"]
    assert entries and all(e.get("source") for e in entries)
    assert {e["verdict"] for e in entries} <= {"proxy", "prefetch", "scanner"}


@pytest.mark.parametrize(
    ("agent", "verdict"),
    [
        ("Mozilla/5.0 (via ggpht.com GoogleImageProxy)", Verdict.PROXY),
        ("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", Verdict.PROXY),
        ("Microsoft Office Existence Discovery", Verdict.SCANNER),
        ("curl/8.5.0", Verdict.SCANNER),
        ("Wget/1.21.4", Verdict.SCANNER),
        ("python-requests/2.32.3", Verdict.SCANNER),
        (SAFARI, Verdict.HUMAN),
    ],
)
def test_shipped_agents(agent: str, verdict: Verdict):
    assert load_classifier().verdict("GET", agent) is verdict


def test_a_listed_scanner_network_judges_clicks_too():
    classifier = load_classifier()
    assert classifier.verdict("GET", SAFARI, ip("40.107.3.4"), image=False) is Verdict.SCANNER


def test_gmail_proxy_networks_judge_images_only():
    classifier = load_classifier()
    assert classifier.verdict("GET", SAFARI, ip("66.249.84.10"), image=True) is Verdict.PROXY
    assert classifier.verdict("GET", SAFARI, ip("66.249.84.10"), image=False) is Verdict.HUMAN


def test_an_unlisted_address_is_a_person():
    assert load_classifier().verdict("GET", SAFARI, ip("198.51.100.7")) is Verdict.HUMAN


def test_apple_egress_csv_parses_both_ip_versions():
    networks = list(parse_egress_csv(APPLE_CSV.splitlines()))
    assert [str(n) for n in networks] == ["172.224.224.0/27", "2a02:26f7:b3c0:4000::/64"]


def test_a_line_that_is_no_network_is_named():
    with pytest.raises(ValueError, match="line 2"):
        list(parse_egress_csv(["10.0.0.0/8,XX,,,", "not-a-net,GB,,,"]))


def test_imported_apple_ranges_make_opens_prefetches_but_not_clicks(tmp_path: Path):
    write_list(tmp_path, "prefetch", "apple", parse_egress_csv(APPLE_CSV.splitlines()))
    classifier = load_classifier(data_dir=tmp_path)
    for address in ("172.224.224.5", "2a02:26f7:b3c0:4000::1"):
        judged = classifier.judge("GET", MPP, ip(address), image=True)
        assert (judged.verdict, judged.reason) == (Verdict.PREFETCH, "prefetch:apple")
        # Safari users browse through the same relay: their opens and clicks are their own.
        assert classifier.verdict("GET", SAFARI, ip(address), image=True) is Verdict.HUMAN
        assert classifier.verdict("GET", MPP, ip(address), image=False) is not Verdict.PREFETCH
    assert classifier.verdict("GET", MPP, ip("172.224.224.32")) is not Verdict.PREFETCH


def test_the_narrowest_of_nested_networks_decides(tmp_path: Path):
    write_list(tmp_path, "scanner", "wide", [ipaddress.ip_network("10.0.0.0/8")])
    write_list(tmp_path, "prefetch", "narrow", [ipaddress.ip_network("10.1.0.0/16")])
    classifier = load_classifier(data_dir=tmp_path)
    assert classifier.verdict("GET", SAFARI, ip("10.200.0.1")) is Verdict.SCANNER
    assert classifier.verdict("GET", MPP, ip("10.1.0.1")) is Verdict.PREFETCH


def test_the_admins_file_adds_agents_and_networks(tmp_path: Path):
    (tmp_path / "machines.toml").write_text(
        '[[agent]]\ncontains = "AcmeGateway"\nverdict = "scanner"\nsource = "our gateway"\n'
        '[[network]]\ncidr = "192.0.2.0/24"\nverdict = "scanner"\nsource = "our sandbox"\n'
    )
    classifier = load_classifier(config_dir=tmp_path)
    assert classifier.verdict("GET", "AcmeGateway/2.0") is Verdict.SCANNER
    assert classifier.verdict("GET", SAFARI, ip("192.0.2.9"), image=False) is Verdict.SCANNER
    assert classifier.verdict("GET", "curl/8.0") is Verdict.SCANNER, "shipped rules stay"


def test_a_wrong_admin_entry_is_named_with_its_file(tmp_path: Path):
    (tmp_path / "machines.toml").write_text('[[agent]]\ncontains = "X"\nverdict = "robot"\n')
    with pytest.raises(RulesError, match=r"machines.toml: \[\[agent\]\] #1: `verdict`"):
        load_classifier(config_dir=tmp_path)


def test_forwarded_for_is_ignored_from_an_untrusted_peer():
    addresses = ClientAddresses()
    assert addresses.client("203.0.113.5", "40.107.3.4") == ip("203.0.113.5")


def test_a_trusted_proxy_forwards_the_nearest_untrusted_hop():
    addresses = ClientAddresses([ipaddress.ip_network("10.0.0.0/8")])
    chain = "1.2.3.4, 198.51.100.9, 10.0.0.7"  # a client-written first entry, then real hops
    assert addresses.client("10.0.0.2", chain) == ip("198.51.100.9")


def test_truncation_keeps_a_slash_24_or_a_slash_48():
    assert truncated(ip("203.0.113.77")) == "203.0.113.0/24"
    assert truncated(ip("2001:db8:1:2:3::9")) == "2001:db8:1::/48"


def test_classify_import_loads_apple_ranges_for_the_tracker(tmp_path: Path):
    # Apple's egress-ip-ranges.csv format (tests/data/SOURCES.md).
    source = Path(__file__).resolve().parent.parent / "data" / "apple-egress-sample.csv"
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "sigrelay", "classify", "import", str(source)],
        env={**os.environ, "SIGRELAY_DATA": str(data)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "imported 5 network(s) as prefetch" in done.stdout
    classifier = load_classifier(data_dir=data)
    for address in ("172.224.224.1", "104.28.0.200", "2a02:26f7:b3c0:4004::17"):
        judged = classifier.judge("GET", MPP, ip(address))
        assert (judged.verdict, judged.reason) == (Verdict.PREFETCH, "prefetch:apple")
        # Safari through Private Relay is a person; so is whoever clicks.
        assert classifier.verdict("GET", SAFARI, ip(address)) is Verdict.HUMAN
        assert classifier.verdict("GET", MPP, ip(address), image=False) is not Verdict.PREFETCH
    # The bare agent from anywhere else is no mail program: a script.
    elsewhere = classifier.judge("GET", MPP, ip("198.51.100.7"))
    assert (elsewhere.verdict, elsewhere.reason) == (Verdict.SCANNER, "scanner:agent")


@pytest.mark.parametrize(
    "text",
    ["40.107.3.4", "66.249.84.10", "198.51.100.7", "2a02:26f7:b3c0:4000::1", "::ffff:40.107.3.4"],
)
def test_the_handlers_peer_number_finds_what_the_address_finds(text: str):
    # The request handlers pass the peer as (version, integer) to skip building
    # an ipaddress object; every verdict must come out the same.
    classifier = load_classifier()
    address = ClientAddresses().client(text, None)
    assert address is not None
    assert peer_number(text) == (address.version, int(address))
    for image in (True, False):
        by_number = classifier.verdict("GET", SAFARI, image=image, number=peer_number(text))
        assert by_number is classifier.verdict("GET", SAFARI, address, image=image)


def test_a_peer_that_is_no_address_has_no_number():
    assert peer_number("") is None
    assert peer_number(None) is None
    assert peer_number("not-an-address") is None


def test_an_imported_list_gives_its_events_a_reason(tmp_path: Path):
    write_list(tmp_path, "proxy", "examplemail", [ipaddress.ip_network("192.0.2.0/24")])
    write_list(tmp_path, "scanner", "gateway", [ipaddress.ip_network("198.51.100.0/24")])
    classifier = load_classifier(data_dir=tmp_path)
    proxied = classifier.judge("GET", SAFARI, ip("192.0.2.9"))
    scanned = classifier.judge("GET", SAFARI, ip("198.51.100.9"), image=False)
    assert (proxied.verdict, proxied.reason) == (Verdict.PROXY, "proxy:examplemail")
    assert (scanned.verdict, scanned.reason) == (Verdict.SCANNER, "scanner:network")
