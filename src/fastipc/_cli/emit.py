"""``fastipc emit``: connect, send one event, disconnect."""

from __future__ import annotations

import argparse
import asyncio

from .. import Client
from ..errors import IPCError
from .common import configured_ipc, connect, disconnect, fail, wait_connected

__all__ = ["run"]


async def run(args: argparse.Namespace) -> int:
    """Send ``args.type`` with ``args.data`` once connected, then disconnect.

    Returns:
        0 once the event was handed to the connection; 1 when no connection
        came up within ``--timeout`` or the event cannot be sent.
    """
    ipc = configured_ipc(args)
    client = connect(args, ipc)
    errors: list[BaseException] = []
    client.on("error", errors.append)
    try:
        problem = await wait_connected(client, args.timeout)
        if problem is not None:
            if errors:
                problem += f" (last error: {errors[-1]})"
            return fail(problem)
        try:
            client.emit(args.type, args.data)
        except IPCError as exc:
            return fail(f"cannot send {args.type!r}: {exc}")
        await close_gracefully(client)
    finally:
        await disconnect(ipc, args.id)
    return 0


async def close_gracefully(client: Client, linger: float = 1.0) -> None:
    """Send what was emitted, half-close, and wait (up to ``linger`` s) for the peer to close.

    Closing at once would race a server that writes to new connections (a
    greeting): its write would hit a closed socket, and node-ipc drops the
    connection on that error before it reads the event sent. After an
    end-of-file, node-ipc (and fastipc) read everything, then close.
    """
    await client.drain()
    client.end()
    try:
        await asyncio.wait_for(client.wait_closed(), linger)
    except asyncio.TimeoutError:
        pass
