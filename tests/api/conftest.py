"""Fixtures of the API tests: keys, migrated databases (SQLite, PostgreSQL), apps, proposals.

PostgreSQL runs when RISKRULES_TEST_DATABASE_URL is set (each session gets its own schema,
each test an empty table); otherwise the `postgres` cases are skipped with that reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.context import EXTENSION, Services
from api.migrate import upgrade
from loadkit.server import postgres_database
from tests.api.support import KEYS, PACK_DIR, PG_ENV


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    """A migrated, private PostgreSQL schema for this session (dropped at the end)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set")
    database = postgres_database(base)
    upgrade(database.url)
    yield database.url
    database.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "riskrules.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_base_url")
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE assessments, dispositions RESTART IDENTITY"))
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "riskrules.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(sqlite_url: str) -> Iterator[AppFactory]:
    """Build apps on the real engine and the fixture pack; closes their packs and pools after."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config: dict[str, Any] = {
            "RULES_DIR": str(PACK_DIR), "DATABASE_URL": sqlite_url, "KEYS": KEYS,
            "CONFIGURE_LOGGING": False, "RATE_LIMIT_RPS": 0, "MASTER_PID": None,
        }
        config.update(overrides)
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        svc: Services = app.extensions[EXTENSION]
        if svc.watcher is not None:
            svc.watcher.stop()
            svc.watcher.join(timeout=5)
        svc.holder.close()
        svc.store.close()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The default app (SQLite; test_assessments.py runs on each backend)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def services_of() -> Callable[[Flask], Services]:
    def get(app: Flask) -> Services:
        svc: Services = app.extensions[EXTENSION]
        return svc

    return get
