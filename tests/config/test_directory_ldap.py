"""LDAP entries → directory rows: the pure part of the directory sync."""

from __future__ import annotations

from config.directory import Directory, Employee, load_directory
from config.directory_ldap import (
    aliases_of,
    directory_changes,
    directory_csv,
    is_disabled,
    read_entries,
)
from config.schema_directory import LdapDirectorySection

SECTION = LdapDirectorySection(url="ldap://127.0.0.1", base_dn="dc=example,dc=com")


def test_active_directory_disabled_flag_and_a_configured_lock_attribute():
    assert is_disabled({"userAccountControl": [b"514"]}, SECTION)
    assert not is_disabled({"userAccountControl": [b"512"]}, SECTION)
    assert not is_disabled({"userAccountControl": [b"66048"]}, SECTION)  # password never expires
    locking = SECTION.model_copy(update={"disabled_attribute": "nsAccountLock"})
    assert is_disabled({"nsaccountlock": [b"TRUE"]}, locking)
    assert not is_disabled({"nsAccountLock": [b"false"]}, locking)
    assert not is_disabled({}, locking)


def test_exchange_proxy_addresses_give_the_secondary_smtp_addresses_only():
    values = [b"SMTP:anna@example.com", b"smtp:sales@example.com", b"X500:/o=Ex/cn=anna",
              b"SIP:anna@example.com", "smtp:SALES@example.com"]  # fmt: skip
    assert aliases_of({"proxyAddresses": values}, "proxyAddresses", "anna@example.com") == [
        "sales@example.com"
    ]
    plain = {"mailAlternateAddress": [b"a.s@example.com"]}
    assert aliases_of(plain, "mailAlternateAddress", "anna@example.com") == ["a.s@example.com"]


def test_entries_in_dn_order_first_owner_keeps_a_disputed_address():
    entries = [
        ("uid=b,dc=x", {"mail": [b"b@example.com"], "proxyAddresses": [b"smtp:team@example.com"]}),
        ("uid=a,dc=x", {"mail": [b"a@example.com"], "proxyAddresses": [b"smtp:team@example.com"]}),
        ("uid=c,dc=x", {"mail": [b"not an address"]}),
        ("uid=d,dc=x", {"mail": [b"A@example.com"]}),
    ]
    read = read_entries(entries, SECTION)
    assert [(r["email"], r["aliases"]) for r in read.rows] == [
        ("a@example.com", "team@example.com"),
        ("b@example.com", ""),
    ]
    reasons = dict(read.skipped)
    assert "taken" in reasons["uid=b,dc=x"]
    assert "no valid mail address" in reasons["uid=c,dc=x"]
    assert "already belongs to uid=a,dc=x" in reasons["uid=d,dc=x"]


def test_the_csv_is_what_load_directory_reads_and_the_same_for_the_same_directory(tmp_path):
    mapping = dict(SECTION.attributes) | {"linkedin": "extensionAttribute1"}
    section = SECTION.model_copy(update={"attributes": mapping})
    entries = [
        ("uid=z", {"mail": [b"z@example.com"], "displayName": ["Zoë, \"Z\" Ünal".encode()],
                   "extensionAttribute1": [b"https://example.com/in/z"]}),
        ("uid=a", {"mail": [b"a@example.com"], "thumbnailPhoto": [b"\x89PNG\r\n\x1a\nxx"]}),
    ]  # fmt: skip
    first = directory_csv(read_entries(entries, section).rows)
    assert first == directory_csv(read_entries(list(reversed(entries)), section).rows)
    path = tmp_path / "employees.csv"
    path.write_bytes(first)
    loaded = {e.email: e for e in load_directory(path)}
    assert loaded["z@example.com"].name == 'Zoë, "Z" Ünal'
    assert loaded["z@example.com"].extra["linkedin"] == "https://example.com/in/z"
    assert loaded["a@example.com"].extra["photo"].endswith(".png")


def test_changes_name_added_removed_and_the_fields_that_changed():
    old = Directory([Employee("a@x.com", title="A"), Employee("b@x.com")])
    new = Directory([Employee("a@x.com", title="B", phone="1"), Employee("c@x.com")])
    changes = directory_changes(old, new)
    assert changes.lines() == ["+ c@x.com", "- b@x.com", "~ a@x.com: phone, title"]
    assert directory_changes(new, new).empty


def test_a_huge_photo_is_left_out_with_a_reason_and_the_employee_kept():
    huge = b"\xff\xd8\xff" + b"\0" * (300 * 1024)
    read = read_entries([("uid=a", {"mail": [b"a@example.com"], "jpegPhoto": [huge]})], SECTION)
    assert [row["email"] for row in read.rows] == ["a@example.com"]
    assert "photo" not in read.rows[0] and read.photos == {}
    assert read.skipped == [("uid=a", "photo left out: larger than 204800 bytes")]
