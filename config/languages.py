"""The language of a copy, and the template file that speaks it.

Order of choice for one recipient (issue 18): the recipient-domain map of
`[languages]` (the longest matching key: "shop.example.fr" before ".fr"),
then the detected language of the message's newest text (rewriter/language.py,
done once per message by the planner), then the group's default `language`.
Only a language the group writes in counts (its `language` and `languages`):
a French domain mailed by a group without French templates falls through to
the next step. The opt-out line and page follow the copy's language.

Templates: `<stem>.<lang><ext>` beside `<stem><ext>` (sales.de.html beside
sales.html). The unsuffixed file is the group's default language; a language
file missing at run time falls back to it (mail never waits for a template),
and `sigrelay check` reports it as an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from config.errors import ConfigError
from config.schema import GroupSection
from config.schema_recipients import LanguagesSection


def offered(group: GroupSection) -> tuple[str, ...]:
    """The languages the group writes in, its default first."""
    return (group.language, *(lang for lang in group.languages if lang != group.language))


def localized_name(name: str, language: str) -> str:
    """sales.html, de -> sales.de.html; a name without extension gets the suffix."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        return f"{name}.{language}"
    return f"{stem}.{language}.{extension}"


def domain_language(domains: Mapping[str, str], address: str) -> str | None:
    """The map's language for the address's domain: the longest key that is the
    domain, a parent domain of it, or (starting with ".") a suffix of it."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    best: tuple[int, str] | None = None
    for key, language in domains.items():
        fits = (
            domain.endswith(key)
            if key.startswith(".")
            else (domain == key or domain.endswith("." + key))
        )
        if fits and (best is None or len(key) > best[0]):
            best = (len(key), language)
    return best[1] if best else None


def recipient_language(
    group: GroupSection,
    settings: LanguagesSection,
    address: str,
    detected: str | None | Callable[[], str | None],
) -> str:
    """The language one recipient of the group's mail gets (module docstring).
    `detected` may be a function: then the message is read only when the
    recipient's domain does not decide (reading it is the costly part)."""
    languages = offered(group)
    by_domain = domain_language(settings.recipient_domains, address)
    if by_domain in languages:
        return by_domain
    found = detected() if callable(detected) else detected
    return found if found in languages else group.language


def template_name(templates: Mapping[str, object], name: str, language: str | None) -> str:
    """The compiled template for `name` in `language`, else `name` itself."""
    if language is None:
        return name
    localized = localized_name(name, language)
    return localized if localized in templates else name


def missing_language_templates(
    groups: tuple[GroupSection, ...],
    names_of: Mapping[str, tuple[str, ...]],
    templates: Mapping[str, object],
    templates_dir: object,
) -> list[ConfigError]:
    """For `sigrelay check`: every further language a group lists needs its own
    file of every template the group (or one of its rules) uses."""
    problems = []
    for group in groups:
        for language in offered(group)[1:]:
            for name in names_of[group.name]:
                localized = localized_name(name, language)
                if localized not in templates:
                    problems.append(
                        ConfigError(
                            f"{templates_dir}/{localized}",
                            f"groups.{group.name}.languages",
                            f"template for language {language!r} is missing; "
                            f"mail in {language!r} gets {name!r} instead",
                            hint=f"create {localized} or remove {language!r} from languages",
                        )
                    )
    return problems
