"""deploy/ stays consistent: YAML parses, the kustomization ships every pack file, gunicorn
settings are the documented ones."""

from __future__ import annotations

import runpy
from pathlib import Path

import yaml

from api.gunicornconf import settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_manifests_parse() -> None:
    for path in [DEPLOY / "compose.yaml", *sorted((DEPLOY / "kustomize").glob("*.yaml"))]:
        assert yaml.safe_load(path.read_text()) is not None, path


def test_kustomization_lists_every_pack_file() -> None:
    doc = yaml.safe_load((DEPLOY / "kustomize" / "kustomization.yaml").read_text())
    listed = {(DEPLOY / "kustomize" / f).resolve()
              for generator in doc["configMapGenerator"] for f in generator["files"]}
    rules = REPO / "rules"
    shipped = {p.resolve() for p in [*rules.glob("*.yaml"), *(rules / "lists").glob("*.yaml"),
                                     *(rules / "watchlists").iterdir()] if p.is_file()}
    assert listed == shipped


def test_deployment_probes_and_replicas() -> None:
    doc = yaml.safe_load((DEPLOY / "kustomize" / "deployment.yaml").read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert doc["spec"]["replicas"] == 3
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_gunicorn_defaults() -> None:
    conf = settings()
    assert conf["preload_app"] is False  # each worker loads its own pack after fork
    assert conf["worker_class"] == "sync" and conf["workers"] >= 2
    assert callable(conf["post_fork"]) and callable(conf["child_exit"])
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))  # as gunicorn -c loads it
    assert namespace["workers"] == conf["workers"] and namespace["post_fork"] is conf["post_fork"]
