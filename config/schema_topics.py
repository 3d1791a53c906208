"""`[[topics]]`: interest topics for interest targeting (the Inxmail model).

A topic names what a link is about ("pumps", "service"). A human click on
one of its links (or on a banner whose variant lists the topic) adds to the
clicking recipient's interest profile (tracker/store/interests.py), and a
campaign may target recipients by topic (`target_topics`). Profiles are built
only for personal copies of recipients who gave recorded consent
(`privacy.require_consent = true`); in every other case topics do nothing.
"""

from __future__ import annotations

from pydantic import Field

from config.schema_types import Domain, HttpUrl, Section, Slug


class TopicSection(Section):
    """An interest topic and the links that count for it."""

    name: Slug  # what profiles, variants' `topics` and campaigns' `target_topics` name
    # A clicked URL starting with one of these (at a "/", "?", "#" or "&") counts.
    links: tuple[HttpUrl, ...] = Field(default=(), max_length=200)
    # A clicked URL on one of these hosts (or their subdomains) counts.
    domains: tuple[Domain, ...] = Field(default=(), max_length=200)
