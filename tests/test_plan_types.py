import dataclasses

import pytest

from rewriter import LinkMode, Plan, Signature


def test_plan_is_frozen():
    plan = Plan(signature=Signature(html="<p>x</p>", text="x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.pixel_url = "http://evil.test/o/x"  # type: ignore[misc]


def test_default_link_mode_tracks_signature_links_only():
    assert Plan(signature=None).link_mode is LinkMode.SIGNATURE
