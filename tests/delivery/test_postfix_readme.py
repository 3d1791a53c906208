"""The README's Postfix section says exactly what the Postfix tests configure
(tests/postfixpeer.py), with the ports an admin uses."""

from __future__ import annotations

from pathlib import Path

from postfixpeer import content_filter_settings, milter_settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_readme_milter_settings_are_the_tested_ones():
    for name, value in milter_settings(8891).items():
        assert f"{name} = {value}\n" in README, name
    assert "sigrelay milter --socket inet:8891@127.0.0.1" in README


def test_the_readme_content_filter_settings_are_the_tested_ones():
    main_cf, master_cf = content_filter_settings(2525, 10025)
    for name, value in main_cf.items():
        assert f"{name} = {value}\n" in README, name
    assert master_cf in README
    assert 'url = "smtp://127.0.0.1:10025"' in README


def test_the_readme_relayhost_is_the_tested_one():
    assert "relayhost = [127.0.0.1]:2525\n" in README
