"""The fuzz harnesses of tests/hardening/fuzz/, 30 seconds each, as a test.

All five run at once (one process each, started by a module fixture), so
the whole takes about 30 seconds of wall time instead of 150. A harness that
finds a crash exits non-zero and leaves the input in the test's tmp folder;
make it a regression test (docs/reliability.md, "Fuzzing"). The long runs
(1,000,000 executions each) are made by hand, see docs/reliability.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "atheris", reason="atheris comes with the dev extras (wheels checked on CPython 3.11)"
)

pytestmark = pytest.mark.fuzz
FUZZ = Path(__file__).parent / "fuzz"
TARGETS = ("rewriter", "tokens", "smtpdata", "senders", "optout")
SECONDS = 30


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.Popen]:
    started = {}
    for target in TARGETS:
        folder = tmp_path_factory.mktemp(f"fuzz-{target}")
        script = str(FUZZ / f"fuzz_{target}.py")
        subprocess.run([sys.executable, script, "--seed-into", str(folder / "corpus")], check=True)
        command = [
            sys.executable, script, f"-max_total_time={SECONDS}", "-max_len=65536",
            f"-artifact_prefix={folder}/", str(folder / "corpus"),
        ]  # fmt: skip
        log = open(folder / "log", "w+b")  # noqa: SIM115 (read back by the test)
        started[target] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        started[target].log = log  # type: ignore[attr-defined]
    yield started
    for proc in started.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_finds_nothing_in_30_seconds(runs, target):
    proc = runs[target]
    code = proc.wait(timeout=SECONDS + 60)
    proc.log.seek(0)
    output = proc.log.read().decode(errors="replace")
    assert code == 0, f"fuzz_{target} found a crash:\n{output[-3000:]}"
    assert "Done " in output, "libFuzzer ran and reported its executions"
