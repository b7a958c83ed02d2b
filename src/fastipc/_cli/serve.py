"""``fastipc serve``: serve an id, a path or a TCP address; print every event.

Each event a peer sends prints as ``{"type", "data", "from"}``. ``from`` is
the peer's id once it sent one (``identifyPeer`` is on), else its TCP
address, else ``local#N`` for the Nth local connection.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from .. import IPCSocket
from .common import Status, configured_ipc, fail, print_event, stop_on_signals

__all__ = ["run"]


async def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM, then stop the server.

    Returns:
        0 after a clean stop; 1 when the server cannot listen.
    """
    status = Status(args.silent)
    ipc = configured_ipc(args, id=args.id or "fastipc-cli")
    ipc.config.identifyPeer = True
    if args.tcp is not None:
        host, port = args.tcp
        server = ipc.serveNet(host or ipc.config.networkHost, port)
    else:
        server = ipc.serve(args.path)
    numbers: dict[IPCSocket, str] = {}

    @server.on("connect")
    def connected(sock: IPCSocket) -> None:
        numbers[sock] = f"local#{len(numbers) + 1}"
        status("connected:", origin(sock, numbers))

    @server.on("socket.disconnected")
    def disconnected(sock: IPCSocket, id: Any) -> None:
        status("disconnected:", origin(sock, numbers))

    @server.on("error")
    def error(exc: BaseException) -> None:
        status("error:", exc)

    @server.on_any
    def received(event: str, data: Any, sock: IPCSocket) -> None:
        print_event(event, data, origin(sock, numbers))

    stop = asyncio.Event()
    undo = stop_on_signals(stop)
    try:
        server.start()
        try:
            await server.wait_started()
        except OSError as exc:
            return fail(f"cannot serve on {where(server.path, server.port)}: {exc}")
        status("serving on", where(server.path, server.port))
        await stop.wait()
        status("stopping")
    finally:
        undo()
        server.stop()
        await server.wait_closed()
    return 0


def origin(sock: IPCSocket, numbers: dict[IPCSocket, str]) -> Any:
    """Who sent an event: the peer's id, its TCP address, or ``local#N``."""
    if sock.id:
        return sock.id
    if sock.remoteAddress is not None:
        return host_port(sock.remoteAddress, sock.remotePort)
    return numbers.get(sock, "local")


def where(path: str, port: int | None) -> str:
    """Where a server listens: its path, or ``host:port`` (the port it got, after start)."""
    return path if port is None else host_port(path, port)


def host_port(host: str, port: Any) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
