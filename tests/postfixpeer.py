"""A private Postfix instance on loopback, as a test's upstream or client MTA.

Each instance lives in its own directory (config, queue, data, Maildir), listens
only on a free loopback port, never looks up DNS, and is stopped by
`postfix -c DIR stop`. Mail for any domain is accepted and delivered into one
Maildir that the test reads (`maildir`), unless `relayhost` is given: then
Postfix forwards everything there (Postfix as the client-side MTA).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from peers import free_port, missing_peer, require_binary


def _traversable_tempdir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="sigrelay-postfix-"))
    root.chmod(0o755)
    return root


_SERVICES = """\
{listen} inet n - n - - smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
virtual   unix - n n - - virtual
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


@dataclass
class PostfixInstance:
    # Postfix's unprivileged processes must traverse it: pytest's tmp_path is 0700,
    # so each instance gets its own 0755 directory, removed again by cleanup().
    root: Path = field(default_factory=lambda: _traversable_tempdir())
    relayhost: str | None = None  # "127.0.0.1:2525": forward everything there
    port: int = field(default_factory=free_port)
    extra: dict[str, str] = field(default_factory=dict)
    # Files written into the config directory before start (lookup tables such as
    # header_checks): main.cf names them as $config_directory/NAME.
    files: dict[str, str] = field(default_factory=dict)
    services: str = ""  # more master.cf lines (a reinjection listener, a filter transport)

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / "inbox"

    @property
    def log_file(self) -> Path:
        return self.root / "maillog"

    def _main_cf(self) -> dict[str, str]:
        nobody = pwd.getpwnam("nobody")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.root / "queue"),
            "data_directory": str(self.root / "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(self.root),
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": f"postfix-{self.port}.test",
            "mydestination": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            # No DNS anywhere: the only next hop is a loopback address.
            "disable_dns_lookups": "yes",
            "smtp_host_lookup": "native",
            "smtp_dns_support_level": "disabled",
            "smtputf8_enable": "yes",
            "message_size_limit": "52428800",
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtpd_banner": "$myhostname ESMTP",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        }
        if self.relayhost:
            settings["relayhost"] = (
                f"[{self.relayhost.rsplit(':', 1)[0]}]:" + self.relayhost.rsplit(":", 1)[1]
            )
            settings["default_transport"] = "smtp"
        else:
            settings |= {
                "virtual_mailbox_domains": "static:all",
                "virtual_mailbox_base": str(self.root / "mail"),
                "virtual_mailbox_maps": "static:inbox/",
                "virtual_uid_maps": f"static:{nobody.pw_uid}",
                "virtual_gid_maps": f"static:{nobody.pw_gid}",
                "virtual_minimum_uid": "1",
                "virtual_mailbox_limit": "0",
            }
        return settings | self.extra

    def start(self) -> None:
        postfix = require_binary("postfix", "postfix")
        if os.geteuid() != 0:
            missing_peer("a private Postfix instance needs root (postfix -c DIR start)")
        self.config_dir.mkdir(parents=True)
        (self.root / "mail").mkdir()
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        owner = pwd.getpwnam("postfix")
        os.chown(self.root / "data", owner.pw_uid, owner.pw_gid)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.root / "mail", nobody.pw_uid, nobody.pw_gid)
        main_cf = "".join(f"{k} = {v}\n" for k, v in self._main_cf().items())
        (self.config_dir / "main.cf").write_text(main_cf)
        for name, content in self.files.items():
            (self.config_dir / name).write_text(content)
        listen = f"127.0.0.1:{self.port}"
        (self.config_dir / "master.cf").write_text(_SERVICES.format(listen=listen) + self.services)
        shutil.copy("/etc/postfix/dynamicmaps.cf", self.config_dir / "dynamicmaps.cf")
        self._postfix(postfix, "start")

    def stop(self) -> None:
        postfix = shutil.which("postfix", path="/usr/sbin:/usr/bin")
        if postfix and (self.root / "queue" / "pid" / "master.pid").exists():
            self._postfix(postfix, "stop")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _postfix(self, postfix: str, command: str) -> None:
        result = subprocess.run(
            [postfix, "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(f"postfix {command} failed: {result.stderr}\n{log}")

    def delivered(self) -> list[bytes]:
        """Every message in the Maildir's new/, oldest first."""
        new = self.maildir / "new"
        if not new.exists():
            return []
        return [p.read_bytes() for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)]

    async def wait_delivered(self, count: int, timeout: float = 30) -> list[bytes]:
        """Wait until the Maildir holds `count` messages (checked every 50 ms,
        failing after `timeout`): Postfix gives no other signal for delivery."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(messages := self.delivered()) < count:
            if loop.time() > deadline:
                log = self.log_file.read_text() if self.log_file.exists() else "(no log)"
                raise AssertionError(f"{len(messages)}/{count} delivered by Postfix\n{log}")
            await asyncio.sleep(0.05)
        return messages


def milter_settings(port: int) -> dict[str, str]:
    """What the README's Postfix section puts into main.cf for the milter."""
    return {
        "smtpd_milters": f"inet:127.0.0.1:{port}",
        "non_smtpd_milters": f"inet:127.0.0.1:{port}",
        # The milter down or too slow: mail goes on unsigned, never held or refused.
        "milter_default_action": "accept",
        "milter_connect_timeout": "10s",
        "milter_content_timeout": "60s",
    }


def content_filter_settings(relay_port: int, reinject_port: int) -> tuple[dict[str, str], str]:
    """main.cf and master.cf lines of the README's content_filter setup: every
    message Postfix receives goes to sigrelay after the queue; sigrelay gives it
    back on a reinjection port that filters no more (Postfix's FILTER_README)."""
    main_cf = {"content_filter": f"sigrelay:[127.0.0.1]:{relay_port}"}
    master_cf = (
        "sigrelay  unix  -  -  n  -  10  smtp\n"
        "  -o disable_mime_output_conversion=yes\n"
        f"127.0.0.1:{reinject_port} inet n - n - - smtpd\n"
        "  -o content_filter=\n"
        "  -o receive_override_options="
        "no_unknown_recipient_checks,no_header_body_checks,no_milters\n"
        "  -o mynetworks=127.0.0.0/8\n"
        "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
    )
    return main_cf, master_cf


@pytest.fixture
async def postfix() -> AsyncIterator[Callable[..., PostfixInstance]]:
    """`postfix(**options)` starts a PostfixInstance; every one is removed afterwards."""
    instances: list[PostfixInstance] = []

    def start(**options) -> PostfixInstance:
        instance = PostfixInstance(**options)
        instances.append(instance)
        instance.start()
        return instance

    yield start
    for instance in instances:
        await asyncio.to_thread(instance.cleanup)
