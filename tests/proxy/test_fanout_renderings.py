"""Fan-out by rendering (issue 18): copies only group recipients who get the same
output, i.e. the same recipient rule and language; the anonymous copy stays one
per rule and takes the majority language."""

from __future__ import annotations

import itertools

from config.schema import PrivacyMode
from proxy.fanout import CopySpec, Rendering, majority_language, split
from proxy.state import CopyState

ANNA = "anna@example.com"  # internal
HANS, GRETA = "hans@kunde.de", "greta@kunde.de"
CLAIRE = "claire@client.fr"
KIM = "kim@customer.test"

LANGUAGE = {"de": "de", "fr": "fr"}


def _is_internal(address: str) -> bool:
    return address.endswith("@example.com")


def _rendering(address: str) -> Rendering:
    tld = address.rpartition(".")[2]
    rule = 0 if _is_internal(address) else None
    return Rendering(rule=rule, language=LANGUAGE.get(tld, "en"))


def _ids():
    counter = itertools.count()
    return lambda privacy, recipients: f"{next(counter):016x}"


def _copies(rcpts: list[str], mode: str, output_of=_rendering) -> list[CopySpec]:
    return split(rcpts, mode, _is_internal, _ids(), output_of=output_of)


def _shape(copies: list[CopySpec]) -> list[tuple[tuple[str, ...], str, str | None]]:
    return [(c.recipients, c.privacy.value, c.language) for c in copies]


def test_without_renderings_the_split_is_the_old_one():
    rcpts = [ANNA, HANS, CLAIRE, GRETA]
    for mode in ("personal", "domain", "anonymous", "off"):
        plain = split(rcpts, mode, _is_internal, _ids())
        same = _copies(rcpts, mode, output_of=lambda _a: Rendering())
        assert plain == same
        assert all(c.language is None for c in plain)


def test_personal_copies_carry_each_recipients_language():
    copies = _copies([ANNA, HANS, CLAIRE], "personal")
    assert _shape(copies) == [
        ((ANNA,), "off", "en"),
        ((HANS,), "personal", "de"),
        ((CLAIRE,), "personal", "fr"),
    ]


def test_untracked_copy_splits_by_language_and_rule():
    copies = _copies([HANS, ANNA, CLAIRE, GRETA], "off")
    assert _shape(copies) == [
        ((HANS, GRETA), "off", "de"),
        ((ANNA,), "off", "en"),
        ((CLAIRE,), "off", "fr"),
    ]


def test_domain_copy_splits_when_one_domain_gets_two_outputs():
    def by_address(address: str) -> Rendering:
        return Rendering(language="fr" if address.startswith("greta") else "de")

    copies = _copies([HANS, GRETA, KIM], "domain", output_of=by_address)
    assert _shape(copies) == [
        ((HANS,), "domain", "de"),
        ((GRETA,), "domain", "fr"),
        ((KIM,), "domain", "de"),
    ]
    assert [c.domain for c in copies] == ["kunde.de", "kunde.de", "customer.test"]


def test_anonymous_copy_stays_one_with_the_majority_language():
    copies = _copies([CLAIRE, HANS, GRETA], "anonymous")
    assert _shape(copies) == [((CLAIRE, HANS, GRETA), "anonymous", "de")]


def test_anonymous_tie_goes_to_the_first_recipient():
    copies = _copies([CLAIRE, HANS, KIM], "anonymous")
    assert _shape(copies) == [((CLAIRE, HANS, KIM), "anonymous", "fr")]


def test_anonymous_copy_splits_by_recipient_rule():
    def rule_for_kunde(address: str) -> Rendering:
        return Rendering(rule=1 if "kunde" in address else None, language="en")

    copies = _copies([HANS, KIM, GRETA], "anonymous", output_of=rule_for_kunde)
    assert _shape(copies) == [((HANS, GRETA), "anonymous", "en"), ((KIM,), "anonymous", "en")]


def test_copy_ids_name_the_same_copies_when_planned_again():
    def keyed(privacy, recipients):
        return f"{privacy}:{','.join(recipients)}"

    rcpts = [ANNA, HANS, CLAIRE, GRETA]
    first = split(rcpts, "domain", _is_internal, keyed, output_of=_rendering)
    again = split(rcpts, "domain", _is_internal, keyed, output_of=_rendering)
    assert first == again
    assert len({c.copy_id for c in first}) == len(first)


def test_majority_language():
    assert majority_language(["de", "fr", "de"]) == "de"
    assert majority_language(["fr", "de"]) == "fr"
    assert majority_language([]) is None


def test_the_copys_language_survives_the_spool_state_and_old_states_have_none():
    copy = CopyState("0" * 16, (CLAIRE,), True, PrivacyMode.PERSONAL, language="fr")
    assert CopyState.from_json(copy.to_json()) == copy
    old = {k: v for k, v in copy.to_json().items() if k != "language"}
    assert CopyState.from_json(old).language is None
