r"""Windows named pipes: node-ipc's local transport on Windows.

A server serves ``\\.\pipe\<name>`` on asyncio's Proactor loop. The pipe
instances come from the ``fastipc._pipe_win`` shim, not from asyncio: they
carry an owner-only DACL (widened by ``readableAll``/``writableAll``), the
first one is created with ``FILE_FLAG_FIRST_PIPE_INSTANCE`` so a second
server cannot take over a name in use, and each connection learns the
client's process id from the OS. Accepting, reading and writing are the
Proactor's own (``accept_pipe`` and its duplex pipe transport), so a pipe
connection is driven by the same ``StreamProtocol``
as a Unix socket. Clients connect with ``loop.create_pipe_connection``.

This module knows nothing of JSON.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from ..errors import IPCError

__all__ = ["PipeServer", "client_pid_of", "connect_pipe", "server_pid_of", "start_pipe_server"]

ProtocolFactory = Callable[[], asyncio.BaseProtocol]


def _shim() -> Any:
    try:
        from .. import _pipe_win
    except ImportError as exc:
        raise IPCError(
            "named pipes need the compiled shim fastipc._pipe_win, which is not built: "
            f"reinstall fastipc from a Windows wheel ({exc})"
        ) from exc
    return _pipe_win


def _proactor(loop: asyncio.AbstractEventLoop) -> Any:
    proactor = getattr(loop, "_proactor", None)
    if proactor is None or not hasattr(loop, "_make_duplex_pipe_transport"):
        raise IPCError(
            f"named pipes need asyncio's ProactorEventLoop (Windows' default); "
            f"this code runs on {type(loop).__name__}"
        )
    return proactor


class PipeServer:
    r"""Serves one pipe name: keeps an unconnected instance waiting for the
    next client, hands each connected one to a protocol.

    It has the parts of ``asyncio.AbstractServer`` a fastipc server
    uses: ``close``, ``wait_closed``, ``is_serving``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        factory: ProtocolFactory,
        address: str,
        readable_all: bool,
        writable_all: bool,
    ) -> None:
        self._loop = loop
        self._factory = factory
        self.address = address
        self._readable_all = readable_all
        self._writable_all = writable_all
        self._proactor = _proactor(loop)
        self._shim = _shim()
        self._waiting: Any = None  # the instance a client may connect to next
        self._accepting: asyncio.Future[Any] | None = None
        self._closed = False
        self._closed_event = asyncio.Event()

    def _new_instance(self, first: bool) -> Any:
        if sys.platform != "win32":
            raise IPCError("named pipes exist on Windows only")
        from asyncio.windows_utils import PipeHandle  # type: ignore[attr-defined,unused-ignore]

        handle = self._shim.create_pipe(
            self.address,
            first=first,
            readable_all=self._readable_all,
            writable_all=self._writable_all,
        )
        return PipeHandle(handle)

    def start(self) -> None:
        """Create the first instance now, so a name in use fails here."""
        try:
            self._waiting = self._new_instance(first=True)
        except PermissionError as exc:
            raise PermissionError(
                exc.errno,
                f"the named pipe {self.address} is already served by another process",
                self.address,
            ) from exc
        self._accept()

    def _accept(self) -> None:
        if self._closed:
            return
        pipe = self._waiting
        try:
            if pipe is None:
                pipe = self._waiting = self._new_instance(first=False)
            future = self._proactor.accept_pipe(pipe)
        except OSError as exc:
            # Could not make or arm an instance: report it, try again soon
            # (a transient failure must not stop the server for good).
            if pipe is not None:
                pipe.close()
            self._waiting = None
            self._loop.call_exception_handler(
                {"message": f"named pipe {self.address}: cannot accept a client", "exception": exc}
            )
            self._loop.call_later(0.1, self._accept)
            return
        self._accepting = future
        future.add_done_callback(self._accepted)

    def _accepted(self, future: asyncio.Future[Any]) -> None:
        self._accepting = None
        pipe, self._waiting = self._waiting, None
        if future.cancelled():
            if pipe is not None:
                pipe.close()
            return
        error = future.exception()
        if error is not None or self._closed:
            # a client that vanished mid-connect (or one that came as we
            # closed): drop this instance and wait on a fresh one
            if pipe is not None:
                pipe.close()
            if not self._closed:
                self._accept()
            return
        try:
            pid: int | None = self._shim.client_process_id(pipe.fileno())
        except OSError:
            pid = None
        protocol = self._factory()
        self._loop._make_duplex_pipe_transport(  # type: ignore[attr-defined]
            pipe, protocol, extra={"addr": self.address, "peer_pid": pid}
        )
        self._accept()

    def security_descriptor(self) -> str:
        """The DACL of the instance waiting for the next client, as the OS
        reports it, in SDDL (``D:P(A;;GA;;;<your SID>)...``)."""
        if self._waiting is None:
            raise IPCError(f"no instance of {self.address} is waiting for a client")
        sddl: str = self._shim.security_descriptor(self._waiting.fileno())
        return sddl

    def is_serving(self) -> bool:
        return not self._closed

    def close(self) -> None:
        """Stop accepting; connections already made are left to their owner."""
        if self._closed:
            return
        self._closed = True
        if self._accepting is not None and not self._accepting.done():
            self._accepting.cancel()  # closes the waiting instance in _accepted
        elif self._waiting is not None:
            self._waiting.close()
            self._waiting = None
        self._closed_event.set()

    async def wait_closed(self) -> None:
        await self._closed_event.wait()
        # let the cancelled accept finish, so its instance is closed
        await asyncio.sleep(0)


async def start_pipe_server(
    loop: asyncio.AbstractEventLoop,
    factory: ProtocolFactory,
    address: str,
    *,
    readable_all: bool = False,
    writable_all: bool = False,
) -> PipeServer:
    r"""Serve the named pipe ``address`` (``\\.\pipe\...``) on ``loop``.

    Raises:
        PermissionError: Raised when another server already serves the name.
        IPCError: Raised when the loop is not a Proactor loop or the shim is
            missing.
    """
    server = PipeServer(loop, factory, address, readable_all, writable_all)
    server.start()
    return server


async def connect_pipe(
    loop: asyncio.AbstractEventLoop, factory: ProtocolFactory, address: str
) -> None:
    """Connect to the named pipe ``address``; the Proactor retries while
    every instance is busy.

    Raises:
        FileNotFoundError: Raised when nothing serves the name.
    """
    _proactor(loop)  # raises, naming the loop, where pipes cannot be used
    await loop.create_pipe_connection(factory, address)  # type: ignore[attr-defined,unused-ignore]


def client_pid_of(transport: asyncio.BaseTransport) -> int | None:
    """The OS-reported process id of the client on a server's pipe transport."""
    pid = transport.get_extra_info("peer_pid")
    return pid if isinstance(pid, int) else None


def server_pid_of(transport: asyncio.BaseTransport) -> int | None:
    """The OS-reported process id of the server a client's pipe transport reaches."""
    pipe = transport.get_extra_info("pipe")
    if pipe is None:
        return None
    try:
        pid: int = _shim().server_process_id(pipe.fileno())
    except (OSError, IPCError):
        return None
    return pid
