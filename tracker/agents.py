"""Is a User-Agent a person's program? The detector beneath our own agent rules.

Layers, first answer wins (tracker/classify.py runs machines.toml before these):

1. Mail programs we know are people: Outlook (`Microsoft Office/16.0 (…Microsoft
   Outlook…)`, which generic bot detectors call a bot because it is not a
   browser), Thunderbird, Apple Mail, eM Client and the like.
2. Words only machines use in their agents (ours), then isbot's maintained
   pattern list (tracker/bot_patterns.txt: crawlers, monitors, previewers,
   scanners, libraries), then a URL or an e-mail address in the agent, or a
   service signing inside a browser's engine comment.
3. An agent that names neither a rendering engine, nor a platform, nor the
   shape of a person's device or app (media players, TVs, in-app views) is a
   machine's: every browser and mail program names one of these.

Why isbot's list and not ua-parser's `Spider` family or crawlerdetect (README,
"Machines and people"; `bench/classify.py --libraries`): beneath our rules and
isbot's list, ua-parser's Spider family caught 2 more machines and took 2 more
people's agents on the data we tune on, at a tenth of a millisecond an agent;
crawlerdetect calls real Outlook agents bots.

Only a verdict leaves this module; the agent itself is never kept.
"""

from __future__ import annotations

import re
from importlib import resources

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
    r"robot|crawl|spider|(?<!cam)scan|check(?!out)|monitor|preview"
    r"|fetch|probe|audit|validat|archiv|headless|phantomjs|selenium|playwright|puppeteer"
    r"|cypress|python|java/|java-|curl|wget|http-?client|httpx|okhttp|axios|node-fetch|undici"
    r"|go-http|libwww-perl|lwp|ruby|perl|php|guzzle|synthetic|uptime|pingdom|statuscake"
    r"|site24x7|research|survey|lighthouse|pagespeed|gtmetrix|speedcurve|ptst|recon|hunter"
    r"|scraper|extract|harvest|proxy|daemon|health|status|feed|\brss|rss\b|discovery|favicon|httrack"
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
    r"|SMART-TV|Haiku|BeOS|SunOS|Inferno|Win(?:NT|9[58x]|32|16)|AmigaOS|MorphOS)",
    re.IGNORECASE,
)

# People's devices and apps that name no engine and no platform comment: a
# platform as a product token (`Android/6.0.1`, `Windows Phone/10.0`), Amiga
# browsers, media players and TVs fetching for a viewer (QuickTime, Roku,
# Sonos, Android's stagefright players), in-app views (`[FBAN/…]`,
# `…WebView/`) and the apps of large platforms (`GoogleApp/`).
PERSON_DEVICE = re.compile(
    r"\b(?:Android|iOS|iPhone ?OS|Windows Phone|Darwin)/\d|Amiga|MorphOS|QuickTime|Roku"
    r"|Sonos/|stagefright|Streaming Player|AppleCoreMedia|iTunes/|VLC/|Kodi/|SmartTV|HbbTV"
    r"|NetCast|BRAVIA|AppleTV|\[FB(?:AN|_IAB)/|WebView/|GoogleApp/",
    re.IGNORECASE,
)
# Facebook's in-app view appends `[FBAN/…;FBCR/<carrier>;…]`: a carrier such as
# "Telekom.de" is not the signature of a service.
IN_APP_SUFFIX = re.compile(r"\[FB(?:AN|_IAB)/[^\]]*\]?")


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _published_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """isbot's list as two expressions: the alternatives anchored at the start
    (tried once, with `match`) and the rest (searched). One expression of both
    tries every `^…` alternative at every position: twice the cost."""
    text = resources.files("tracker").joinpath("bot_patterns.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    at_start = [line[1:] for line in lines if line.startswith("^")]
    anywhere = [line for line in lines if not line.startswith("^")]
    return re.compile("|".join(at_start)), re.compile("|".join(anywhere))


# isbot's maintained list (tracker/bot_patterns.txt), for the lower-cased agent.
PUBLISHED_AT_START, PUBLISHED = _published_patterns()


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
    if PUBLISHED_AT_START.match(lowered) or PUBLISHED.search(lowered):
        return True
    if ADDRESS.search(IN_APP_SUFFIX.sub("", agent)) or SIGNED_ENGINE.search(agent):
        return True
    return not (ENGINE.search(agent) or PLATFORM.search(agent) or PERSON_DEVICE.search(agent))
