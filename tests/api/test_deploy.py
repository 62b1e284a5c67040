"""deploy/ stays consistent: YAML parses, the kustomization ships every pack file (and, when
kubectl is at hand, renders into a pack identical to the bundled one), gunicorn settings are
the documented ones."""

from __future__ import annotations

import runpy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.gunicornconf import settings
from engine import load_pack

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def test_manifests_parse() -> None:
    for path in [DEPLOY / "compose.yaml", *sorted((DEPLOY / "kustomize").glob("*.yaml"))]:
        assert yaml.safe_load(path.read_text()) is not None, path


def test_kustomization_lists_every_pack_file() -> None:
    doc = yaml.safe_load((DEPLOY / "kustomize" / "kustomization.yaml").read_text())
    listed = {(DEPLOY / "kustomize" / f).resolve()
              for generator in doc["configMapGenerator"] for f in generator["files"]
              if generator["name"].startswith("riskrules-pack")}
    rules = REPO / "rules"
    shipped = {p.resolve() for p in [*rules.glob("*.yaml"), *(rules / "lists").glob("*.yaml"),
                                     *(rules / "watchlists").iterdir()] if p.is_file()}
    assert listed == shipped


def _materialise(config_map: dict[str, Any], directory: Path) -> None:
    """Write a ConfigMap as the kubelet mounts it: the files live in a timestamped directory,
    `..data` links to it, and each key is a link through `..data`."""
    stamped = directory / "..2026_11_25_00_00_00.000000001"
    stamped.mkdir(parents=True)
    for key, text in config_map["data"].items():
        (stamped / key).write_text(text, encoding="utf-8")
        (directory / key).symlink_to(Path("..data") / key)
    (directory / "..data").symlink_to(stamped.name)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomization_renders_the_bundled_pack(tmp_path: Path) -> None:
    """What the Deployment mounts loads as the very pack in rules/ (same digest)."""
    rendered = subprocess.run(
        ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone",
         str(DEPLOY / "kustomize")], capture_output=True, text=True, timeout=120, check=True)
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(rendered.stdout)}
    deployment = docs["Deployment", "riskrules"]
    pod = deployment["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = pod["containers"][0]["volumeMounts"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    root = Path(env["RISKRULES_RULES_DIR"])
    for mount in mounts:
        volume = volumes[mount["name"]]
        if "configMap" not in volume:
            continue
        where = Path(mount["mountPath"])
        assert where == root or root in where.parents, mount
        # the generated name (with its content hash) is the one the Deployment refers to
        _materialise(docs["ConfigMap", volume["configMap"]["name"]],
                     tmp_path / where.relative_to(root))
    mounted, bundled = load_pack(tmp_path), load_pack(REPO / "rules")
    try:
        assert mounted.digest == bundled.digest
        assert [r.id for r in mounted.rules] == [r.id for r in bundled.rules]
    finally:
        mounted.close()
        bundled.close()


def test_the_keys_secret_is_never_a_resource_and_keys_files_are_ignored() -> None:
    doc = yaml.safe_load((DEPLOY / "kustomize" / "kustomization.yaml").read_text())
    assert not any("secret" in r for r in doc["resources"]), doc["resources"]
    ignored = subprocess.run(
        ["git", "check-ignore", "deploy/keys.yaml", "deploy/keys/keys.yaml"],
        cwd=REPO, capture_output=True, text=True, check=False)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.stdout.split() == ["deploy/keys.yaml", "deploy/keys/keys.yaml"]


def test_compose_puts_a_buffering_proxy_in_front() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    api, proxy = doc["services"]["api"], doc["services"]["proxy"]
    assert "ports" not in api and api["network_mode"] == "service:proxy"
    assert api["environment"]["RISKRULES_BIND"] == "127.0.0.1:8000"
    assert "./nginx/riskrules.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    # the keys directory is mounted, not the file: a replaced file (keys revoke) shows up
    keys_dir = api["environment"]["RISKRULES_KEYS_FILE"].rsplit("/", 1)[0]
    assert f"./keys:{keys_dir}:ro" in api["volumes"]
    conf = (DEPLOY / "nginx" / "riskrules.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "proxy_request_buffering on",
                      "server 127.0.0.1:8000"):
        assert directive in conf


def test_deployment_probes_and_replicas() -> None:
    doc = yaml.safe_load((DEPLOY / "kustomize" / "deployment.yaml").read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    assert doc["spec"]["replicas"] == 3
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RISKRULES_BIND"] == "127.0.0.1:8000"  # only the proxy container is exposed
    proxy = doc["spec"]["template"]["spec"]["containers"][1]
    assert proxy["ports"][0]["containerPort"] == container["readinessProbe"]["httpGet"]["port"]


@pytest.mark.slow
def test_the_image_healthcheck_asks_the_configured_port(tmp_path: Path) -> None:
    import json
    import os
    import sys

    from loadkit.server import free_port, serving

    line = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines()
                if line.strip().startswith("CMD [\"python\""))
    command = json.loads(line.strip()[len("CMD "):])
    assert command[:2] == ["python", "-c"] and "8000'" in command[2]  # the default only
    with serving("sqlite", directory=tmp_path) as server:
        for bind, expected in ((f"127.0.0.1:{server.port}", 0), (f"0.0.0.0:{free_port()}", 1)):
            done = subprocess.run([sys.executable, "-c", command[2]], capture_output=True,
                                  env={**os.environ, "RISKRULES_BIND": bind}, timeout=30,
                                  check=False)
            assert done.returncode == expected, (bind, done.stderr[-500:])


def test_gunicorn_defaults() -> None:
    conf = settings()
    assert conf["preload_app"] is False  # each worker loads its own pack after fork
    # threaded, heads buffered outside the threads: slow clients hold no worker (issue 14)
    assert conf["worker_class"] == "api.worker.BufferedThreadWorker" and conf["workers"] >= 2
    assert conf["threads"] >= 4
    assert conf["logger_class"].__name__ == "JsonLogger"  # gunicorn's own lines are JSON
    assert callable(conf["post_fork"]) and callable(conf["child_exit"])
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))  # as gunicorn -c loads it
    assert namespace["workers"] == conf["workers"] and namespace["post_fork"] is conf["post_fork"]


def _ignored(rel: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule, as far as our file uses it: the last matching pattern
    wins; a pattern matches the path or one of its parent directories; `!` re-includes."""
    import fnmatch

    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").rstrip("/")
        candidates = [pat, pat.removeprefix("**/")]
        if any(fnmatch.fnmatchcase(p, c) or (fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], c)
               and c != pat) for p in prefixes for c in candidates):
            ignored = not negate
    return ignored


def test_the_image_ships_what_the_rule_tests_read(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Lay out the final stage's COPY instructions (through the build context the
    .dockerignore leaves) in a directory, then run `check --strict` and `test` there: the
    cases that point at ../../examples must load in the image too."""
    from cli.main import main

    patterns = [line.strip() for line in
                (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    final = (DEPLOY / "Dockerfile").read_text().rsplit("\nFROM ", 1)[1]
    image = tmp_path / "image"
    copies = 0
    for line in final.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        source, target = words[1], words[2]
        for file in (REPO / source).rglob("*") if (REPO / source).is_dir() else [REPO / source]:
            rel = file.relative_to(REPO).as_posix()
            if file.is_file() and not _ignored(rel, patterns):
                dest = image / target.lstrip("/") / file.relative_to(REPO / source) \
                    if (REPO / source).is_dir() else image / target.lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, dest)
                copies += 1
    assert copies and (image / "app" / "examples").is_dir()
    rules = str(image / "app" / "rules")
    assert main(["--rules", rules, "check", "--strict", "--allow-sample-lists"]) == 0
    assert main(["--rules", rules, "test"]) == 0
    out = capsys.readouterr()
    assert "W021" not in out.out + out.err
