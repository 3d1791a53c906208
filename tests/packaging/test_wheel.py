"""The wheel is the product (issue 19, item 7): built from the source tree, it
carries the migrations, templates, static files and the example config, and
installed into a new venv, far from the source tree, `sigrelay serve` starts
on the example config, upgrades its store and signs a message.

The new venv borrows the test venv's installed dependencies (a .pth file)
instead of downloading them again: what is proven is that sigrelay itself,
imported from the wheel only, has every file it needs."""

from __future__ import annotations

import asyncio
import os
import shutil
import site
import smtplib
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from peers import free_port

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".venv", ".git", "data", "build", "*.egg-info", "__pycache__", ".*_cache")
CARRIED = (
    "tracker/store/migrations/env.py",
    "config/example/sigrelay.toml",
    "config/example/employees.csv",
    "config/example/templates/sales.html",
    "config/example/banners/spring-a.png",
    "tracker/dashboard/templates/base.html",
    "tracker/dashboard/static/dashboard.css",
    "tracker/machines.toml",
    "tracker/bot_patterns.txt",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # Built from a copy: setuptools leaves build/ and *.egg-info where it builds,
    # and a test writes nothing into the source tree.
    source = tmp_path_factory.mktemp("src") / "sigrelay"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    # `python -m build` as a packager runs it; --no-isolation: the dev extras hold
    # the build backend, so the test needs no download.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
         str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel_file,) = out.glob("sigrelay-*.whl")
    return wheel_file


def test_the_wheel_carries_migrations_templates_static_files_and_the_example(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in CARRIED if name not in names]
    assert missing == [], f"not in the wheel: {missing}"
    assert any(n.startswith("tracker/store/migrations/versions/") for n in names)
    assert not any(n.startswith("tests/") for n in names)


async def test_installed_in_a_new_venv_serve_starts_and_signs(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    with zipfile.ZipFile(wheel) as archive:  # installing a wheel is unpacking it
        archive.extractall(purelib)
    # The dependencies, not sigrelay: the test venv's site-packages, after the wheel's.
    deps = [p for p in site.getsitepackages() if "site-packages" in p]
    deps.append(sysconfig.get_paths()["purelib"])
    (Path(purelib) / "zz-test-dependencies.pth").write_text("\n".join(dict.fromkeys(deps)))
    # No sigrelay source anywhere on the path: run from elsewhere, no editable install.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGRELAY_", "PYTHON"))}
    relay_port, tracker_port = free_port(), free_port()
    env |= {
        "SIGRELAY_DATA": str(tmp_path / "data"),
        "SIGRELAY_RELAY__LISTEN": f"127.0.0.1:{relay_port}",
        "SIGRELAY_TRACKER__LISTEN": f"127.0.0.1:{tracker_port}",
        "SIGRELAY_TRACKER__PUBLIC_URL": f"http://127.0.0.1:{tracker_port}",
    }
    where = subprocess.run(
        [python, "-c", "import config, sigrelay; print(config.__file__, sigrelay.__file__)"],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert str(ROOT) not in where and purelib in where, where
    process = await asyncio.create_subprocess_exec(
        python, "-m", "sigrelay", "serve", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        log = ""
        while "sigrelay ready" not in log:
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert line, "serve exited:\n" + log
            log += line.decode(errors="replace")

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", relay_port, timeout=10) as client:
                client.sendmail(
                    "anna.schmidt@example.com",
                    ["kim@customer.test"],
                    b"From: anna.schmidt@example.com\r\nTo: kim@customer.test\r\n"
                    b"Subject: Hello\r\n\r\nHello Kim\r\n",
                )

        await asyncio.to_thread(send)
        outbox = tmp_path / "data" / "outbox" / "new"
        for _ in range(500):  # delivery is asynchronous; its file appears in a moment
            delivered = list(outbox.glob("*")) if outbox.exists() else []
            if delivered:
                break
            await asyncio.sleep(0.02)
        assert delivered, "nothing delivered:\n" + log
        assert b"Key Account Manager" in delivered[0].read_bytes()  # the example's template
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
