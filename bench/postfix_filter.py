"""What a self-hosting admin builds instead of sigrelay: Postfix with altermime as a
pipe content filter reinjecting through sendmail (Postfix's FILTER_README, "simple
content filter"), for bench/relay.py to measure beside sigrelay in the same run.

One private Postfix instance (tests/postfixpeer.py: its own directory, loopback
ports only, no DNS) relays everything to the bench's smtp-sink and listens twice:
  - plain:    smtpd as is (the Postfix baseline);
  - filtered: smtpd -o content_filter=altermime-filter:dummy; the pipe service runs
              filter.sh as nobody: save the message, `altermime --input=FILE
              --disclaimer=...`, then `sendmail -C CONFIG_DIR -G -i -f sender --
              recipients` puts it back through pickup (which does not filter again).
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from peers import free_port  # noqa: E402
from postfixpeer import PostfixInstance  # noqa: E402

# The same words sigrelay's example signature carries, as altermime takes them.
DISCLAIMER_TEXT = "--\nAnna Schmidt\nExample GmbH\nhttps://example.com/\n"
DISCLAIMER_HTML = (
    '<p>Anna Schmidt<br>Example GmbH | <a href="https://example.com/">example.com</a></p>\n'
)

# FILTER_README's script, with its exit codes: 75 (EX_TEMPFAIL) makes Postfix retry,
# 69 (EX_UNAVAILABLE) bounces.
_FILTER_SCRIPT = """\
#!/bin/sh
INSPECT_DIR={inspect_dir}
SENDMAIL="/usr/sbin/sendmail -C {config_dir} -G -i"
trap "rm -f in.$$" 0 1 2 3 15
cd $INSPECT_DIR || {{ echo $INSPECT_DIR does not exist; exit 75; }}
cat >in.$$ || {{ echo Cannot save mail to file; exit 75; }}
/usr/bin/altermime --input=in.$$ --disclaimer={root}/disclaimer.txt \\
    --disclaimer-html={root}/disclaimer.html --htmltoo >/dev/null || {{
    echo Message content rejected; exit 69; }}
$SENDMAIL "$@" <in.$$
exit $?
"""

_FILTER_SERVICES = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o content_filter=altermime-filter:dummy
altermime-filter unix - n n - 10 pipe
  flags=Rq user=nobody null_sender=
  argv={root}/filter.sh -f ${{sender}} -- ${{recipient}}
"""

# Postfix lets a user other than root name a configuration directory (sendmail -C,
# as the filter does as nobody) only when the default main.cf lists it.
_DEFAULT_MAIN_CF = Path("/etc/postfix/main.cf")


@dataclass(frozen=True)
class PostfixPorts:
    plain: int  # smtpd without a filter
    filtered: int  # smtpd with content_filter = altermime-filter:dummy
    queue: Path  # the instance's queue directory

    def queued(self) -> int:
        """Messages anywhere in the queue; 0 once every one reached the sink."""
        return sum(
            len(files)
            for name in ("maildrop", "incoming", "active", "deferred", "hold")
            for _, _, files in os.walk(self.queue / name)
        )


@contextmanager
def postfix_with_altermime(sink_port: int) -> Iterator[PostfixPorts]:
    instance = PostfixInstance(relayhost=f"127.0.0.1:{sink_port}")
    filtered_port = free_port()
    _write_filter(instance.root, instance.config_dir)
    try:
        with _alternate_config_directory(instance.config_dir):
            instance.start()
            with (instance.config_dir / "master.cf").open("a") as master_cf:
                master_cf.write(_FILTER_SERVICES.format(port=filtered_port, root=instance.root))
            subprocess.run(
                ["postfix", "-c", str(instance.config_dir), "reload"],
                check=True,
                capture_output=True,
            )
            yield PostfixPorts(instance.port, filtered_port, instance.root / "queue")
    finally:
        instance.cleanup()


def _write_filter(root: Path, config_dir: Path) -> None:
    inspect_dir = root / "filter"
    inspect_dir.mkdir()
    nobody = pwd.getpwnam("nobody")
    os.chown(inspect_dir, nobody.pw_uid, nobody.pw_gid)
    (root / "disclaimer.txt").write_text(DISCLAIMER_TEXT)
    (root / "disclaimer.html").write_text(DISCLAIMER_HTML)
    script = root / "filter.sh"
    script.write_text(
        _FILTER_SCRIPT.format(inspect_dir=inspect_dir, config_dir=config_dir, root=root)
    )
    script.chmod(0o755)


@contextmanager
def _alternate_config_directory(config_dir: Path) -> Iterator[None]:
    """List `config_dir` in the default main.cf for the run; restore it afterwards."""
    original = _DEFAULT_MAIN_CF.read_bytes() if _DEFAULT_MAIN_CF.exists() else None
    line = f"\nalternate_config_directories = {config_dir}\n"
    _DEFAULT_MAIN_CF.write_bytes((original or b"") + line.encode())
    try:
        yield
    finally:
        if original is None:
            _DEFAULT_MAIN_CF.unlink()
        else:
            _DEFAULT_MAIN_CF.write_bytes(original)
