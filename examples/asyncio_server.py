"""The same API inside ``asyncio.run``: no thread, awaitable forms.

Called from a running event loop (asyncio or uvloop), fastipc attaches to it
and starts no thread. ``start()`` and ``connectTo()`` then return at once;
await ``server.wait_started()`` and ``client.wait_connected()`` instead. Here
one process holds both ends: a 'world' server and a 'hello' client (separate
``IPC()`` instances, as two processes would have), exchanging ``--count``
request/reply pairs; then it stops the server and exits.

    python examples/asyncio_server.py [--socket-root DIR] [--count 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading

from fastipc import IPC


async def main(socket_root: str | None, count: int) -> None:
    world = IPC()
    world.config.id = "world"
    world.config.silent = True
    if socket_root:
        world.config.socketRoot = os.path.join(socket_root, "")
    server = world.serve()

    @server.on("message")
    def message(data, socket) -> None:
        server.emit(socket, "message", data + " world!")

    server.start()
    await server.wait_started()
    print(
        f"serving 'world' on {server.path} (thread: {threading.current_thread().name})", flush=True
    )

    hello = IPC()
    hello.config.id = "hello"
    hello.config.silent = True
    hello.config.socketRoot = world.config.socketRoot
    client = hello.connectTo("world")
    replies: asyncio.Queue[str] = asyncio.Queue()
    client.on("message", replies.put_nowait)
    await client.wait_connected()
    print("## connected to world ##", flush=True)

    for n in range(1, count + 1):
        client.emit("message", f"hello #{n}")
        reply = await asyncio.wait_for(replies.get(), 5)
        print(f"got a message from world: {reply!r}", flush=True)

    hello.disconnect("world")
    server.stop()
    await server.wait_closed()
    print(f"stopped; threads running: {threading.active_count()}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
    )
    parser.add_argument("--count", type=int, default=3, help="request/reply pairs (default 3)")
    args = parser.parse_args()
    asyncio.run(main(args.socket_root, args.count))
