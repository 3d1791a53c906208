"""Fan-out: the privacy mode decides how recipients split into copies (DESIGN.md table)."""

from __future__ import annotations

import itertools

import pytest

from config.schema import PrivacyMode
from proxy.fanout import CopySpec, split

INTERNAL = "carla@example.com"
KIM, LEE, MAX = "kim@customer.test", "lee@partner.test", "max@customer.test"


def _is_internal(address: str) -> bool:
    return address.lower().endswith("@example.com")


def _counting_ids():
    counter = itertools.count()
    return lambda privacy, group: f"{next(counter):016x}"


def _split(rcpts: list[str], mode: str) -> list[CopySpec]:
    return split(rcpts, mode, _is_internal, _counting_ids())


def _groups(copies: list[CopySpec]) -> list[tuple[tuple[str, ...], bool]]:
    return [(c.recipients, c.tracked) for c in copies]


def test_personal_gives_each_external_recipient_a_tracked_copy_and_internal_one_untracked():
    copies = _split([KIM, INTERNAL, LEE], "personal")
    assert _groups(copies) == [((INTERNAL,), False), ((KIM,), True), ((LEE,), True)]
    assert [(c.recipient, c.domain) for c in copies[1:]] == [
        (KIM, "customer.test"),
        (LEE, "partner.test"),
    ]


def test_domain_gives_one_copy_per_recipient_domain_without_addresses():
    copies = _split([KIM, LEE, MAX], "domain")
    assert _groups(copies) == [((KIM, MAX), True), ((LEE,), True)]
    assert [(c.recipient, c.domain) for c in copies] == [
        (None, "customer.test"),
        (None, "partner.test"),
    ]


def test_anonymous_gives_one_copy_for_all_external_recipients_and_keeps_nothing():
    copies = _split([KIM, INTERNAL, LEE], "anonymous")
    assert _groups(copies) == [((INTERNAL,), False), ((KIM, LEE), True)]
    assert (copies[1].recipient, copies[1].domain, copies[1].privacy) == (None, None, "anonymous")


def test_off_gives_one_untracked_copy_for_everyone():
    copies = _split([KIM, INTERNAL, LEE], "off")
    assert _groups(copies) == [((KIM, INTERNAL, LEE), False)]


@pytest.mark.parametrize("mode", ["personal", "domain", "anonymous"])
def test_internal_recipients_alone_get_one_untracked_copy(mode: str):
    copies = _split([INTERNAL, "dan@example.com"], mode)
    assert _groups(copies) == [((INTERNAL, "dan@example.com"), False)]
    assert copies[0].privacy == "off"


def test_a_recipient_given_twice_gets_one_copy():
    copies = _split([KIM, "KIM@customer.test"], "personal")
    assert _groups(copies) == [((KIM,), True)]


@pytest.mark.parametrize("mode", ["personal", "domain", "anonymous", "off"])
def test_every_recipient_is_in_exactly_one_copy_and_copy_ids_are_distinct(mode: str):
    rcpts = [KIM, INTERNAL, LEE, MAX, "dan@example.com"]
    copies = _split(rcpts, mode)
    assert sorted(r for c in copies for r in c.recipients) == sorted(rcpts)
    assert len({c.copy_id for c in copies}) == len(copies)


def test_an_unknown_mode_is_an_error_naming_the_modes():
    with pytest.raises(ValueError, match="personal, domain, anonymous, off"):
        _split([KIM], "everyone")


def _split_capped(rcpts: list[str], mode: str, caps: dict[str, str]) -> list[CopySpec]:
    return split(rcpts, mode, _is_internal, _counting_ids(), cap=lambda r: caps.get(r, "personal"))


def test_a_recipient_capped_at_off_joins_the_untracked_copy_in_personal_mode():
    copies = _split_capped([KIM, INTERNAL, LEE], "personal", {KIM: "off"})
    assert _groups(copies) == [((KIM, INTERNAL), False), ((LEE,), True)]


def test_a_recipient_capped_at_anonymous_gets_an_anonymous_copy_without_address():
    copies = _split_capped([KIM, LEE, MAX], "domain", {MAX: "anonymous"})
    assert _groups(copies) == [((KIM,), True), ((LEE,), True), ((MAX,), True)]
    assert (copies[2].privacy, copies[2].recipient, copies[2].domain) == ("anonymous", None, None)


def test_a_cap_above_the_mode_changes_nothing():
    copies = _split_capped([KIM, LEE], "anonymous", {KIM: "personal", LEE: "domain"})
    assert _groups(copies) == [((KIM, LEE), True)]
    assert copies[0].privacy == "anonymous"


def test_an_unknown_cap_is_an_error():
    with pytest.raises(ValueError, match="unknown privacy mode 'maybe'"):
        _split_capped([KIM], "personal", {KIM: "maybe"})


def test_each_copy_id_is_asked_for_by_the_copys_mode_and_recipients():
    copies = split(
        [KIM, INTERNAL, LEE, MAX],
        "domain",
        _is_internal,
        lambda privacy, group: f"{privacy}:{'+'.join(group)}",
        cap=lambda r: "anonymous" if r == LEE else "personal",
    )
    assert [c.copy_id for c in copies] == [
        f"off:{INTERNAL}",
        f"domain:{KIM}+{MAX}",
        f"anonymous:{LEE}",
    ]


def test_each_copy_names_its_mode_as_the_one_privacy_mode_enum():
    copies = split([KIM, INTERNAL, LEE], "domain", _is_internal, _counting_ids(),
                   cap=lambda address: "off" if address == LEE else "personal")  # fmt: skip
    assert [c.privacy for c in copies] == [PrivacyMode.OFF, PrivacyMode.DOMAIN]
    assert all(type(c.privacy) is PrivacyMode for c in copies)
