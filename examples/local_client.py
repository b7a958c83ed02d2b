"""node-ipc's basic client, in Python: 'hello' talks to the 'world' server.

It connects by id alone (socket root + appspace + 'world'), says ``hello``
and prints the answer, then disconnects after ``--messages`` answers. The
server may be ``local_server.py`` or a node-ipc server with id 'world'.

    python examples/local_client.py [--socket-root DIR] [--messages N]
"""

from __future__ import annotations

import argparse
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--messages", type=int, default=1, help="answers to wait for (default 1)")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print("## connected to world ##", flush=True)
        world.emit("message", "hello")

    @world.on("disconnect")
    def disconnect() -> None:
        print("disconnected from world", flush=True)

    @world.on("message")
    def message(data) -> None:
        global answers
        answers += 1
        print(f"got a message from world: {data!r}", flush=True)
        if answers < args.messages:
            world.emit("message", f"hello #{answers + 1}")
        else:
            ipc.disconnect("world")  # final: the process can exit


ipc.connectTo("world", connecting)
