"""Hostile input: every hand-written bad request gets its documented 4xx and a problem document.

The corpus is data (hostile_corpus.yaml, one loader here); the app serves the bundled pack, so
hostile strings go through real screening and real rules. Injection and traversal strings are
written into every string field of the proposal contract (walked from engine.language.contract, so a
field added later is attacked too): free text must be stored and read back verbatim, closed
vocabularies (enumerations, countries, currencies), and free text holding a control character
(a NUL), refused with a 422 naming the field.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from api.context import EXTENSION, Services
from engine.language import contract
from engine.language.contract import FieldSpec, Kind
from engine.language.regex import full_match
from tests.api.support import KEYS, TOKENS, proposal
from tests.api.test_server import Server, server  # noqa: F401  (the gunicorn fixture)
from tests.bundled import BUNDLED

REPO = Path(__file__).resolve().parents[2]
CORPUS_FILE = Path(__file__).with_name("hostile_corpus.yaml")
PROBLEM = "application/problem+json"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def load_corpus(path: Path = CORPUS_FILE) -> dict[str, Any]:
    """The corpus document; ids are checked unique so that a copy-paste cannot hide a case."""
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    ids = [case["id"] for case in doc["cases"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate case ids {duplicates}")
    return doc


CORPUS = load_corpus()
CASES: list[dict[str, Any]] = CORPUS["cases"]
PAYLOADS: list[str] = CORPUS["injection_payloads"]


# ---------------------------------------------------------------------------------------------
# building requests from the corpus


def expand(value: Any) -> Any:
    """Resolve the corpus generators ($repeat, $list, $nest, $concat) inside `value`."""
    if isinstance(value, dict):
        if "$repeat" in value:
            return str(value["$repeat"]) * int(value["times"])
        if "$list" in value:
            item = expand(value["$list"])
            return [copy.deepcopy(item) for _ in range(int(value["times"]))]
        if "$nest" in value:
            node = expand(value.get("leaf"))
            for _ in range(int(value["$nest"])):
                node = {"a": node}
            return node
        if "$concat" in value:
            return "".join(str(expand(part)) for part in value["$concat"])
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


def _walk(doc: Any, dotted: str) -> tuple[Any, str | int]:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def set_path(doc: Any, dotted: str, value: Any) -> None:
    node, last = _walk(doc, dotted)
    node[last] = value


def unset_path(doc: Any, dotted: str) -> None:
    node, last = _walk(doc, dotted)
    del node[last]


def base_proposal() -> dict[str, Any]:
    """A fresh copy; through JSON, so that YAML aliases (the shared owner) are not shared."""
    doc: dict[str, Any] = json.loads(json.dumps(CORPUS["base_proposal"]))
    return doc


def build_body(spec: dict[str, Any] | None) -> tuple[bytes | None, bool]:
    """(body bytes, whether to send it without Content-Length) for a case's `body`."""
    if spec is None:
        return None, False
    if "stream" in spec:
        data, _ = build_body(spec["stream"])
        return data, True
    if "proposal" in spec:
        doc = base_proposal()
        edits = spec["proposal"] or {}
        for dotted, value in (edits.get("set") or {}).items():
            set_path(doc, dotted, expand(value))
        for dotted in edits.get("unset") or []:
            unset_path(doc, dotted)
        return json.dumps(doc, ensure_ascii=False).encode("utf-8"), False
    if "json" in spec:
        return json.dumps(expand(spec["json"]), ensure_ascii=False).encode("utf-8"), False
    if "text" in spec:
        return str(expand(spec["text"])).encode("utf-8"), False
    if "hex" in spec:
        return bytes.fromhex(spec["hex"]), False
    raise ValueError(f"unknown body kind in {spec}")


def send(client: FlaskClient, case: dict[str, Any]) -> TestResponse:
    method = case.get("method", "POST")
    path = str(expand(case.get("path", "/v1/assessments")))
    headers: dict[str, str] = {}
    key = case.get("key", "all")
    if key is not None:
        headers["Authorization"] = f"Bearer {TOKENS[key]}"
    for name, value in (case.get("headers") or {}).items():
        headers[name] = str(expand(value))
    body, chunked = build_body(case.get("body"))
    content_type = case.get("content_type", "application/json")
    if body is not None and content_type is not None:
        headers["Content-Type"] = content_type
    if chunked:
        assert body is not None
        return client.open(path, method=method, headers=headers, input_stream=io.BytesIO(body),
                           environ_overrides={"wsgi.input_terminated": True})
    return client.open(path, method=method, headers=headers, data=body)


# ---------------------------------------------------------------------------------------------
# checks


def assert_problem(response: TestResponse, status: int, code: str | None = None,
                   paths: list[str] | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem of `status`, naming each of `paths` in `errors`."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM, response.mimetype
    doc: dict[str, Any] = json.loads(response.get_data())
    for member in ("type", "title", "status", "detail"):
        assert isinstance(doc.get(member), str if member != "status" else int), (member, doc)
    assert doc["status"] == status
    assert doc["type"].startswith("urn:riskrules:problem:") or doc["type"] == "about:blank"
    if code is not None:
        assert doc.get("code") == code, doc
    if status == 422 or paths:
        errors = doc.get("errors")
        assert isinstance(errors, list) and errors, doc
        assert all(isinstance(e.get("path"), str) and isinstance(e.get("message"), str)
                   for e in errors), errors
        found = {e["path"] for e in errors}
        missing = set(paths or ()) - found
        assert not missing, (missing, found)
    return doc


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Flask]:
    """One app on the bundled pack for the whole module (loading the pack per case is slow)."""
    path = tmp_path_factory.mktemp("hostile") / "riskrules.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app({"RULES_DIR": str(REPO / "rules"), "DATABASE_URL": f"sqlite:///{path}",
                      "KEYS": KEYS, "CONFIGURE_LOGGING": False, "RATE_LIMIT_RPS": 0,
                      "MASTER_PID": None})
    app.config["TESTING"] = True
    yield app
    svc: Services = app.extensions[EXTENSION]
    svc.holder.close()
    svc.store.close()


@pytest.fixture
def client(hostile_app: Flask) -> FlaskClient:
    return hostile_app.test_client()


def test_the_base_proposal_is_valid_and_attacks_every_string_field(client: FlaskClient) -> None:
    response = client.post("/v1/assessments", json=base_proposal(),
                           headers={"Authorization": f"Bearer {TOKENS['all']}"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len(STRING_FIELDS) >= 25  # free text, enumerations, countries, currencies


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_request_gets_its_documented_status(client: FlaskClient, case: dict[str, Any]) -> None:
    response = send(client, case)
    status = int(case["status"])
    assert REQUEST_ID.match(response.headers.get("X-Request-Id", "")), response.headers
    if status >= 400:
        assert_problem(response, status, case.get("code"), case.get("errors"))
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if status == 405:
            assert "POST" in response.headers["Allow"]
        return
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    created = response.get_data()
    read = client.get(response.headers["Location"],
                      headers={"Authorization": f"Bearer {TOKENS['all']}"})
    assert read.status_code == 200 and read.get_data() == created


def test_a_batch_names_the_hostile_item_and_stores_the_others(client: FlaskClient) -> None:
    good = base_proposal()
    bad = base_proposal()
    bad["deal"]["type"] = PAYLOADS[0]
    response = client.post("/v1/assessments:batch", json={"proposals": [good, bad, good]},
                           headers={"Authorization": f"Bearer {TOKENS['all']}"})
    assert response.status_code == 200
    first, problem, third = json.loads(response.get_data())["results"]
    assert problem["status"] == 422 and problem["instance"].endswith("#/proposals/1")
    assert [e["path"] for e in problem["errors"]] == ["deal.type"]
    assert first["id"] != third["id"] and first["decision"] == third["decision"]


# ---------------------------------------------------------------------------------------------
# injection and traversal strings in every string field of the contract


def string_fields(spec: FieldSpec = BUNDLED.root, path: str = "",
                  seen: frozenset[int] = frozenset()) -> list[tuple[str, FieldSpec]]:
    """(dotted path with list index 0, spec) of every textual leaf a client may send (a type
    nesting itself, an owner's owners, once)."""
    out: list[tuple[str, FieldSpec]] = []
    if id(spec.fields) in seen:
        return out
    seen = seen | {id(spec.fields)}
    for name, sub in spec.fields.items():
        if sub.derived:
            continue
        here = f"{path}.{name}" if path else name
        leaf = sub
        if sub.kind is Kind.LIST and sub.item is not None:
            here, leaf = f"{here}.0", sub.item
        if leaf.kind is Kind.OBJECT:
            out.extend(string_fields(leaf, here, seen))
        elif leaf.kind.is_textual:
            out.append((here, leaf))
    return out


STRING_FIELDS = string_fields()


def error_path(dotted: str) -> str:
    """`counterparties.0.name` as the API names it: `counterparties[0].name`."""
    return re.sub(r"\.(\d+)", r"[\1]", dotted)


def contract_accepts(spec: FieldSpec, value: str) -> bool:
    """What the contract says about `value` in a field of `spec` (the oracle of this test)."""
    if spec.kind is Kind.ENUM:
        return value in spec.choices
    if spec.kind is Kind.COUNTRY:
        return contract.is_country(value)
    if spec.kind is Kind.CURRENCY:
        return contract.is_currency(value)
    if spec.kind is Kind.SUBDIVISION:
        return contract.is_subdivision(value)
    if spec.kind is Kind.DATE:
        return contract.is_date(value)
    if spec.pattern is not None and not full_match(spec.pattern, value):
        return False
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
        return False  # free text holds no C0 control character but tab, LF and CR
    return (spec.min_length or 0) <= len(value) <= (spec.max_length or len(value))


def test_the_base_proposal_has_a_value_in_every_string_field() -> None:
    base = base_proposal()
    for dotted, _ in STRING_FIELDS:
        node, last = _walk(base, dotted)
        assert isinstance(node[last], str), dotted


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_strings_are_stored_verbatim_or_refused(hostile_app: Flask, client: FlaskClient,
                                                          payload: str) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['all']}"}
    store = hostile_app.extensions[EXTENSION].store
    for dotted, spec in STRING_FIELDS:
        doc = base_proposal()
        set_path(doc, dotted, payload)
        response = client.post("/v1/assessments", json=doc, headers=headers)
        if not contract_accepts(spec, payload):
            assert_problem(response, 422, "RR200", [error_path(dotted)])
            continue
        assert response.status_code == 201, (dotted, response.get_data(as_text=True)[:300])
        created = response.get_data()
        assessment = json.loads(created)
        record = store.get(assessment["id"])
        assert record is not None and record.proposal == doc, dotted
        read = client.get(f"/v1/assessments/{quote(assessment['id'])}", headers=headers)
        assert read.status_code == 200 and read.get_data() == created, dotted
        if dotted == "reference":
            assert assessment["reference"] == payload
            listed = client.get("/v1/assessments", headers=headers,
                                query_string={"reference": payload, "limit": 5})
            assert listed.status_code == 200, listed.get_data(as_text=True)
            items = json.loads(listed.get_data())["items"]
            assert [item["id"] for item in items] == [assessment["id"]]


def test_injection_strings_as_path_ids_are_not_found(client: FlaskClient) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['all']}"}
    for payload in PAYLOADS:
        for prefix in ("/v1/assessments/", "/v1/rules/"):
            response = client.get(prefix + quote(payload, safe=""), headers=headers)
            assert_problem(response, 404)


# ---------------------------------------------------------------------------------------------
# the same abuse against a real gunicorn server: what the WSGI test client cannot show


def _raw(srv: Server, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; the status, headers and body of the answer (the server may close)."""
    host, port = srv.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.slow
def test_real_server_refuses_hostile_transport(server: Server) -> None:  # noqa: F811
    token = server.keys["all"].encode()
    auth_line = b"Authorization: Bearer " + token + b"\r\n"
    # A header far over gunicorn's field limit: refused by gunicorn itself (431, its own HTML:
    # not a problem document, see docs/reliability.md), never a 5xx.
    status, _, _ = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 65536
                        + b"\r\nConnection: close\r\n\r\n")
    assert status == 431
    # Chunked bodies (no Content-Length): a valid one in many small chunks is read whole (it
    # was cut at the first chunk), one over the 1 MiB limit is refused with 413.
    def chunked(body: bytes, size: int) -> bytes:
        return b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\n" + auth_line + (
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n") + b"".join(
            f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n"
            for i in range(0, len(body), size)) + b"0\r\n\r\n"

    big = proposal("RU", reference="chunked")
    big["counterparties"] = [{"name": f"Party {i}", "country": "RU", "type": "other",
                              "aliases": [f"{i}-{j}-" + "a" * 250 for j in range(20)]}
                             for i in range(30)]
    valid = json.dumps(big).encode()
    assert 100_000 < len(valid) < 1_000_000
    small = json.dumps(proposal("RU", reference="chunked")).encode()
    for body, size in ((small, 16), (valid, 65536)):
        status, _, payload = _raw(server, chunked(body, size))
        assert status == 201, (size, payload[:300])
    status, headers, payload = _raw(server, chunked(b'{"summary": "' + b"x" * 1100000 + b'"}',
                                                    65536))
    assert status == 413 and headers["content-type"] == PROBLEM, payload[:300]
    # Invalid UTF-8 in the path and a lone surrogate in the body: problems, not crashes.
    status, headers, _ = _raw(server, b"GET /v1/assessments/\xff\xfe HTTP/1.1\r\nHost: x\r\n"
                              + auth_line + b"Connection: close\r\n\r\n")
    assert 400 <= status < 500
    lone = b'{"title": "\\ud800"}'
    status, headers, payload = _raw(
        server, b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\n" + auth_line
        + b"Content-Type: application/json\r\nContent-Length: " + str(len(lone)).encode()
        + b"\r\nConnection: close\r\n\r\n" + lone)
    assert status == 400 and json.loads(payload)["code"] == "RR601"
    # A wrong key is refused and, like the right ones, never written to the server's log.
    wrong = "rr_" + "W" * 20 + "0123456789abcdefghijklm"
    status, _, _ = _raw(server, b"GET /v1/ruleset HTTP/1.1\r\nHost: x\r\nAuthorization: "
                        b"Bearer " + wrong.encode() + b"\r\nConnection: close\r\n\r\n")
    assert status == 401
    # And the server still serves.
    assert server.call("GET", "/readyz", key=None)[0] == 200
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert '"key_id": "all"' in log  # the request log is written, with key ids
    for secret in [*server.keys.values(), wrong]:
        assert secret not in log


@pytest.mark.slow
def test_real_server_answers_broken_chunked_bodies_with_400(server: Server) -> None:  # noqa: F811
    """gunicorn parses the transfer coding while the app reads the body: its InvalidChunkSize
    (and the other ParseExceptions) escaped `api/body.py` as a 500."""
    auth_line = b"Authorization: Bearer " + server.keys["all"].encode() + b"\r\n"
    head = (b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\n" + auth_line
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n")
    for broken in (b"zz\r\n{}\r\n0\r\n\r\n",            # not a hexadecimal size
                   b"2\r\n{}XX0\r\n\r\n",               # no CRLF after the chunk data
                   b"5;\x00=1\r\n{\"a\":\r\n0\r\n\r\n"):  # a NUL in a chunk extension
        status, headers, payload = _raw(server, head + broken)
        assert status == 400, (broken, status, payload[:300])
        assert headers["content-type"] == PROBLEM and json.loads(payload)["code"] == "RR601"
    assert server.call("GET", "/readyz", key=None)[0] == 200


@pytest.mark.slow
def test_real_server_accepts_a_body_of_exactly_the_limit(server: Server) -> None:  # noqa: F811
    """1,048,576 bytes is within the limit, with Content-Length or chunked (werkzeug refused
    the chunked one: it raises 413 on any read at its maximum, even at the end of the body)."""
    auth_line = b"Authorization: Bearer " + server.keys["all"].encode() + b"\r\n"
    text = json.dumps(proposal("RU", reference="exact-limit")).encode()
    limit = 1024 * 1024
    for size, expected in ((limit, 201), (limit + 1, 413)):
        body = text + b" " * (size - len(text))
        head = (b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\n" + auth_line
                + b"Content-Type: application/json\r\nConnection: close\r\n")
        sized = head + f"Content-Length: {size}\r\n\r\n".encode() + body
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"".join(
            f"{len(body[i:i + 65536]):x}\r\n".encode() + body[i:i + 65536] + b"\r\n"
            for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
        for request in (sized, chunked):
            status, headers, payload = _raw(server, request)
            assert status == expected, (size, request[:200], payload[:300])
            assert headers["x-content-type-options"] == "nosniff"
    gzipped = (b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\n" + auth_line
               + b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
               + f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode() + text)
    status, headers, payload = _raw(server, gzipped)
    assert status == 415 and headers["accept-encoding"] == "identity", payload[:300]
