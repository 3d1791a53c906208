"""`sigrelay admin hash|token` and `sigrelay stats` (terminal table, --json, --csv)."""

from __future__ import annotations

import csv
import io
import json
import re

from argon2 import PasswordHasher
from click.testing import CliRunner

from sigrelay.cli import main
from sigrelay.statstable import render
from tracker.dashboard.auth import ApiTokens
from tracker.store import Store
from tracker.store.stats import figures, rows

PASSWORD = "a long admin password"


def test_admin_hash_prints_an_admins_entry_whose_hash_verifies():
    result = CliRunner().invoke(
        main, ["admin", "hash", "--name", "alice"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert '[[admins]]\nname = "alice"\n' in result.output
    (hashed,) = re.findall(r'password_hash = "(\$argon2[^"]+)"', result.output)
    assert PasswordHasher().verify(hashed, PASSWORD)


def test_admin_hash_refuses_a_short_password():
    result = CliRunner().invoke(main, ["admin", "hash"], input="short\nshort\n")
    assert result.exit_code != 0 and "12 characters" in result.output


def test_admin_token_prints_a_token_and_the_hash_that_accepts_it():
    result = CliRunner().invoke(main, ["admin", "token", "--name", "ci"])
    assert result.exit_code == 0
    (token,) = re.findall(r"shown once, keep it secret\): (\S+)", result.output)
    (hashed,) = re.findall(r'token_hash = "(sha256:[0-9a-f]+)"', result.output)
    assert ApiTokens([("ci", hashed)]).name_of(f"Bearer {token}") == "ci"


def _result() -> dict:
    counts = {
        "a": {"impressions": 1200, "unique_impressions": 1000, "unique_clicks": 50,
              "clicks": 70, "human_clicks": 60, "machine_clicks": 10},
        "b": {"impressions": 900, "unique_impressions": 800, "unique_clicks": 8, "clicks": 8},
    }  # fmt: skip
    sent = {"a": 1000, "b": 800}
    return {"totals": figures(1800, None), "rows": rows("variant", sent, counts)}


def test_stats_table_has_aligned_rows_and_a_total_under_a_rule():
    lines = render(_result(), "variant").splitlines()
    assert lines[0].split()[:2] == ["variant", "sent"]
    assert lines[1].startswith("─") and lines[-2].startswith("─")
    assert lines[-1].startswith("TOTAL")
    a = next(line for line in lines if line.startswith("a "))
    assert "1,200 (1,000)" in a and "70 (50)" in a and "5.0%" in a
    assert len({len(line) for line in lines[:2]}) == 1, "header as wide as its rule"
    assert a.index("5.0%") + 4 == lines[0].index("CTR") + 3, "numbers end under their title"


def test_stats_table_without_grouping_is_the_total_line():
    lines = render({"totals": figures(3, None), "rows": []}, None).splitlines()
    assert len(lines) == 3 and lines[2].split()[0] == "3"


def _cli_stats(url: str, *args: str) -> str:
    result = CliRunner().invoke(
        main, ["stats", "--campaign", "spring", *args], env={"SIGRELAY_STORE__URL": url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_stats_json_csv_and_table_carry_the_landing_page_figures(seeded: Store):
    url = str(seeded.engine.url)
    result = json.loads(_cli_stats(url, "--json"))
    totals = result["totals"]
    assert (totals["visits"], totals["unique_visits"]) == (3, 2)
    (human,) = result["reasons"]  # the seed's events are all a person's
    assert (human["reason"], human["impression"], human["click"]) == ("human", 20, 7)
    assert (totals["link_clicks"], totals["downloads"], totals["unique_downloads"]) == (1, 1, 1)
    by_variant = list(csv.DictReader(io.StringIO(_cli_stats(url, "--csv", "--by", "variant"))))
    assert [(r["variant"], r["visits"], r["unique_visits"]) for r in by_variant] == [
        ("a", "0", "0"),
        ("b", "3", "2"),
        ("TOTAL", "3", "2"),
    ]
    header, _, *rows = _cli_stats(url, "--by", "variant", "--wide").splitlines()
    assert "visits (unique)" in header and "downloads (unique)" in header
    b = next(line for line in rows if line.startswith("b "))
    assert "3 (2)" in b


def test_stats_fits_100_columns_explains_itself_and_gives_no_rate_without_impressions(
    seeded: Store,
):
    output = _cli_stats(str(seeded.engine.url), "--by", "variant")
    table = output.split("\n\n")[0].splitlines()
    assert max(len(line) for line in output.splitlines()) <= 100
    assert "visits" not in table[0]  # the landing page's columns: --wide
    assert "CTR: unique clicks / unique impressions" in output
    result = {
        "totals": figures(3, None),
        "rows": rows("variant", {"c": 3}, {"c": {"clicks": 2, "unique_clicks": 1}}),
    }
    c_line = next(line for line in render(result, "variant").splitlines() if line.startswith("c "))
    assert c_line.split()[-2] == "—", "a click without impressions has no CTR, not 0.0%"
    wide = render(_result(), "variant", wide=True).splitlines()[0]
    assert "machine clicks" in wide and len(wide) > 100
