"""Alembic environment for the assessment store: online migrations only, URL from attributes."""

from __future__ import annotations

from alembic import context

from api.store import make_engine, metadata

config = context.config
MIGRATION_LOCK = 0x7269736B  # "risk": the advisory lock id of riskrules migrations


def run_migrations_online() -> None:
    """Run with the store's own engine options (SQLite WAL, busy timeout; PG pre-ping)."""
    url = config.attributes.get("riskrules_url")
    if not url:
        raise RuntimeError("riskrules migrations need config.attributes['riskrules_url']")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata,
                              render_as_batch=connection.dialect.name == "sqlite")
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Replicas starting together migrate one at a time; the others then find
                    # the schema at head. (SQLite serialises writers by itself.)
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
