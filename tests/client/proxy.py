"""A TCP proxy on loopback between the client and the server, for tests that
watch the traffic: it counts the TDS messages the client sends (requests).

Only cleartext TDS can be read this way: after a TLS login the packets are
inside TLS records, so tests that count requests need an Encrypt=no URL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from connection_strings import build_connection_string, parse_connection_string

PACKET_HEADER = 8
END_OF_MESSAGE = 0x01
# TDS packet types a client sends as requests (MS-TDS 2.2.3.1.1).
REQUEST_TYPES = {0x01: "sql_batch", 0x03: "rpc", 0x07: "bulk_load", 0x0E: "transaction_manager"}
LOGIN7 = 0x10
# LOGIN7's TypeFlags byte (after Length, TDSVersion, PacketSize, ClientProgVer, ClientPID,
# ConnectionID, OptionFlags1 and OptionFlags2) and its fReadOnlyIntent bit (MS-TDS 2.2.6.4).
TYPE_FLAGS_OFFSET = 26
READ_ONLY_INTENT = 0x20


class RequestCounter:
    """Reads the client's byte stream as TDS packets and counts whole request messages by type."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lock = threading.Lock()
        self.requests: list[str] = []
        self.largest_packet = 0
        self.login: bytes | None = None

    def feed(self, data: bytes) -> None:
        with self._lock:
            self._buffer += data
            while len(self._buffer) >= PACKET_HEADER:
                length = int.from_bytes(self._buffer[2:4], "big")
                if length < PACKET_HEADER or len(self._buffer) < length:
                    break
                kind, status = self._buffer[0], self._buffer[1]
                self.largest_packet = max(self.largest_packet, length)
                if kind == LOGIN7 and self.login is None:
                    self.login = bytes(self._buffer[PACKET_HEADER:length])
                del self._buffer[:length]
                if status & END_OF_MESSAGE and kind in REQUEST_TYPES:
                    self.requests.append(REQUEST_TYPES[kind])

    def read_only_intent(self) -> bool:
        """Whether the (cleartext) LOGIN7 asked for a read-only session."""
        assert self.login is not None, "no cleartext LOGIN7 was seen"
        return bool(self.login[TYPE_FLAGS_OFFSET] & READ_ONLY_INTENT)

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if kind is None or r == kind)


class Proxy:
    """Forwards every accepted connection to `target`; counts the client's requests."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.counter = RequestCounter()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, self.counter), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, counter: RequestCounter | None) -> None:
        try:
            while data := source.recv(65536):
                if counter is not None:
                    counter.feed(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@contextmanager
def proxied(url: str) -> Iterator[tuple[str, Proxy]]:
    """`url` rewritten to go through a new proxy, and the proxy."""
    settings = parse_connection_string(url)
    server = settings.get("server") or settings.get("data source") or "127.0.0.1"
    host, _, port = server.removeprefix("tcp:").partition(",")
    proxy = Proxy((host, int(port or 1433)))
    try:
        yield build_connection_string({**settings, "server": f"127.0.0.1,{proxy.port}"}), proxy
    finally:
        proxy.close()


def is_encrypted(url: str) -> bool:
    return parse_connection_string(url).get("encrypt", "yes").lower() not in ("no", "false", "0", "optional")
