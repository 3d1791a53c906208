"""LDAP / Active Directory entries → the employee directory, as plain functions.

`sigrelay directory sync` (sigrelay/directory_sync.py) does the network part
and hands the entries here: each entry is a mapping of attribute name to its
list of values (bytes or str, as the server sent them). What comes out is the
same CSV the admin could have written by hand, so everything downstream
(loader, sender checks, templates, reload) stays one path.

Left out, each with its reason: disabled accounts (AD's userAccountControl
ACCOUNTDISABLE bit, or the configured `disabled_attribute`), entries without
a valid address, and addresses another entry already owns.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from config.directory import ADDRESS, KNOWN_COLUMNS, Directory, Employee
from config.schema_directory import LdapDirectorySection

ACCOUNTDISABLE = 0x2  # userAccountControl flag, [MS-ADTS] 2.2.16
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
# AD's thumbnailPhoto is limited to 100 KB; anything above is not a signature photo.
MAX_PHOTO_BYTES = 200 * 1024
Entry = Mapping[str, Sequence[bytes | str]]


@dataclass
class DirectoryRead:
    """One sync's result: the CSV rows, the photos by file name, what was left out."""

    rows: list[dict[str, str]] = field(default_factory=list)
    photos: dict[str, bytes] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (dn or address, reason)


def _text(values: Sequence[bytes | str] | None) -> list[str]:
    out = []
    for value in values or ():
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text.strip():
            out.append(text.strip())
    return out


def _first(entry: Entry, attribute: str) -> str:
    values = _text(_get(entry, attribute))
    return values[0] if values else ""


def _get(entry: Entry, attribute: str) -> Sequence[bytes | str] | None:
    """LDAP attribute names are case-insensitive."""
    if attribute in entry:
        return entry[attribute]
    lowered = attribute.lower()
    return next((v for k, v in entry.items() if k.lower() == lowered), None)


def is_disabled(entry: Entry, section: LdapDirectorySection) -> bool:
    flags = _first(entry, "userAccountControl")
    if flags.lstrip("-").isdigit() and int(flags) & ACCOUNTDISABLE:
        return True
    if section.disabled_attribute:
        marks = _text(_get(entry, section.disabled_attribute))
        return any(mark.lower() not in ("false", "0", "no") for mark in marks)
    return False


def aliases_of(entry: Entry, attribute: str, primary: str) -> list[str]:
    """Exchange's proxyAddresses: "SMTP:" is the primary, "smtp:" the others;
    X500:, SIP: and the like are not mail. Plain addresses are taken as they are."""
    found: list[str] = []
    for value in _text(_get(entry, attribute)):
        kind, colon, address = value.partition(":")
        if colon and kind.lower() != "smtp":
            if "@" not in kind:  # "x500:/o=..." rather than an address with a colon
                continue
            address = value
        elif not colon:
            address = value
        if address.lower() != primary.lower() and address.lower() not in map(str.lower, found):
            found.append(address)
    return found


def photo_of(entry: Entry, section: LdapDirectorySection) -> tuple[str, bytes] | None:
    """(file name by content hash, bytes) of the first JPEG/PNG photo attribute
    no larger than MAX_PHOTO_BYTES (a huge one would weigh down every mail)."""
    for attribute in section.photo_attributes:
        for value in _get(entry, attribute) or ():
            if not isinstance(value, bytes) or len(value) > MAX_PHOTO_BYTES:
                continue
            kind = next((ext for magic, ext in PHOTO_TYPES.items() if value.startswith(magic)), "")
            if kind:
                return f"{hashlib.sha256(value).hexdigest()[:20]}.{kind}", value
    return None


def _has_oversized_photo(entry: Entry, section: LdapDirectorySection) -> bool:
    return any(
        isinstance(value, bytes) and len(value) > MAX_PHOTO_BYTES
        for attribute in section.photo_attributes
        for value in _get(entry, attribute) or ()
    )


def read_entries(
    entries: Iterable[tuple[str, Entry]], section: LdapDirectorySection
) -> DirectoryRead:
    """(dn, attributes) pairs → rows; in dn order so that who wins a disputed
    alias does not depend on the order the server answered in."""
    result = DirectoryRead()
    owners: dict[str, str] = {}
    for dn, entry in sorted(entries, key=lambda pair: pair[0].lower()):
        if is_disabled(entry, section):
            result.skipped.append((dn, "disabled account"))
            continue
        row = {column: _first(entry, attribute) for column, attribute in section.attributes.items()}
        email = row["email"]
        if not ADDRESS.fullmatch(email):
            result.skipped.append((dn, f"no valid mail address ({email!r})"))
            continue
        if email.lower() in owners:
            result.skipped.append((dn, f"{email} already belongs to {owners[email.lower()]}"))
            continue
        aliases = []
        for alias in aliases_of(entry, section.alias_attribute, email):
            if not ADDRESS.fullmatch(alias) or alias.lower() in owners:
                result.skipped.append((dn, f"alias {alias} left out (invalid or taken)"))
                continue
            aliases.append(alias)
        for address in (email, *aliases):
            owners[address.lower()] = dn
        row["aliases"] = " ".join(aliases)
        photo = photo_of(entry, section)
        if photo is None and _has_oversized_photo(entry, section):
            result.skipped.append((dn, f"photo left out: larger than {MAX_PHOTO_BYTES} bytes"))
        if photo:
            row["photo"] = photo[0]
            result.photos[photo[0]] = photo[1]
        result.rows.append(row)
    return result


def directory_csv(rows: list[dict[str, str]]) -> bytes:
    """The rows as the CSV load_directory reads: known columns first, then the
    rest in name order, rows by address; the same directory gives the same bytes."""
    extra = sorted({key for row in rows for key in row} - set(KNOWN_COLUMNS))
    columns = [*KNOWN_COLUMNS, *extra]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["email"].lower()):
        writer.writerow({column: row.get(column, "") for column in columns})
    return buffer.getvalue().encode("utf-8")


@dataclass(frozen=True)
class DirectoryChanges:
    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]  # address -> the fields that differ

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        out = [f"+ {address}" for address in self.added]
        out += [f"- {address}" for address in self.removed]
        out += [f"~ {a}: {', '.join(fields)}" for a, fields in sorted(self.changed.items())]
        return out


def directory_changes(old: Directory, new: Directory) -> DirectoryChanges:
    def by_address(directory: Directory) -> dict[str, Employee]:
        return {employee.email.lower(): employee for employee in directory}

    before, after = by_address(old), by_address(new)
    changed: dict[str, list[str]] = {}
    for address in sorted(before.keys() & after.keys()):
        a, b = before[address].template_fields(), after[address].template_fields()
        fields = sorted(k for k in a.keys() | b.keys() if a.get(k, "") != b.get(k, ""))
        if fields:
            changed[address] = fields
    return DirectoryChanges(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=changed,
    )
