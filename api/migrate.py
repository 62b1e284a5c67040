"""Alembic, configured programmatically: `upgrade(url)` for `riskrules serve` and `riskrules db`.

No alembic.ini is needed at run time; the script location is this package's `migrations/`
folder, so the migrations ship inside the wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from api.store import StoreUnavailable, make_engine, normalise_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """A Config pointing at the packaged migrations; the URL travels in `attributes`.

    (Not `sqlalchemy.url`: ConfigParser interpolation would mangle `%` in passwords.)
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["riskrules_url"] = normalise_url(url)
    return config


def head() -> str:
    """The newest revision the code knows."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = script.get_current_head()
    if current is None:
        raise RuntimeError("no migration found")
    return current


def current(url: str) -> str | None:
    """The database's revision (None for an empty database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except Exception as error:
        raise StoreUnavailable(f"cannot read the database revision: {error}") from error
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to `revision`; safe to run on an up-to-date database."""
    try:
        command.upgrade(alembic_config(url), revision)
    except StoreUnavailable:
        raise
    except Exception as error:
        if type(error).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
            raise StoreUnavailable(f"migration failed: {error}") from error
        raise
