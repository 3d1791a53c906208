"""First verdicts from the request alone: proxies, scanners, people."""

from __future__ import annotations

import pytest

from tracker.classify import Verdict, classify
from tracker.store import VERDICTS

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    ],
)
def test_gmail_and_yahoo_image_proxies_are_proxies(agent: str):
    assert classify("GET", agent) is Verdict.PROXY


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; BingPreview/1.0b)",
        "Barracuda Sentinel (EE)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0 Safari/537.36",
    ],
)
def test_agents_announcing_a_link_checker_are_scanners(agent: str):
    assert classify("GET", agent) is Verdict.SCANNER


def test_a_head_request_is_a_scanner_whatever_the_agent():
    assert classify("HEAD", FIREFOX) is Verdict.SCANNER
    assert classify("head", FIREFOX) is Verdict.SCANNER


@pytest.mark.parametrize("agent", [FIREFOX, OUTLOOK])
def test_ordinary_mail_programs_and_browsers_are_people(agent: str | None):
    assert classify("GET", agent) is Verdict.HUMAN


@pytest.mark.parametrize("agent", [None, ""])
def test_a_request_without_an_agent_is_a_script(agent: str | None):
    # Every browser and mail program sends one.
    assert classify("GET", agent) is Verdict.SCANNER


def test_verdicts_are_the_store_vocabulary():
    assert tuple(v.value for v in Verdict) == VERDICTS
