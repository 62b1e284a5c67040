"""An in-process TCP forwarder (127.0.0.1 → PostgreSQL) that a fault scenario can break and mend.

Two ways to make the database unreachable for the service without touching the machine's real
PostgreSQL: `cut()` resets every forwarded connection and resets new ones at once (a database
host that is down: clients fail fast); `stall()` keeps every connection open but forwards
nothing (a silent network partition: clients wait). `restore()` mends either.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0) rather than FIN: the peer sees a hard failure at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TcpProxy:
    """Forward 127.0.0.1:<port> to `target`; `cut()` / `restore()` switch the link."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self.accepted = 0
        self.refused = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until `restore()`."""
        self._up.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)

    def stall(self) -> None:
        """Keep every connection open but forward nothing until `restore()`."""
        self._flowing.clear()

    def restore(self) -> None:
        self._up.set()
        self._flowing.set()

    def close(self) -> None:
        self._closing.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            self.accepted += 1
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True,
                             name="tcp-proxy-pump").start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peers = {client: upstream, upstream: client}
        try:
            while self._up.is_set() and not self._closing.is_set():
                if not self._flowing.wait(0.2):
                    continue
                readable, _, _ = select.select(list(peers), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: select on a socket cut() closed
            return
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.close()
