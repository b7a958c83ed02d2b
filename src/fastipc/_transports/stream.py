"""Stream transports (Unix sockets, TCP, TLS, named pipes): a thin asyncio Protocol.

Bytes enter in ``StreamProtocol.data_received``, which hands them to the
codec's decoder and passes the events it returns to the owner (a server or
client) through the ``StreamOwner`` contract. Frames leave through
``StreamProtocol.write``: the first frame of a loop turn is handed to
the transport at once (latency); the frames that follow it in the same turn,
and those that handlers emit while a batch of events is dispatched, are
joined into one transport write (throughput). The protocol knows nothing of
JSON: the decoder it is given does.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from threading import get_ident
from typing import Any, Protocol, cast

from ..errors import IPCProtocolError, MessageTimeoutError
from . import Decoder
from .winpipe import server_pid_of

__all__ = ["StreamOwner", "StreamProtocol"]

#: Bytes waiting in the transport's own write buffer (asyncio's or uvloop's,
#: not the kernel's) before the writer is paused (``pause_writing``), and
#: the level it must drain to before it resumes.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024

#: struct ucred (pid, uid, gid), what SO_PEERCRED returns on Linux
_UCRED = struct.Struct("3i")


class StreamOwner(Protocol):
    """The contract between a connection and its owner (a server or client).

    The connection calls these on the loop thread: once when it is made,
    with every batch of decoded events, when the peer breaks the protocol
    (the owner closes the connection and reports the error), and once when
    it is lost.
    """

    def _connection_made(self, conn: StreamProtocol) -> None: ...

    def _events_received(self, conn: StreamProtocol, events: list[tuple[str, Any]]) -> None: ...

    def _protocol_failed(self, conn: StreamProtocol, error: IPCProtocolError) -> None: ...

    def _connection_lost(self, conn: StreamProtocol, exc: BaseException | None) -> None: ...


class StreamProtocol(asyncio.Protocol):
    """One stream connection.

    Args:
        owner: the server or client the connection reports to.
        decoder: the codec's decoder for this connection.
        loop: the loop the connection lives on.
        message_timeout: seconds an unfinished inbound frame may wait
            before the connection fails (guarded/assured); 0: no limit.
        bounded: the owner bounds queued bytes (``maxPendingBytes``) and
            closes a connection that exceeds it, so writers never block.
    """

    def __init__(
        self,
        owner: StreamOwner,
        decoder: Decoder,
        loop: asyncio.AbstractEventLoop,
        *,
        message_timeout: float = 0.0,
        bounded: bool = False,
    ) -> None:
        self.owner = owner
        self.decoder = decoder
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.failed = False  # a protocol error is closing it
        self._dispatching = False  # handlers of this connection are running
        # Frames emitted on the loop thread: touched by that thread only, so
        # the hot path takes no lock.
        self._queue: list[bytes] = []
        self._queued_bytes = 0
        self._flush_scheduled = False
        # Frames emitted from other threads, under the lock, moved to the
        # queue by one hand-off to the loop per batch.
        self._lock = threading.Lock()
        self._foreign: list[bytes] = []
        self._foreign_bytes = 0
        self._foreign_scheduled = False
        self._thread_waiters = 0
        self._paused = False
        self._resumed = threading.Condition(self._lock)
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._closed_future: asyncio.Future[None] = loop.create_future()
        # Protocols are made on their loop's thread (by a server's factory or
        # a client's connect coroutine).
        self._loop_thread = get_ident()
        self._call_soon = loop.call_soon
        self._message_timeout = message_timeout
        self._bounded = bounded
        self._message_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they
        # have its methods
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        self.owner._connection_made(self)

    def data_received(self, data: bytes) -> None:
        # The hot path: one feed() per read, then dispatch what it completed.
        try:
            events = self.decoder.feed(data)
        except IPCProtocolError as error:
            if error.events:
                self.owner._events_received(self, error.events)
            self._clear_message_timer()
            self.owner._protocol_failed(self, error)
            return
        if events:
            # Frames the handlers emit back on this connection are queued and
            # written together once they have all run: one transport write, and
            # no extra loop turn before a reply leaves.
            self._dispatching = True
            try:
                self.owner._events_received(self, events)
            finally:
                self._dispatching = False
            if self._queue:
                self._flush()
        if self._message_timeout:
            if self.decoder.pending:
                if self._message_timer is None and not self.closed:
                    self._message_timer = self.loop.call_later(
                        self._message_timeout, self._message_timed_out
                    )
            else:
                self._clear_message_timer()

    def _message_timed_out(self) -> None:
        self._message_timer = None
        if self.closed:
            return
        pending = self.decoder.pending
        self.decoder.reset()
        error = MessageTimeoutError(
            f"an unfinished message of {pending} bytes waited longer than "
            f"messageTimeout ({self._message_timeout * 1000:g} ms)"
        )
        self.owner._protocol_failed(self, error)

    def _clear_message_timer(self) -> None:
        if self._message_timer is not None:
            self._message_timer.cancel()
            self._message_timer = None

    def eof_received(self) -> bool | None:
        return None  # close our side too, as Node's allowHalfOpen=false does

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._clear_message_timer()
        self._queue.clear()
        self._queued_bytes = 0
        with self._lock:
            self._foreign.clear()
            self._foreign_bytes = 0
            self._paused = False
            self._resumed.notify_all()
        self._wake_drainers()
        if not self._closed_future.done():
            self._closed_future.set_result(None)
        self.owner._connection_lost(self, exc)

    def pause_writing(self) -> None:
        with self._lock:
            self._paused = True

    def resume_writing(self) -> None:
        with self._lock:
            self._paused = False
            self._resumed.notify_all()
        self._wake_drainers()

    # ------------------------------------------------------------ writing

    def write(self, data: bytes) -> bool:
        """Send ``data``: the first frame of a loop turn at once, the rest of
        the turn's frames joined into one transport write at its end.

        Call from any thread. From a thread other than the loop's, the call
        blocks while the connection is paused by backpressure, so a producer
        thread cannot outrun its peer; not under guarded/assured, where
        ``maxPendingBytes`` closes a connection that falls too far behind.
        From the loop thread it never blocks; it returns ``False`` once the
        peer is behind (await ``drain``).

        Returns:
            ``False`` when the connection is closed or paused.
        """
        if get_ident() == self._loop_thread:
            # The hot path: an emit from a handler or coroutine on the loop.
            if self.closed:
                return False
            if self._dispatching:
                self._queue.append(data)
                self._queued_bytes += len(data)
                if self._queued_bytes >= HIGH_WATER:
                    self._flush()
                return not self._paused
            if not self._flush_scheduled and self.transport is not None:
                # The first frame of a loop turn goes out at once (latency);
                # the rest of the turn's frames are joined into one write at
                # its end (throughput).
                self._flush_scheduled = True
                self._call_soon(self._flush)
                self.transport.write(data)
                return not self._paused
            self._queue.append(data)
            self._queued_bytes += len(data)
            if self._queued_bytes >= HIGH_WATER:
                # A burst inside one loop turn: hand it to the transport now,
                # so its buffer (and pause_writing) see it; the queue stays short.
                self._flush()
            elif not self._flush_scheduled:
                self._flush_scheduled = True
                self._call_soon(self._flush)
            return not self._paused
        return self._write_from_thread(data)

    def _write_from_thread(self, data: bytes) -> bool:
        with self._lock:
            if self.closed:
                return False
            if not self._bounded:
                # Wait while the peer is behind, or while the loop has not
                # yet taken the last HIGH_WATER bytes handed to it. (Under
                # maxPendingBytes a peer that never reads would hold the
                # thread forever, one broadcast stalling every client: there
                # the limit closes that connection instead, as node-ipc does.)
                while (self._paused or self._foreign_bytes >= HIGH_WATER) and not self.closed:
                    self._thread_waiters += 1
                    try:
                        self._resumed.wait(0.5)
                    finally:
                        self._thread_waiters -= 1
                if self.closed:
                    return False
            self._foreign.append(data)
            self._foreign_bytes += len(data)
            schedule = not self._foreign_scheduled
            self._foreign_scheduled = True
        if schedule:
            # one hand-off per batch, not one per message
            self.loop.call_soon_threadsafe(self._take_foreign)
        return not self._paused

    def _take_foreign(self) -> None:
        with self._lock:
            frames = self._foreign
            self._foreign = []
            self._foreign_bytes = 0
            self._foreign_scheduled = False
            if self._thread_waiters and not self._paused:
                self._resumed.notify_all()
        if frames and not self.closed:
            self._queue.extend(frames)
            self._flush()

    def _flush(self) -> None:
        queue = self._queue
        self._queue = []
        self._queued_bytes = 0
        self._flush_scheduled = False
        if not queue or self.transport is None or self.closed:
            return
        self.transport.write(queue[0] if len(queue) == 1 else b"".join(queue))

    @property
    def pending_bytes(self) -> int:
        """Bytes queued here and in the transport, not yet taken by the kernel."""
        size = self._queued_bytes + self._foreign_bytes
        if self.transport is not None and not self.closed:
            size += self.transport.get_write_buffer_size()
        return size

    async def drain(self) -> None:
        """Wait until the peer has taken what was written (below the low mark)."""
        if self._flush_scheduled:
            await asyncio.sleep(0)
        if not self._paused or self.closed:
            return
        waiter = self.loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed_future)

    def end(self) -> None:
        """Half-close: hand what is queued to the transport, then send
        end-of-file (Node's ``socket.end()``). Where the transport cannot
        (TLS, a named pipe), close after queued writes instead."""
        if self.transport is None or self.closed:
            return
        if not self.transport.can_write_eof():
            self.close()
            return
        self._take_foreign()
        self._flush()
        self.transport.write_eof()

    def close(self, abort: bool = False) -> None:
        """Close after queued writes; with ``abort``, drop what the kernel did not take."""
        if self.transport is None or self.closed:
            return
        # Hand queued frames to the transport first: it sends at once what
        # the kernel takes (as Node's write does before a destroy).
        self._take_foreign()
        self._flush()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()

    # ------------------------------------------------------------ peer

    def peer_pid(self) -> int | None:
        """The peer's process id as the OS reports it, where the transport
        can tell: a named pipe (set by the pipe server) or a Unix socket
        (``SO_PEERCRED``, Linux); else ``None``."""
        if self.transport is None:
            return None
        pid = self.transport.get_extra_info("peer_pid")
        if isinstance(pid, int):
            return pid  # a pipe server's connection (set as it was accepted)
        if self.transport.get_extra_info("pipe") is not None:
            return server_pid_of(self.transport)  # a pipe client's connection
        option = getattr(socket, "SO_PEERCRED", None)
        sock = self.transport.get_extra_info("socket")
        if option is None or sock is None or sock.family != getattr(socket, "AF_UNIX", None):
            return None
        try:
            credentials = sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size)
        except OSError:
            return None
        pid = _UCRED.unpack(credentials)[0]
        return pid if pid > 0 else None

    def peer_address(self) -> Any:
        """The peer's socket address (``peername``), or ``None``."""
        return self.get_extra_info("peername")

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's ``get_extra_info(name)``: ``peername``,
        ``sockname``, ``peercert``, ``ssl_object``, ``cipher``, ..."""
        if self.transport is None:
            return default
        return self.transport.get_extra_info(name, default)
