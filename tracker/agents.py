"""Is a User-Agent a person's program? The detector beneath our own agent rules.

Layers, first answer wins (tracker/classify.py runs machines.toml before these):

1. Mail programs we know are people: Outlook (`Microsoft Office/16.0 (…Microsoft
   Outlook…)`, which generic bot detectors call a bot because it is not a
   browser), Thunderbird, Apple Mail, eM Client and the like.
2. ua-parser's `Spider` device family: uap-core's maintained regexes (released
   monthly as ua-parser-builtins). Chosen over crawlerdetect, which called 31
   of isbot's 555 browsers and 43 of 131 real mail-client agents bots, where
   ua-parser called 5 and 0 (README, "Dependencies"; bench/classify.py).
3. Our shape rules for what no list names: words only machines use in their
   agents, a URL or an e-mail address (browsers never carry one), and the
   shape of a browser's agent (a platform comment or a rendering engine).

Only a verdict leaves this module; the agent itself is never kept.
"""

from __future__ import annotations

import re

from ua_parser import parse_device

# Mail programs fetching images and opening links for a person. Outlook names
# itself in several forms (desktop Windows, Mac, iOS/Android, the old Express);
# Apple Mail on macOS as `Mail/<build> CFNetwork/…`.
MAIL_PROGRAM = re.compile(
    r"microsoft outlook|microsoft office/|ms-office|msoffice|outlook-(?:ios|android|express)"
    r"|macoutlook|thunderbird/|^mail/\d|airmail|em ?client|postbox|mailbird|mailspring"
    r"|foxmail|the bat!|bluemail|windowsmail|lotus.notes|yahoo%20mail|ymail|android-gmail"
    r"|samsungemail|navermailapp|mailmaster|zohotrident|^barca"
)  # searched in the lower-cased agent
# Words that only machines put in their agents: crawlers, checkers, monitors,
# previewers, HTTP libraries and test drivers. `bot` only as a word ending in
# lower or title case (BOT): "CUBOT" is a phone maker; `scan` not after "cam" (CamScanner).
BOT = re.compile(r"[Bb]ot\b|[Bb]ot[/_;-]")
# Searched in the lower-cased agent: a case-insensitive search of so many
# alternatives costs several times more.
MACHINE_WORDS = re.compile(
    r"robot|crawl|spider|(?<!cam)scan|check|monitor|preview"
    r"|fetch|probe|audit|validat|archiv|headless|phantomjs|selenium|playwright|puppeteer"
    r"|cypress|python|java/|java-|curl|wget|http-?client|httpx|okhttp|axios|node-fetch|undici"
    r"|go-http|libwww-perl|lwp|ruby|perl|php|guzzle|synthetic|uptime|pingdom|statuscake"
    r"|site24x7|research|survey|lighthouse|pagespeed|gtmetrix|speedcurve|ptst|recon|hunter"
    r"|scraper|extract|harvest|proxy|daemon|health|status|feed|rss|discovery|favicon|httrack"
    r"|reader|parser|splash|rigor|dejaclick|collector|snapshot|render|capture|appengine"
    r"|google-|-ai\b|\bai\b|gpt|claude|anthropic|perplexity|openai|cohere|externalhit|\bcli\b"
    r"|library|client/|downloader|grabber|slurp|node/|deno|bun/|burpcollaborator|sqlmap"
    r"|nikto|nmap|masscan|zgrab|nuclei"
)
# WebKit browsers say "(KHTML, like Gecko)" and nothing more in it (old ones
# ", Safari/…"); services that borrow a browser's agent sign inside it:
# "(KHTML, like Gecko; compatible; pageburst)", "(KHTML, like Gecko; Google Page Speed …)".
SIGNED_ENGINE = re.compile(r"\(KHTML, ?like Gecko; ", re.IGNORECASE)
# A URL, a domain name or an e-mail address: how services sign their agents.
# Lower-case domains only: ".NET CLR" in Internet Explorer's agents is not one.
ADDRESS = re.compile(
    r"(?i:https?:|www\.)|[a-z0-9-]\.(?:com|net|org|io|de|ru|fr|ai|dev|app|co|info|ch|uk|jp|cn)\b"
    r"|[\w.+-]+@[a-z][\w-]*\.[a-z]{2,}"
)
# A person's browser names its rendering engine or its platform.
ENGINE = re.compile(
    r"Gecko/|AppleWebKit/|Trident/|Presto/|KHTML|MSIE |Dalvik/|CFNetwork/|UCWEB|UCBrowser"
    r"|Opera/|Opera Mini|MIDP-|UP\.Browser|NetFront|Lynx/|ELinks|Links \(|Mosaic|Version/\d",
    re.IGNORECASE,
)
PLATFORM = re.compile(
    r"\([^)]*(?:iPhone|iPad|iOS|Android|Linux|Windows|Macintosh|Mac OS|X11|Amiga|MorphOS"
    r"|BlackBerry|Symbian|Series ?60|Tizen|KaiOS|webOS|CrOS|PlayStation|Xbox|Nintendo"
    r"|SMART-TV|Haiku|BeOS)",
    re.IGNORECASE,
)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_mail_program(agent: str) -> bool:
    return MAIL_PROGRAM.search(agent.lower()) is not None


def is_machine(agent: str) -> bool:
    """Whether an agent that no rule of machines.toml named is a machine's."""
    if not agent.strip() or CONTROL.search(agent):
        return True  # every browser and mail program sends one, in printable text
    lowered = agent.lower()
    if MAIL_PROGRAM.search(lowered):
        return False
    if BOT.search(agent) or MACHINE_WORDS.search(lowered):
        return True
    if ADDRESS.search(agent) or SIGNED_ENGINE.search(agent):
        return True
    if not (ENGINE.search(agent) or PLATFORM.search(agent)):
        return True
    # Last, being the dearest (~0.1 ms an agent; verdicts are cached per agent).
    device = parse_device(agent)
    return device is not None and device.family == "Spider"
