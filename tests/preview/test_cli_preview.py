"""`sigrelay preview` on the example configuration: the files it writes and what it says."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from click.testing import CliRunner

from sigrelay.cli import main

SENDER = "anna.schmidt@example.com"


def _run(env: dict[str, str], *args: str):
    result = CliRunner().invoke(main, ["preview", "--from", SENDER, *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_without_a_message_it_previews_a_new_mail_and_a_reply(env, tmp_path: Path):
    out = tmp_path / "out"
    rcpts = ["--to", "max@customer.test", "--to", "eva@partner.test"]
    result = _run(env, *rcpts, "--out", str(out), "--no-screenshots")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "new-1.eml", "new-1.html", "new-2.eml", "new-2.html",
        "reply-1.eml", "reply-1.html", "reply-2.eml", "reply-2.html",
    ]  # fmt: skip
    for name in names:
        assert f"wrote {out / name}" in result.output
    assert "new: 2 copies, group sales, privacy personal, campaign spring-launch/" in result.output
    assert "throw-away preview key" in result.output
    reply = message_from_bytes((out / "reply-1.eml").read_bytes(), policy=default_policy)
    assert reply["Subject"] == "Re: Our offer"
    assert reply["X-Sigrelay-Processed"]
    html = (out / "reply-1.html").read_text()
    # The reply signature sits above the quoted thread.
    assert html.index("Anna Schmidt") < html.index("wrote:") < html.index("could we meet")


def test_a_message_file_is_previewed_under_its_name(env, tmp_path: Path):
    message = tmp_path / "offer.eml"
    message.write_bytes(
        b"From: anna.schmidt@example.com\r\nTo: max@customer.test\r\nSubject: Offer\r\n"
        b"Bcc: secret@customer.test\r\n\r\nHello,\r\n\r\nour offer.\r\n"
    )
    out = tmp_path / "out"
    _run(env, "--to", "max@customer.test", str(message), "--out", str(out), "--no-screenshots")
    assert sorted(p.name for p in out.iterdir()) == ["offer-1.eml"]  # plain text: no HTML
    data = (out / "offer-1.eml").read_bytes()
    assert b"Bcc:" not in data  # removed, as the relay removes it
    body = message_from_bytes(data, policy=default_policy).get_content()
    assert "our offer.\r\n\r\n-- \r\nAnna Schmidt" in body  # RFC 3676 delimiter, then the signature


def test_json_is_one_document_with_files_and_facts(env, tmp_path: Path):
    out = tmp_path / "out"
    args = ["--to", "max@customer.test", "--to", "kim@example.com", "--out", str(out)]
    result = _run(env, *args, "--no-screenshots", "--json")
    document = json.loads(result.output)
    new, reply = document["previews"]
    assert (new["name"], reply["name"]) == ("new", "reply")
    assert new["group"] == "sales" and new["privacy"] == "personal"
    copies = {tuple(c["recipients"]): c for c in new["copies"]}
    assert copies[("kim@example.com",)]["tracked"] is False  # internal: never tracked
    assert copies[("max@customer.test",)]["privacy"] == "personal"
    for copy in new["copies"]:
        assert Path(copy["files"]["eml"]).is_file() and Path(copy["files"]["html"]).is_file()
    assert document["screenshots"] == "no screenshots: --no-screenshots"


def test_no_key_file_is_created_and_the_admin_is_told(env, tmp_path: Path):
    without_keys = {k: v for k, v in env.items() if k != "SIGRELAY_TOKEN_KEYS"}
    result = _run(
        without_keys, "--to", "max@customer.test", "--out", str(tmp_path / "o"), "--no-screenshots"
    )
    assert "banner images will not load" in result.output
    assert not (Path(env["SIGRELAY_DATA"]) / "token-keys").exists()
