"""The detector beneath our rules (tracker/agents.py), on the kinds of machines
issue 16 names and on the mail programs people read mail with. Agents as their
vendors document them (or, for suites that do not publish one, as they name
themselves)."""

from __future__ import annotations

import pytest

from tracker.classify import Reason, Verdict, load_classifier

CLASSIFIER = load_classifier()


def judge(agent: str | None, method: str = "GET") -> tuple[Verdict, str]:
    judged = CLASSIFIER.judge(method, agent)
    return judged.verdict, judged.reason


@pytest.mark.parametrize(
    "agent",
    [
        # A browser's agent with a link checker's suffix.
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/117.0.0.0 Safari/537.36 (compatible; W3C-checklink/5.0)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 LinkChecker/10.2",
        # Link previews of mail and chat providers.
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "TelegramBot (like TwitterBot)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "Microsoft Office Protocol Discovery",
        "Microsoft Office Existence Discovery",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/84.0.4147.105 Safari/537.36 (compatible; Google-Read-Aloud; "
        "+https://support.google.com/webmasters/answer/1061943)",
        # Security suites that name themselves.
        "Barracuda Sentinel (EE)",
        "Mimecast URL Protect",
        "Proofpoint URL Defense",
        "Mozilla/5.0 (compatible; Symantec Web Security)",
        "TrendMicro Web Reputation",
        "Sophos URL Protection",
        "Cisco IronPort URL filter",
        "Fortinet FortiGuard URL rating",
        "urlscan.io",
        "Microsoft SafeLinks",
        # Uptime monitors.
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Mozilla/5.0 (compatible; StatusCake)",
        "Site24x7",
        # Search crawlers.
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        # Scripts and HTTP libraries.
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Go-http-client/2.0",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "libwww-perl/6.72",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "Python/3.11 aiohttp/3.9.5",
    ],
)
def test_machines_issue_16_names_are_scanners_by_their_agent(agent: str):
    assert judge(agent) == (Verdict.SCANNER, Reason.SCANNER_AGENT)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Thunderbird/128.0",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
        "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
        "MacOutlook/16.89.24091630 (Intelx64 Mac OS X 14.6.1 (Build 23G93))",
        "Outlook-iOS/723.4027091.prod.iphone (4.2435.0)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Linux; Android 14; SM-A536B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/132.0.6834.163 Mobile Safari/537.36",
    ],
)
def test_mail_programs_and_browsers_are_people(agent: str):
    assert judge(agent) == (Verdict.HUMAN, Reason.HUMAN)


def test_a_mail_proxy_names_its_provider():
    gmail = (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    )
    assert judge(gmail) == (Verdict.PROXY, "proxy:gmail")
    assert judge("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html") == (
        Verdict.PROXY,
        "proxy:yahoo",
    )


@pytest.mark.parametrize(
    "agent",
    [
        "",
        " ",
        "x" * 10_000,
        "Mozilla/5.0 (Windows NT 10.0) \x00\x1b[31m",
        "Müller-Browser/1.0 (Linux) 日本語",
    ],
)
def test_odd_agents_get_a_verdict_and_never_crash(agent: str):
    verdict, reason = judge(agent)
    assert verdict in Verdict and reason.startswith(verdict.value)


def test_control_characters_are_no_browsers_agent():
    assert judge("Mozilla/5.0 (Windows NT 10.0) \x00")[0] is Verdict.SCANNER


def test_a_head_request_is_a_scanner_by_its_method_whatever_the_agent():
    firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    assert judge(firefox, "HEAD") == (Verdict.SCANNER, Reason.SCANNER_HEAD)
    # A named scanner keeps its own reason.
    assert judge("curl/8.5.0", "HEAD") == (Verdict.SCANNER, Reason.SCANNER_AGENT)
