"""Fixtures for engine tests: the mini pack and a factory for packs written on the fly."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Pack, load_pack

MINIPACK = Path(__file__).parent / "fixtures" / "minipack"

BASE_PROPOSAL: dict[str, Any] = {
    "title": "Test deal",
    "initiator": {"name": "Orbital Dynamics Inc.", "country": "US", "type": "private_company"},
    "counterparties": [{"name": "Acme GmbH", "country": "DE", "type": "private_company"}],
    "deal": {"type": "other"},
    "sectors": ["space"],
}


@pytest.fixture(scope="module")
def minipack() -> Iterator[Pack]:
    pack = load_pack(MINIPACK)
    yield pack
    pack.close()


@pytest.fixture
def make_pack(tmp_path: Path) -> Callable[..., Path]:
    """Copy the mini pack's pack.yaml and lists into a new directory with the given rule file."""

    def make(rules: str, name: str = "rules.yaml", **extra: str) -> Path:
        root = tmp_path / f"pack{len(list(tmp_path.iterdir()))}"
        shutil.copytree(MINIPACK, root, ignore=shutil.ignore_patterns("rules.yaml"))
        (root / name).write_text(rules, encoding="utf-8")
        for file, text in extra.items():
            (root / file).write_text(text, encoding="utf-8")
        return root

    return make


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, one level deep for mappings (lists are replaced)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
