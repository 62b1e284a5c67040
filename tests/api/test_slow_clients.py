"""Slow clients against a real `riskrules serve` (default worker, 2 workers, 127.0.0.1 only):
ten connections trickling their headers hold no worker, `/healthz` stays under 1 s and POSTs
succeed; a head that never completes is closed at the header timeout; a stalled body ends at
the body timeout (issue 14, item 3). Every loop is bounded."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from loadkit.server import Server, serving
from loadkit.workload import examples, proposal_body

pytestmark = pytest.mark.slow

HEADER_TIMEOUT = 4.0
BODY_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serving("sqlite", env={"RISKRULES_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
                                "RISKRULES_BODY_TIMEOUT": str(BODY_TIMEOUT)}) as srv:
        yield srv


def _slow(server: Server, count: int) -> list[socket.socket]:
    conns = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        conns.append(conn)
    return conns


def _closed_by_server(conn: socket.socket, within: float) -> bool:
    conn.settimeout(within)
    try:
        return conn.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_slow_headers_hold_no_worker(server: Server) -> None:
    conns = _slow(server, 10)
    try:
        corpus = examples()
        latencies = []
        for i in range(6):  # about 3 s: each slow client sends one more header line per round
            for conn in conns:
                conn.sendall(b"X-Slow: 1\r\n")
            started = time.monotonic()
            assert server.call("GET", "/healthz", role=None, timeout=5)[0] == 200
            latencies.append(time.monotonic() - started)
            body = proposal_body(corpus[i % len(corpus)], f"SLOW-{i}")
            assert server.call("POST", "/v1/assessments", body, timeout=5)[0] == 201
            time.sleep(0.5)
        assert max(latencies) < 1.0, latencies
        # never completed: closed once the header timeout has passed, without an answer
        assert all(_closed_by_server(conn, HEADER_TIMEOUT + 3) for conn in conns)
    finally:
        for conn in conns:
            conn.close()


def test_a_stalled_body_ends_at_the_body_timeout(server: Server) -> None:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        auth = server.keys.bearer("submitter")["Authorization"]
        conn.sendall(b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 500\r\nAuthorization: " + auth.encode() +
                     b"\r\n\r\n{\"title\": ")
        started = time.monotonic()
        assert server.call("GET", "/healthz", role=None, timeout=5)[0] == 200
        answer = b""
        while b"\r\n\r\n" not in answer and time.monotonic() - started < BODY_TIMEOUT + 5:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - started
        assert waited < BODY_TIMEOUT + 3, waited
        # the app saw a truncated body: a 4xx problem document, or the connection closed
        assert answer == b"" or answer.split(b" ", 2)[1].startswith(b"4"), answer[:200]
    finally:
        conn.close()


def test_keep_alive_requests_still_work(server: Server) -> None:
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        for _ in range(3):
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b'"ok"' not in answer:
                chunk = conn.recv(4096)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
    finally:
        conn.close()


def test_expect_100_continue_is_answered_before_the_body(server: Server) -> None:
    """curl sends a body over 1 KiB only after "100 Continue" (or 1 s later): the worker,
    which waits for the body before giving the request a thread, must say it at once."""
    body = proposal_body(examples()[0], "CONTINUE-1")
    auth = server.keys.bearer("submitter")["Authorization"].encode()
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        conn.sendall(b"POST /v1/assessments HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nExpect: 100-continue\r\nAuthorization: " + auth +
                     b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        conn.settimeout(0.5)
        interim = conn.recv(64)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        conn.settimeout(10)
        conn.sendall(body)
        answer = b""
        while b"HTTP/1.1 201" not in answer:  # bounded: the socket times out after 10 s
            chunk = conn.recv(65536)
            assert chunk, answer[:300]
            answer += chunk
    finally:
        conn.close()
