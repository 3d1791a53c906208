"""Directory sync from LDAP / Active Directory: the network and file part.

The mapping is config/directory_ldap.py (pure); here ldap3 reads the entries
(paged, so AD's 1,000-entry page limit does not cut the list), the result is
checked by loading it exactly as the loader will, and only then written, with
the photos beside it, durably. A failed sync (server down, wrong password, a
search that finds nobody) raises DirectorySyncError and leaves the last good
directory in place; the running relay keeps using it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ldap3
from ldap3.core.exceptions import LDAPException

from config import Config
from config.directory import Directory, load_directory
from config.directory_ldap import DirectoryChanges, directory_changes, directory_csv, read_entries
from config.durable import fsync_dir, write_durably
from config.errors import ConfigErrors
from config.schema_directory import LdapDirectorySection, synced_directory_file

log = logging.getLogger("sigrelay.directory")
PAGE_SIZE = 500


class DirectorySyncError(Exception):
    """The sync did not change anything; the message says why and what to do."""


@dataclass
class SyncReport:
    employees: int
    changes: DirectoryChanges
    skipped: list[tuple[str, str]] = field(default_factory=list)
    written: bool = False


def _password(section: LdapDirectorySection, cfg: Config, env: Mapping[str, str]) -> str | None:
    if section.password_env:
        if section.password_env not in env:
            raise DirectorySyncError(
                f"[directory.ldap] password_env: {section.password_env} is not set"
            )
        return env[section.password_env]
    if section.password_file:
        path = cfg.config_dir / section.password_file.expanduser()
        try:
            return path.read_text(encoding="utf-8").removesuffix("\n")
        except OSError as exc:
            reason = f"[directory.ldap] password_file {path}: {exc.strerror}"
            raise DirectorySyncError(reason) from None
    return None


def fetch_entries(
    section: LdapDirectorySection, password: str | None, config_dir: Path
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """(dn, raw attributes) of every entry the filter finds, page by page."""
    tls = None
    if section.url.startswith("ldaps://") or section.ca_file:
        ca = str(config_dir / section.ca_file) if section.ca_file else None
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca)
    server = ldap3.Server(
        section.url, connect_timeout=section.timeout_seconds, get_info=ldap3.NONE, tls=tls
    )
    connection = ldap3.Connection(
        server,
        user=section.bind_dn,
        password=password,
        read_only=True,
        raise_exceptions=True,
        receive_timeout=section.timeout_seconds,
    )
    attributes = {*section.attributes.values(), section.alias_attribute, "userAccountControl"}
    attributes |= set(section.photo_attributes)
    if section.disabled_attribute:
        attributes.add(section.disabled_attribute)
    connection.bind()
    try:
        for item in connection.extend.standard.paged_search(
            section.base_dn,
            section.filter,
            attributes=sorted(attributes),
            paged_size=PAGE_SIZE,
            generator=True,
        ):
            if item.get("type") == "searchResEntry":
                yield item["dn"], item["raw_attributes"]
    finally:
        connection.unbind()


def sync_directory(
    cfg: Config,
    env: Mapping[str, str],
    *,
    dry_run: bool = False,
    fetch: Callable[..., Iterator] = fetch_entries,
) -> SyncReport:
    section = cfg.directory.ldap
    if section is None:
        raise DirectorySyncError("no [directory.ldap] in the configuration: the CSV is used")
    target = synced_directory_file(cfg.data.dir)
    try:
        entries = list(fetch(section, _password(section, cfg, env), cfg.config_dir))
    except LDAPException as exc:
        raise DirectorySyncError(
            f"LDAP {section.url}: {type(exc).__name__}: {exc}; the last good directory "
            f"stays ({target}). Check url, bind_dn, the password and base_dn."
        ) from None
    read = read_entries(entries, section)
    if not read.rows:
        raise DirectorySyncError(
            f"the search under {section.base_dn!r} with {section.filter} found no employee "
            f"({len(read.skipped)} left out); the last good directory stays ({target})"
        )
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    candidate = target.with_name(target.name + ".new")
    write_durably(candidate, directory_csv(read.rows))
    try:
        new = load_directory(candidate)
    except ConfigErrors as exc:
        raise DirectorySyncError(f"the directory read is not valid: {exc.message}") from None
    old = load_directory(target) if target.is_file() else Directory([])
    report = SyncReport(len(new), directory_changes(old, new), read.skipped)
    if dry_run:
        candidate.unlink()
        return report
    _write_photos(target.parent / "photos", read.photos)
    candidate.replace(target)
    fsync_dir(target.parent)
    report.written = True
    return report


def _write_photos(directory: Path, photos: Mapping[str, bytes]) -> None:
    """Named by content hash: a changed photo is a new file (no stale caches);
    photos nobody uses any more are removed."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    for name, data in photos.items():
        if not (directory / name).is_file():
            write_durably(directory / name, data)
    for old in directory.iterdir():
        if old.name not in photos:
            old.unlink()


async def sync_periodically(current: Callable[[], Config], env: Mapping[str, str]) -> None:
    """Sync every [directory.ldap] interval_minutes; the config watcher sees the
    new CSV and reloads. A failure is logged and the last good directory stays."""
    while True:
        section = current().directory.ldap
        if section is None or section.interval_minutes == 0:
            await asyncio.sleep(60)
            continue
        try:
            report = await asyncio.to_thread(sync_directory, current(), env)
        except DirectorySyncError as exc:
            log.error("directory sync failed: %s", exc)
        else:
            changes = report.changes
            log.info(
                "directory sync: %d employees, %d added, %d removed, %d changed, %d left out",
                report.employees, len(changes.added), len(changes.removed),
                len(changes.changed), len(report.skipped),
            )  # fmt: skip
        await asyncio.sleep(section.interval_minutes * 60)
