"""One worker process of ``fastipc demo`` (the hidden ``demo-worker`` command).

The worker connects to the demo's server and says ``ready``. On ``go`` it
sends ``--window`` requests and answers every ``reply`` with a new request,
so that many are always in flight; on ``stop`` it disconnects and exits.
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

from .common import configured_ipc

__all__ = ["run"]


async def run(args: argparse.Namespace) -> int:
    """Exchange requests and replies with the server ``args.id`` until ``stop``.

    Returns:
        0 once the connection is closed.
    """
    ipc = configured_ipc(args, id=args.name)
    ipc.config.maxRetries = 0
    client = ipc.connectTo(args.id)
    assert client is not None
    running = False
    sent = 0

    def request() -> None:
        nonlocal sent
        sent += 1
        client.emit("request", sent)

    @client.on("connect")
    def connected() -> None:
        client.emit("ready", {"id": args.name})

    @client.on("go")
    def go(data: Any) -> None:
        nonlocal running
        running = True
        for _ in range(args.window):
            request()

    @client.on("reply")
    def reply(data: Any) -> None:
        if running:
            request()

    @client.on("stop")
    def stop(data: Any) -> None:
        nonlocal running
        running = False
        ipc.disconnect(args.id)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the demo stops its workers
    await client.wait_closed()
    return 0
