"""Alembic environment: migrations run only through `Store.upgrade()` /
`Store.downgrade()` (and so `sigrelay db upgrade`), which hand us an open
connection of the store's own engine."""

from __future__ import annotations

from alembic import context

from tracker.store.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `sigrelay db upgrade` (Store.upgrade())")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
