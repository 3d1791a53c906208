"""A batch's list of ids as one bound value, in queries that run with every batch.

An IN list of N placeholders (`bindparam(..., expanding=True)`) is rendered by
SQLAlchemy for every execution, a few microseconds per value: with the event
writer's batches of 2,000 copies, more CPU than SQLite took to run the query.
Here the list is one value: on SQLite a JSON array read by `json_each`, on
PostgreSQL an array (`= ANY(...)`), so the statement text never changes and
is compiled once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeDecorator


class JsonList(TypeDecorator):
    """A list bound as its JSON text (SQLite's json_each reads it)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Any) -> str | None:
        return None if value is None else json.dumps(list(value))


def json_values(name: str) -> TableValuedAlias:
    """SQLite: the rows of the list bound as `name`, one `value` each."""
    return func.json_each(bindparam(name, type_=JsonList())).table_valued("value")


def among(
    column: ColumnElement,
    item_type: type[String] | type[BigInteger],
    dialect: str,
    name: str = "ids",
) -> ColumnElement[bool]:
    """`column IN (<the list bound as name>)`, the list one value on either database."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(item_type)))
    return column.in_(select(json_values(name).c.value))


def not_among(column: ColumnElement, name: str) -> ColumnElement[bool]:
    """SQLite: `column NOT IN (<the list bound as name>)`."""
    return column.not_in(select(json_values(name).c.value))


def per_dialect(build: Callable[[str], Executable]) -> dict[str, Executable]:
    """A statement built once for each database (run as `[conn.dialect.name]`)."""
    return {dialect: build(dialect) for dialect in ("sqlite", "postgresql")}
