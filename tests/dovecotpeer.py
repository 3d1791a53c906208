"""A private Dovecot IMAP server (Debian `dovecot-imapd`) on a free loopback port.

Users and a master user come from passwd-files in a temp dir; mail is Maildir
under it. Dovecot runs in the foreground (-F) and is stopped by its PID. Mail
processes may not run as root, so as root they run as Debian's `dovecot` user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from peers import free_port, require_binary, wait_listening

MASTER_SEPARATOR = "*"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = {separator}
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {root}/masters
  master = yes
  pass = yes
}}
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
namespace inbox {{
  inbox = yes
  mailbox {sent} {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
"""


class Dovecot:
    def __init__(
        self, root: Path, users: dict[str, str], masters: dict[str, str], sent: str = "Sent"
    ) -> None:
        # Dovecot's own processes run as `dovecot` when we are root: pytest's
        # temp dirs (0700, root's) are closed to them, so take one they may enter.
        self._own_root = os.getuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="sigrelay-dovecot-")) if self._own_root else root
        if self._own_root:
            self.root.chmod(0o711)
        self.sent = sent
        self.users = users
        self.masters = masters
        self.port = free_port()
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        dovecot = require_binary("dovecot", "dovecot-imapd")
        for name in ("run", "state", "mail", "home"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            account = pwd.getpwnam("dovecot")
            internal, internal_group, login = "dovecot", "dovecot", "dovenull"
            uid, gid = account.pw_uid, account.pw_gid
            for name in ("mail", "home"):
                shutil.chown(self.root / name, uid, gid)
        else:
            internal = login = pwd.getpwuid(os.getuid()).pw_name
            internal_group = grp.getgrgid(os.getgid()).gr_name
            uid, gid = os.getuid(), os.getgid()
        (self.root / "users").write_text(
            "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in self.users.items())
        )
        (self.root / "masters").write_text(
            "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in self.masters.items())
        )
        config = self.root / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                root=self.root, port=self.port, separator=MASTER_SEPARATOR, internal=internal,
                internal_group=internal_group, login=login, mail_uid=uid, mail_gid=gid,
                sent=self.sent,
            )
        )  # fmt: skip
        self._process = subprocess.Popen(
            [dovecot, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_listening(self._process, self.port, timeout)

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)
