"""A loopback TCP proxy that breaks connections on purpose, for the fault-injection tests.

Owns one listening socket on 127.0.0.1, the connections accepted on it and the
connections it opens to one upstream server (Dovecot or the SMTP sink). All of
it runs on an asyncio loop in one background thread; ``stop()`` closes every
socket and ends the thread, also when a test failed halfway.

The faults it makes, each at a moment the test chooses:

- ``cut()``: end every open connection at once (both sides see the socket close);
- ``stall(direction, seconds)``: stop forwarding, in one direction or both, until
  ``resume()`` (or for ``seconds``) - the peer sees a server that hangs;
- ``refuse()`` / ``accept()``: close the listening socket (connection refused)
  and open it again on the same port;
- triggers, so the moment is an event and not a sleep: ``when_server_sent(n,
  action)`` runs ``action`` once a connection has passed more than ``n`` bytes
  from the server to the client, ``when_client_sends(marker, action)`` once the
  client sent ``marker`` (``b"UID MOVE"``, the end of an SMTP DATA). An action
  runs on the proxy thread *before* the chunk that fired it is forwarded, so
  ``proxy.cut`` as an action means that chunk never arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Direction = Literal["up", "down", "both"]
"""``up`` is client -> server, ``down`` is server -> client."""

CHUNK = 64 * 1024
CONNECT_TIMEOUT = 5.0
STOP_TIMEOUT = 10.0


@dataclass
class _Trigger:
    action: Callable[[], object]
    server_bytes: int | None = None
    marker: bytes | None = None
    fired: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Link:
    """One proxied connection: the client's socket and ours to the server."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    down_bytes: int = 0
    up_tail: bytes = b""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.server):
            writer.transport.abort()


@dataclass
class ProxyStats:
    connections: int = 0
    """Connections accepted (and forwarded) since start."""
    refused: int = 0
    """Connections closed at once because the proxy was over its limit."""
    bytes_up: int = 0
    bytes_down: int = 0
    cuts: int = 0
    """Connections ended by ``cut()``."""


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; see the module docstring."""

    def __init__(self, upstream_host: str, upstream_port: int, *, max_connections: int = 64) -> None:
        if not ipaddress.ip_address(upstream_host).is_loopback:
            raise ValueError(f"the fault proxy only talks to loopback, not {upstream_host}")
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = 0
        self.max_connections = max_connections
        self.stats = ProxyStats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._sessions: set[asyncio.Task[object]] = set()
        self._flowing: dict[str, asyncio.Event] = {}
        self._triggers: list[_Trigger] = []
        self._lock = threading.Lock()

    # -- life cycle -----------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._make_events)
        self.accept()
        return self

    def stop(self) -> None:
        """Close every connection and the listener, end the thread. Idempotent."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=STOP_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- faults ---------------------------------------------------------------

    def cut(self) -> int:
        """End every open connection now; returns how many there were."""
        return self._call(self._cut_all)

    def stall(self, direction: Direction = "both", seconds: float | None = None) -> None:
        """Stop forwarding (bytes wait in the proxy) until ``resume()`` or ``seconds``."""

        def apply() -> None:
            for name in _directions(direction):
                self._flowing[name].clear()
            if seconds is not None:
                self._loop.call_later(seconds, self._resume_now)

        self._call(apply)

    def resume(self) -> None:
        """Forward again, in both directions, what waited and what comes."""
        self._call(self._resume_now)

    def refuse(self) -> None:
        """Close the listening socket: new connections are refused, open ones go on.

        Also usable as (part of) a trigger's action.
        """
        self._call(self._close_listener)

    def accept(self) -> None:
        """Listen (again) on the same port."""
        self._run(self._listen())

    def when_server_sent(self, count: int, action: Callable[[], object]) -> threading.Event:
        """Run ``action`` once, when one connection has passed > ``count`` bytes to its client."""
        return self._arm(_Trigger(action, server_bytes=count))

    def when_client_sends(self, marker: bytes, action: Callable[[], object]) -> threading.Event:
        """Run ``action`` once, when a client sends ``marker`` (also split over two reads)."""
        if not marker:
            raise ValueError("an empty marker would fire at once")
        return self._arm(_Trigger(action, marker=marker))

    @property
    def open_connections(self) -> int:
        return len(self._links)

    # -- on the loop thread ---------------------------------------------------

    def _arm(self, trigger: _Trigger) -> threading.Event:
        with self._lock:
            self._triggers.append(trigger)
        return trigger.fired

    def _make_events(self) -> None:
        self._flowing = {"up": asyncio.Event(), "down": asyncio.Event()}
        self._resume_now()

    def _resume_now(self) -> None:
        for event in self._flowing.values():
            event.set()

    def _cut_all(self) -> int:
        links = list(self._links)
        for link in links:
            link.abort()
        self.stats.cuts += len(links)
        return len(links)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True, limit=CHUNK
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    async def _shutdown(self) -> None:
        self._close_listener()
        self._resume_now()
        self._cut_all()
        sessions = [task for task in self._sessions if task is not asyncio.current_task()]
        if sessions:
            await asyncio.wait(sessions, timeout=STOP_TIMEOUT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._sessions.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._links) >= self.max_connections:
            self.stats.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream, limit=CHUNK), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            # The upstream is down: the client sees what it would see without us.
            writer.transport.abort()
            return
        link = _Link(client=writer, server=up_writer)
        self._links.add(link)
        self.stats.connections += 1
        link.tasks = [
            asyncio.ensure_future(self._pump(link, reader, up_writer, "up")),
            asyncio.ensure_future(self._pump(link, up_reader, writer, "down")),
        ]
        try:
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
            link.abort()
            self._links.discard(link)

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, target: asyncio.StreamWriter, direction: str
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                data = await source.read(CHUNK)
                if not data:
                    return
                self._count(link, data, direction)
                if target.transport.is_closing():
                    return  # a trigger's action cut this connection
                await self._flowing[direction].wait()
                if target.transport.is_closing():
                    return
                target.write(data)
                await target.drain()

    def _count(self, link: _Link, data: bytes, direction: str) -> None:
        if direction == "up":
            self.stats.bytes_up += len(data)
            window, kept = link.up_tail + data, len(link.up_tail)
            link.up_tail = window[-64:]
            # A marker lying wholly in the kept tail was seen before: only a match
            # that ends in the new data counts.
            self._fire(
                lambda t: t.marker is not None and t.marker in window[max(0, kept - len(t.marker) + 1) :]
            )
        else:
            self.stats.bytes_down += len(data)
            link.down_bytes += len(data)
            self._fire(lambda t: t.server_bytes is not None and link.down_bytes > t.server_bytes)

    def _fire(self, matches: Callable[[_Trigger], bool]) -> None:
        with self._lock:
            due = [t for t in self._triggers if matches(t)]
            self._triggers = [t for t in self._triggers if t not in due]
        for trigger in due:
            try:
                trigger.action()
            finally:
                trigger.fired.set()

    # -- calling into the loop ------------------------------------------------

    def _call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the loop thread (directly when already on it)."""
        if threading.current_thread() is self._thread:
            return function()

        async def call() -> T:
            return function()

        return self._run(call())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("cannot wait for the proxy loop from an action; use cut/stall/resume")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=STOP_TIMEOUT)


def _directions(direction: Direction) -> tuple[str, ...]:
    if direction == "both":
        return ("up", "down")
    return (direction,)


__all__ = ["Direction", "ProxyStats", "TcpProxy"]
