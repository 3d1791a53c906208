"""The employee directory: a CSV whose rows fill the signature templates.

Known columns: email (required), name, title, phone, mobile, department,
aliases (further addresses of the same person, separated by ';', ',' or
spaces). Any other column is kept and passed to the templates under its
header name (lower-cased, spaces as '_'). Lookup is case-insensitive, by the
main address or any alias.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from config.errors import ConfigError, raise_if_any

KNOWN_COLUMNS = ("email", "name", "title", "phone", "mobile", "department", "aliases")
ADDRESS = re.compile(r"[^@\s<>\"]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class Employee:
    email: str
    name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    department: str = ""
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def template_fields(self) -> dict[str, object]:
        """The names a template can use: the extra columns, then the known ones
        (known ones win, so a stray column cannot replace the address)."""
        known = {name: getattr(self, name) for name in KNOWN_COLUMNS}
        return {**self.extra, **known}


class Directory:
    """Employees by lower-cased address (main address and aliases)."""

    def __init__(self, employees: list[Employee]) -> None:
        self._employees = tuple(employees)
        self._by_address = {
            address.lower(): employee
            for employee in employees
            for address in (employee.email, *employee.aliases)
        }

    def find(self, address: str) -> Employee | None:
        return self._by_address.get(address.strip().lower())

    def __iter__(self) -> Iterator[Employee]:
        return iter(self._employees)

    def __len__(self) -> int:
        return len(self._employees)


def _column_name(header: str) -> str:
    return re.sub(r"\W+", "_", header.strip().lower()).strip("_")


def _split_aliases(value: str) -> tuple[str, ...]:
    return tuple(a for a in re.split(r"[;,\s]+", value.strip()) if a)


def load_directory(path: Path) -> Directory:
    """Read and validate the CSV; raise ConfigErrors naming line and field."""
    if not path.is_file():
        hint = "create it or set [directory] csv"
        raise_if_any([ConfigError(path, None, "employee directory not found", hint=hint)])
    errors: list[ConfigError] = []
    employees: list[Employee] = []
    owner_line: dict[str, int] = {}
    # utf-8-sig: spreadsheet programs like to start CSV exports with a BOM.
    with path.open(newline="", encoding="utf-8-sig") as stream:
        reader = csv.DictReader(stream)
        columns = [_column_name(h) for h in reader.fieldnames or []]
        if "email" not in columns:
            reason = "the header row has no 'email' column"
            raise_if_any([ConfigError(path, "email", reason, line=1)])
        if len(columns) != len(set(columns)):
            raise_if_any([ConfigError(path, None, f"duplicate column names {columns}", line=1)])
        reader.fieldnames = columns
        for raw in reader:
            line = reader.line_num
            if None in raw:  # more cells than headers
                errors.append(ConfigError(path, None, "more cells than columns", line=line))
                continue
            row = {k: (v or "").strip() for k, v in raw.items()}
            employee, row_errors = _employee(path, line, row, owner_line)
            errors.extend(row_errors)
            if employee:
                employees.append(employee)
    raise_if_any(errors)
    return Directory(employees)


def _employee(
    path: Path, line: int, row: dict[str, str], owner_line: dict[str, int]
) -> tuple[Employee | None, list[ConfigError]]:
    errors: list[ConfigError] = []
    addresses = (row["email"], *_split_aliases(row.get("aliases", "")))
    for position, address in enumerate(addresses):
        column = "email" if position == 0 else "aliases"
        if not ADDRESS.fullmatch(address):
            reason = f"not an e-mail address: {address!r}"
            errors.append(ConfigError(path, column, reason, line=line))
        elif (owner := owner_line.get(address.lower())) is not None:
            reason = f"{address} already belongs to the employee on line {owner}"
            errors.append(ConfigError(path, column, reason, line=line))
    if errors:
        return None, errors
    for address in addresses:
        owner_line[address.lower()] = line
    extra = {k: v for k, v in row.items() if k not in KNOWN_COLUMNS and k}
    employee = Employee(
        email=addresses[0],
        name=row.get("name", ""),
        title=row.get("title", ""),
        phone=row.get("phone", ""),
        mobile=row.get("mobile", ""),
        department=row.get("department", ""),
        aliases=addresses[1:],
        extra=MappingProxyType(extra),
    )
    return employee, []
