"""The gunicorn worker of the API: gthread, with request headers buffered outside the threads
and a deadline on reading the body (slow clients must not hold the workers).

A sync worker serves one connection at a time, reading it as slowly as the client sends: two
clients sending one header line every few seconds held both workers, and `/healthz` took
10–20 s. gunicorn's gthread worker multiplexes connections, but once the first bytes arrive it
hands the connection to a thread that blocks until the request is read. This worker reads
each request in the poller, without a thread (non-blocking reads into a buffer), until its
head and its body (`Content-Length` bytes, or a chunked body's last chunk) have arrived, up
to `BUFFER_LIMIT`; only then does a thread get it, with the bytes handed to gunicorn's parser:

* **header timeout** (`RISKRULES_HEADER_TIMEOUT`, 10 s): a connection whose head is not
  complete by then is closed; it never held a thread;
* **body timeout** (`RISKRULES_BODY_TIMEOUT`, 15 s): the same for the body, counted from the
  end of the head; a body larger than the buffer (the app refuses it anyway: 413) is read by
  the thread until the same deadline, after which the app sees it end early (400).

A client that stops reading the answer is cut after the worker timeout (30 s without
progress). Exposed deployments still put a buffering proxy in front (deploy/compose.yaml and
deploy/kustomize do, with nginx: per-address connection limits, TLS); see deploy/README.md.
This worker refuses `certfile` (encrypted bytes cannot be buffered before the handshake).
"""

from __future__ import annotations

import contextlib
import errno
import re
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from api.settings import setting

HEAD_LIMIT = 65536  # more than gunicorn accepts as a request head (line + 100 × 8190 fields)
BUFFER_LIMIT = HEAD_LIMIT + 1024 * 1024 + 4096  # a head and a body of the API's default limit
CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?$",
                            re.IGNORECASE | re.MULTILINE)
CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.IGNORECASE | re.MULTILINE)
EXPECT_CONTINUE = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r?$",
                             re.IGNORECASE | re.MULTILINE)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def request_complete(buffer: bytes | bytearray) -> tuple[bool, bool]:
    """(head complete, whole request buffered) for the bytes received so far.

    An approximation that errs towards "complete": gunicorn's parser reads the real request,
    and whatever it still needs it reads in the thread, bounded by the body deadline.
    """
    end = buffer.find(b"\r\n\r\n")
    size = 4
    if end < 0:
        end, size = buffer.find(b"\n\n"), 2
    if end < 0:
        return False, len(buffer) >= HEAD_LIMIT
    head = bytes(buffer[:end])
    body = len(buffer) - end - size
    if CHUNKED.search(head):
        return True, buffer.endswith(b"0\r\n\r\n") or len(buffer) >= BUFFER_LIMIT
    length = CONTENT_LENGTH.search(head)
    wanted = int(length.group(1)) if length else 0
    return True, body >= wanted or len(buffer) >= BUFFER_LIMIT


def _expects_continue(buffer: bytes | bytearray) -> bool:
    end = buffer.find(b"\r\n\r\n")
    head = bytes(buffer[:end if end >= 0 else buffer.find(b"\n\n")])
    first = head.split(b"\n", 1)[0]
    return first.rstrip().endswith(b"HTTP/1.1") and bool(EXPECT_CONTINUE.search(head))


class DeadlineSocket(socket.socket):
    """A socket whose blocking reads end (as end of stream) at `deadline`, and whose blocking
    writes fail after `send_timeout` seconds without progress."""

    deadline: float | None = None
    send_timeout: float | None = None

    @classmethod
    def adopt(cls, sock: socket.socket) -> DeadlineSocket:
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.setblocking(False)
        return adopted

    def _remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        remaining = self._remaining()
        if remaining is None or flags & socket.MSG_PEEK or self.gettimeout() == 0.0:
            return super().recv(bufsize, flags)
        if remaining <= 0:
            return b""
        self.settimeout(remaining)
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            return b""
        finally:
            self.settimeout(None)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        remaining = self._remaining()
        if remaining is None or flags & socket.MSG_PEEK or self.gettimeout() == 0.0:
            return super().recv_into(buffer, nbytes, flags)
        if remaining <= 0:
            return 0
        self.settimeout(remaining)
        try:
            return super().recv_into(buffer, nbytes, flags)
        except TimeoutError:
            return 0
        finally:
            self.settimeout(None)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self.send_timeout is None or self.gettimeout() == 0.0:
            super().sendall(data, flags)
            return
        self.settimeout(self.send_timeout)
        try:
            super().sendall(data, flags)
        finally:
            self.settimeout(None)


class BufferedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread, but a connection gets a thread only once its request head has arrived."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_conns: deque[Any] = deque()
        self.header_timeout: float = setting("HEADER_TIMEOUT")
        self.body_timeout: float = setting("BODY_TIMEOUT")

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl:
            raise RuntimeError("riskrules' worker does not terminate TLS: put a proxy in front")

    # -- new connections: read in the poller until the request is whole --------------------
    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        sock = DeadlineSocket.adopt(client_sock)
        sock.send_timeout = float(self.cfg.timeout) or None
        conn = TConn(self.cfg, sock, client_addr, listener.getsockname())
        self._await_request(conn)

    def _await_request(self, conn: Any) -> None:
        conn.sock.setblocking(False)
        conn.rr_buffer = bytearray()
        conn.rr_head_done = False
        conn.timeout = time.monotonic() + self.header_timeout
        self.header_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self._on_request_bytes, conn))

    def _on_request_bytes(self, conn: Any, client: Any) -> None:
        closed = False
        try:
            while len(conn.rr_buffer) < BUFFER_LIMIT:
                data = conn.sock.recv(min(65536, BUFFER_LIMIT - len(conn.rr_buffer)))
                if not data:
                    closed = True
                    break
                conn.rr_buffer += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed = True
        head_done, whole = request_complete(conn.rr_buffer)
        if head_done and not conn.rr_head_done:
            conn.rr_head_done = True
            conn.timeout = time.monotonic() + self.body_timeout
            if not whole and not closed and _expects_continue(conn.rr_buffer):
                # curl sends a body over 1 KiB only after "100 Continue" (or after waiting
                # 1 s): say it now, or every such request would wait. gunicorn sends its own
                # later; a client reads any number of 1xx answers (RFC 9110, 15.2).
                with contextlib.suppress(OSError):
                    conn.sock.send(CONTINUE)
        if not (whole or closed):
            return  # not complete yet: stay in the poller, no thread taken
        self._forget(conn)
        if closed and not conn.rr_buffer:  # closed by the client before a request
            self.nr_conns -= 1
            conn.close()
            return
        conn.data_ready = True
        self.enqueue_req(conn)

    def _forget(self, conn: Any) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(ValueError):
            self.header_conns.remove(conn)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        """A kept-alive connection has bytes: its next request must arrive whole too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_request(conn)
        self._on_request_bytes(conn, client)

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.header_conns if c.timeout <= now]:
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()

    # -- a request in a thread: the body has a deadline --------------------------------------
    def handle(self, conn: Any) -> Any:
        sock = conn.sock
        if isinstance(sock, DeadlineSocket):
            sock.deadline = time.monotonic() + self.body_timeout
        try:
            buffered = getattr(conn, "rr_buffer", None)
            if buffered:
                sock.setblocking(True)
                conn.init()  # the parser, which reads the buffered bytes before the socket
                conn.parser.unreader.unread(bytes(buffered))
                conn.rr_buffer = bytearray()
            return super().handle(conn)
        finally:
            if isinstance(sock, DeadlineSocket):
                sock.deadline = None
