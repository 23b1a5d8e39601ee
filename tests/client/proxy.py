"""A TCP proxy on loopback between the client and the server, for tests that
watch the traffic (it counts the TDS messages the client sends: requests) and
for tests that break it (black holes, closed and cut connections, delays).

Only cleartext TDS can be read this way: after a TLS login the packets are
inside TLS records, so tests that count requests need an Encrypt=no URL.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
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


TO_SERVER = "to_server"
TO_CLIENT = "to_client"
POLL_SECS = 0.02


def _reset(sock: socket.socket) -> None:
    """Closes `sock` with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _finish(sock: socket.socket) -> None:
    """Closes `sock` with a FIN."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class _Link:
    """One client connection and, unless the proxy never answers, its connection to the server."""

    def __init__(self, client: socket.socket, server: socket.socket | None) -> None:
        self.client = client
        self.server = server
        # How to close it when asked (set by Proxy.close_connections): "fin" or "rst".
        self.close_request: str | None = None
        self.closed = threading.Event()

    def close(self, how: str) -> None:
        end = _reset if how == "rst" else _finish
        for sock in (self.client, self.server):
            if sock is not None:
                end(sock)
        self.closed.set()


class Proxy:
    """A TCP proxy on loopback that forwards every accepted connection to `target`, counts the
    client's requests, and injects network faults on command:

    - `pass_through()`: forward everything (the initial state);
    - `black_hole()`: keep every socket open but forward nothing (the data is held until
      `pass_through()`), as a network that silently drops packets;
    - `close_connections(how)`: close every open connection on both sides, with a FIN or an RST;
    - `cut_after(n, direction, how)`: forward `n` more bytes in `direction` (TO_CLIENT or
      TO_SERVER), then close that connection with a FIN or an RST;
    - `delay(secs)`: hold every chunk `secs` before forwarding it;
    - `throttle(bytes_per_sec)`: forward at most that many bytes a second;
    - `never_answer()`: accept new connections but never connect them to the server nor answer;
    - `reset_next(n)`: reset the next `n` new connections as soon as they are accepted (a server
      that is not up yet);
    - `retarget(address)`: forward new connections elsewhere (a server restarted on another port).

    One thread per connection forwards both directions, so a fault's closing is done by the
    thread that owns the sockets. `faults_injected` counts the faults that took effect.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.counter = RequestCounter()
        self.faults_injected = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._delay = 0.0
        self._rate: float | None = None
        self._cut: dict[str, tuple[int, str]] = {}
        self._answering = True
        self._resets_left = 0
        self.accepted = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    # -- faults ---------------------------------------------------------------------------

    def pass_through(self) -> None:
        with self._lock:
            self._delay, self._rate, self._cut, self._answering = 0.0, None, {}, True
        self._flowing.set()

    def black_hole(self) -> None:
        self._flowing.clear()
        self.faults_injected += 1

    def close_connections(self, how: str = "fin") -> int:
        """Closes every open connection (both sides) with `how` ("fin" or "rst"); returns how many."""
        assert how in ("fin", "rst"), how
        with self._lock:
            links = [link for link in self._links if not link.closed.is_set()]
            for link in links:
                link.close_request = how
        for link in links:
            if link.server is None:
                link.close(how)  # never answered: no thread of its own
            link.closed.wait(5)
        self.faults_injected += len(links)
        return len(links)

    def cut_after(self, n: int, direction: str = TO_CLIENT, how: str = "fin") -> None:
        assert direction in (TO_CLIENT, TO_SERVER) and how in ("fin", "rst")
        with self._lock:
            self._cut[direction] = (n, how)

    def delay(self, secs: float) -> None:
        with self._lock:
            self._delay = secs

    def throttle(self, bytes_per_sec: float) -> None:
        with self._lock:
            self._rate = bytes_per_sec

    def never_answer(self) -> None:
        with self._lock:
            self._answering = False

    def reset_next(self, n: int) -> None:
        with self._lock:
            self._resets_left = n

    def retarget(self, target: tuple[str, int]) -> None:
        with self._lock:
            self.target = target

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for link in self._links if not link.closed.is_set())

    # -- forwarding -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                answering, target = self._answering, self.target
                self.accepted += 1
                resetting = self._resets_left > 0
                self._resets_left -= resetting
            if resetting:
                self.faults_injected += 1
                _reset(client)
                continue
            if not answering:
                self.faults_injected += 1
                with self._lock:
                    self._links.append(_Link(client, None))
                continue
            try:
                server = socket.create_connection(target)
            except OSError:
                _reset(client)
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._forward, args=(link,), daemon=True).start()

    def _forward(self, link: _Link) -> None:
        assert link.server is not None
        peers = {link.client: (link.server, TO_SERVER), link.server: (link.client, TO_CLIENT)}
        try:
            while not self._closed.is_set():
                if link.close_request is not None:
                    link.close(link.close_request)
                    return
                if not self._flowing.wait(POLL_SECS):
                    continue
                readable, _, _ = select.select(list(peers), [], [], POLL_SECS)
                for source in readable:
                    sink, direction = peers[source]
                    data = source.recv(65536)
                    if not data:
                        link.close("fin")
                        return
                    if self._relay(link, data, sink, direction):
                        return
        except OSError:
            link.close("fin")

    def _relay(self, link: _Link, data: bytes, sink: socket.socket, direction: str) -> bool:
        """Forwards `data` under the current faults; True when the link was closed."""
        # Held while black-holed (only the data already read; the sockets' buffers fill up).
        while not self._flowing.wait(POLL_SECS):
            if link.close_request is not None or self._closed.is_set():
                link.close(link.close_request or "fin")
                return True
        with self._lock:
            delay, rate, cut = self._delay, self._rate, self._cut.get(direction)
            if cut is not None:
                remaining, how = cut
                self._cut[direction] = (max(remaining - len(data), 0), how)
        if delay:
            time.sleep(delay)
        if cut is not None and len(data) >= cut[0]:
            sink.sendall(data[: cut[0]])
            self.faults_injected += 1
            link.close(cut[1])
            return True
        if direction == TO_SERVER:
            self.counter.feed(data)
        if rate is None:
            sink.sendall(data)
            return False
        step = max(1, int(rate * POLL_SECS))
        for offset in range(0, len(data), step):
            sink.sendall(data[offset : offset + step])
            time.sleep(POLL_SECS)
        return False

    def close(self) -> None:
        self._closed.set()
        self._flowing.set()
        self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            if not link.closed.is_set():
                link.close("fin")


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
