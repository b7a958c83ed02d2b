"""``fastipc listen``: connect as a client and print every event received.

Each event prints as ``{"type", "data", "from"}`` with the server's id as
``from``. ``--send`` emits events on every connect; ``--count`` exits after
that many events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from .. import OMITTED
from .common import (
    Status,
    client_where,
    configured_ipc,
    connect,
    disconnect,
    fail,
    print_event,
    stop_on_signals,
    wait_connected,
)

__all__ = ["run"]


def parse_sends(items: list[list[str]] | None) -> list[tuple[str, Any]]:
    """The ``--send TYPE [JSON]`` options as ``(type, data)`` pairs.

    Raises:
        ValueError: Raised when an option has more than two values or its
            JSON is not valid; the message says which.
    """
    sends = []
    for item in items or ():
        if len(item) > 2:
            raise ValueError(f"--send takes TYPE [JSON], got {' '.join(item)}")
        try:
            sends.append((item[0], json.loads(item[1]) if len(item) == 2 else OMITTED))
        except json.JSONDecodeError as exc:
            raise ValueError(f"--send {item[0]}: not valid JSON ({exc}): {item[1]!r}") from None
    return sends


async def run(args: argparse.Namespace) -> int:
    """Listen until ``--count`` events, SIGINT/SIGTERM, or the client is destroyed.

    Returns:
        0, or 1 for a bad ``--send`` or no connection within ``--timeout``.
    """
    status = Status(args.silent)
    try:
        sends = parse_sends(args.send)
    except ValueError as exc:
        return fail(str(exc))
    ipc = configured_ipc(args)
    stop = asyncio.Event()
    seen = 0
    client = connect(args, ipc)

    @client.on_any
    def received(event: str, data: Any) -> None:
        nonlocal seen
        if args.count is not None and seen >= args.count:
            return
        print_event(event, data, args.id)
        seen += 1
        if args.count is not None and seen >= args.count:
            stop.set()

    @client.on("connect")
    def connected() -> None:
        status("connected to", args.id, "at", client_where(client))
        for event, data in sends:
            client.emit(event, data)

    @client.on("disconnect")
    def disconnected() -> None:
        status("disconnected from", args.id)

    client.on("error", lambda exc: status("error:", exc))
    client.on("destroy", stop.set)
    undo = stop_on_signals(stop)
    try:
        if args.timeout is not None:
            problem = await wait_connected(client, args.timeout)
            if problem is not None:
                return fail(problem)
        await stop.wait()
        if client.destroyed and (args.count is None or seen < args.count):
            status("connection destroyed")
    finally:
        undo()
        await disconnect(ipc, args.id)
    return 0
