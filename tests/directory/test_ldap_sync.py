"""Directory sync against a real OpenLDAP (Debian slapd) holding AD-like entries:
Active Directory's attribute names (displayName, department, proxyAddresses,
userAccountControl, thumbnailPhoto), bound as a read-only service account."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from click.testing import CliRunner
from slapdpeer import SUFFIX, Slapd

from config import load_config
from config.schema_directory import synced_directory_file
from sigrelay.cli import main
from sigrelay.directory_sync import DirectorySyncError, sync_directory, sync_periodically

SYNC_DN = f"cn=sigrelay-sync,ou=service,{SUFFIX}"
SYNC_PASSWORD = "sync-secret-4711"
ADMIN_PASSWORD = "admin-secret-0815"
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-test-photo" * 20

# The attributes AD has and OpenLDAP's schemas lack, with AD's own OIDs.
AD_SCHEMA = """
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.2.141 NAME 'department'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113730.3.1.35 NAME 'thumbnailPhoto'
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.99.1 NAME 'adUser' SUP top AUXILIARY
  MAY ( userAccountControl $ proxyAddresses $ department $ thumbnailPhoto ) )
"""
ACCESS = f"""access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{SYNC_DN}" read by * none"""


def _person(uid: str, lines: str) -> str:
    return (
        f"dn: uid={uid},ou=staff,{SUFFIX}\nobjectClass: inetOrgPerson\nobjectClass: adUser\n"
        f"uid: {uid}\ncn: {uid}\nsn: {uid}\n{lines}"
    )


ENTRIES = "\n".join(
    [
        f"dn: ou=service,{SUFFIX}\nobjectClass: organizationalUnit\nou: service\n",
        f"dn: {SYNC_DN}\nobjectClass: person\nobjectClass: simpleSecurityObject\n"
        f"cn: sigrelay-sync\nsn: sync\nuserPassword: {{hash:{SYNC_PASSWORD}}}\n",
        f"dn: ou=staff,{SUFFIX}\nobjectClass: organizationalUnit\nou: staff\n",
        _person(
            "anna",
            "mail: anna.schmidt@example.com\ndisplayName: Anna Schmidt\n"
            "title: Key Account Manager\ntelephoneNumber: +49 30 1234567-10\n"
            "department: Sales\nuserAccountControl: 512\n"
            "proxyAddresses: SMTP:anna.schmidt@example.com\n"
            "proxyAddresses: smtp:sales-anna@example.com\n"
            "proxyAddresses: X500:/o=Example/ou=Exchange/cn=Recipients/cn=anna\n"
            f"thumbnailPhoto:: {base64.b64encode(PHOTO).decode()}\n",
        ),
        _person(
            "ben",
            "mail: ben.mueller@example.com\ndisplayName: Ben Müller\n"
            "title: Software Engineer\ndepartment: Engineering\nuserAccountControl: 66048\n",
        ),
        # 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE: someone who left.
        _person(
            "carl",
            "mail: carl.left@example.com\ndisplayName: Carl Left\nuserAccountControl: 514\n",
        ),
        _person("printer", "displayName: Printer without mail\n"),
    ]
)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[Slapd]:
    server = Slapd(
        tmp_path_factory.mktemp("slapd"),
        [],
        entries=ENTRIES,
        schema=AD_SCHEMA,
        access=ACCESS,
        admin_password=ADMIN_PASSWORD,
    )
    server.start()
    yield server
    server.stop()


def _config(
    tmp_path: Path,
    slapd: Slapd,
    *,
    filter_: str | None = None,
    url: str | None = None,
    extra: str = "",
) -> tuple[Path, dict]:
    directory = tmp_path / "config"
    (directory / "templates").mkdir(parents=True)
    (directory / "templates" / "sig.html").write_text("<b>{{ name }}</b> {{ title }}")
    (directory / "templates" / "sig.txt").write_text("{{ name }}")
    ldap = (
        f'[directory.ldap]\nurl = "{url or slapd.url}"\nbase_dn = "ou=staff,{SUFFIX}"\n'
        f'bind_dn = "{SYNC_DN}"\npassword_env = "SYNC_PW"\n'
    )
    if filter_:
        ldap += f'filter = "{filter_}"\n'
    ldap += extra
    (directory / "sigrelay.toml").write_text(
        '[[groups]]\nname = "default"\nsignature_html = "sig.html"\n'
        'signature_text = "sig.txt"\n' + ldap
    )
    env = {"SIGRELAY_DATA": str(tmp_path / "data"), "SYNC_PW": SYNC_PASSWORD}
    return directory, env


def _run(args: list[str], env: dict) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    return result.exit_code, result.output


def test_dry_run_shows_the_changes_and_writes_nothing(tmp_path, slapd):
    directory, env = _config(tmp_path, slapd)
    code, output = _run(["directory", "sync", "--dry-run", "--config", str(directory)], env)
    assert code == 0, output
    assert "+ anna.schmidt@example.com" in output and "+ ben.mueller@example.com" in output
    assert "carl.left@example.com" not in output.replace("left out", "")
    assert "uid=carl,ou=staff,dc=example,dc=com: disabled account" in output
    assert "printer" not in output  # no mail: the default filter does not find it
    assert "2 employees; 2 employee(s) would change (dry run)" in output
    assert not synced_directory_file(tmp_path / "data").exists()


def test_sync_writes_a_directory_the_relay_uses(tmp_path, slapd):
    directory, env = _config(tmp_path, slapd)
    code, output = _run(["directory", "sync", "--json", "--config", str(directory)], env)
    assert code == 0, output
    document = json.loads(output)
    assert document["added"] == ["anna.schmidt@example.com", "ben.mueller@example.com"]
    assert document["written"] is True
    cfg = load_config(directory, env)
    anna = cfg.sender("sales-anna@example.com").employee  # alias from proxyAddresses
    assert anna is not None and anna.email == "anna.schmidt@example.com"
    assert anna.title == "Key Account Manager" and anna.department == "Sales"
    assert cfg.sender("carl.left@example.com").employee is None
    photo = synced_directory_file(tmp_path / "data").parent / "photos" / anna.extra["photo"]
    assert photo.read_bytes() == PHOTO
    assert "Anna Schmidt" in cfg.signature_for(cfg.sender("anna.schmidt@example.com")).html


def test_a_change_in_ldap_shows_as_a_change(tmp_path, slapd):
    directory, env = _config(tmp_path, slapd)
    assert _run(["directory", "sync", "--config", str(directory)], env)[0] == 0
    admin = ldap3.Connection(
        ldap3.Server(slapd.url), f"cn=admin,{SUFFIX}", ADMIN_PASSWORD, auto_bind=True
    )
    dn = f"uid=ben,ou=staff,{SUFFIX}"
    admin.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Staff Engineer"])]})
    try:
        code, output = _run(["directory", "sync", "--config", str(directory)], env)
        assert code == 0, output
        assert "~ ben.mueller@example.com: title" in output
        assert load_config(directory, env).sender("ben.mueller@example.com").employee.title == (
            "Staff Engineer"
        )
    finally:
        admin.modify(dn, {"title": [(ldap3.MODIFY_REPLACE, ["Software Engineer"])]})
        admin.unbind()


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ("password", "invalidCredentials"),
        ("filter", "found no employee"),
        ("server", "LDAPSocketOpenError"),
    ],
)
def test_a_failed_sync_keeps_the_last_good_directory_and_says_why(
    tmp_path, slapd, breakage, reason
):
    directory, env = _config(tmp_path, slapd)
    assert _run(["directory", "sync", "--config", str(directory)], env)[0] == 0
    target = synced_directory_file(tmp_path / "data")
    before = target.read_bytes()
    if breakage == "password":
        env = env | {"SYNC_PW": "wrong"}
    else:
        changed = (
            {"filter_": "(mail=nobody@*)"}
            if breakage == "filter"
            else {"url": "ldap://127.0.0.1:1"}
        )
        directory, env = _config(tmp_path / breakage, slapd, **changed)
        target = synced_directory_file(tmp_path / breakage / "data")
        target.parent.mkdir(parents=True)
        target.write_bytes(before)
    cfg = load_config(directory, env)
    with pytest.raises(DirectorySyncError, match=reason) as caught:
        sync_directory(cfg, env)
    assert "last good directory stays" in str(caught.value)
    assert target.read_bytes() == before


async def test_the_service_syncs_periodically_and_logs_a_failure(tmp_path, slapd, caplog):
    directory, env = _config(tmp_path, slapd, extra="interval_minutes = 0.001\n")
    cfg = load_config(directory, env)
    target = synced_directory_file(tmp_path / "data")
    task = asyncio.create_task(sync_periodically(lambda: cfg, env))
    try:
        await _until(target.exists)
        target.unlink()
        await _until(target.exists)  # and again: it is periodic
        broken = env | {"SYNC_PW": "wrong"}
        task.cancel()
        task = asyncio.create_task(sync_periodically(lambda: cfg, broken))
        await _until(lambda: "directory sync failed" in caplog.text)
        assert "invalidCredentials" in caplog.text and SYNC_PASSWORD not in caplog.text
        assert target.exists()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
