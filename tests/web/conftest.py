"""Fixtures of the workbench tests: an app on the bundled pack with stored assessments."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.context import EXTENSION, Services
from tests.api.conftest import sqlite_template, sqlite_url  # noqa: F401 (fixtures)
from tests.api.support import KEYS, TOKENS, auth

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STORED = ("energy-storage-egypt-missing-info", "launch-jv-roscosmos", "ev-licensing-china-soe",
          "fleet-software-serbia-possible-match", "battery-research-canada")


def make_workbench(db_url: str, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "RULES_DIR": str(ROOT / "rules"), "DATABASE_URL": db_url, "KEYS": KEYS,
        "CONFIGURE_LOGGING": False, "RATE_LIMIT_RPS": 0, "MASTER_PID": None,
        "EXAMPLES_DIR": str(EXAMPLES), "SESSION_SECRET": "test-secret-" + "x" * 20,
    }
    config.update(overrides)
    app = create_app(config)
    app.config["TESTING"] = True
    return app


def close(app: Flask) -> None:
    svc: Services = app.extensions[EXTENSION]
    svc.holder.close()
    svc.store.close()


def store_examples(client: FlaskClient) -> dict[str, dict[str, Any]]:
    out = {}
    for name in STORED:
        body = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
        response = client.post("/v1/assessments", json=body, headers=auth("submitter"))
        assert response.status_code == 201, response.get_json()
        out[name] = response.get_json()
    return out


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: FlaskClient, who: str) -> None:
    token = csrf_of(client.get("/ui/sign-in").get_data(as_text=True))
    response = client.post("/ui/sign-in", data={"api_key": TOKENS[who], "csrf_token": token,
                                                "next": "/ui/queue"})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def workbench(sqlite_url: str) -> Iterator[Flask]:  # noqa: F811 (the imported fixture)
    app = make_workbench(sqlite_url)
    yield app
    close(app)


@pytest.fixture
def stored(workbench: Flask) -> dict[str, dict[str, Any]]:
    return store_examples(workbench.test_client())
