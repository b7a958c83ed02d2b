"""node-ipc's TCP client, in Python: 'hello' talks to 'world' over TCP.

``ipc.connectToNet('world', host, port)``; the server may be
``tcp_server.py`` or a node-ipc ``serveNet`` server. It disconnects after
``--messages`` answers.

    python examples/tcp_client.py [--host H] [--port P] [--messages N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--messages", type=int, default=1, help="answers to wait for (default 1)")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.silent = True
answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print(f"## connected to world on {args.host}:{args.port} ##", flush=True)
        world.emit("message", "hello")

    @world.on("message")
    def message(data) -> None:
        global answers
        answers += 1
        print(f"got a message from world: {data!r}", flush=True)
        if answers < args.messages:
            world.emit("message", f"hello #{answers + 1}")
        else:
            ipc.disconnect("world")


ipc.connectToNet("world", args.host, args.port, connecting)
