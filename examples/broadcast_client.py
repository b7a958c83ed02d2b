"""A client of ``broadcast_server.py``: joins, prints every tick, leaves on ``bye``.

python examples/broadcast_client.py --name NAME [--socket-root DIR]
"""

from __future__ import annotations

import argparse
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--name", required=True, help="this client's id")
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
args = parser.parse_args()

ipc.config.id = args.name
ipc.config.retry = 100
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        world.emit("app.join", {"id": ipc.config.id})

    @world.on("tick")
    def tick(data) -> None:
        print(
            f"{ipc.config.id} got tick {data['n']} (clients: {', '.join(data['clients'])})",
            flush=True,
        )

    @world.on("bye")
    def bye(data) -> None:
        print(f"{ipc.config.id} got bye", flush=True)
        ipc.disconnect("world")


ipc.connectTo("world", connecting)
