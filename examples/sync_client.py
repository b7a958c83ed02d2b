"""node-ipc's sync client, in Python: one request in flight at a time.

With ``sync=True`` every ``emit`` is queued, and the queue lets the next one
go only when a message from the server arrives. Here all ``--messages``
requests are emitted at once, as soon as the connection is up; they still
reach the server one by one, each after the previous answer.

    python examples/sync_client.py [--socket-root DIR] [--messages 3]
"""

from __future__ import annotations

import argparse
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--messages", type=int, default=3, help="requests to send (default 3)")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.sync = True
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print("## connected to world ##", flush=True)
        for n in range(1, args.messages + 1):
            world.emit("app.message", {"id": ipc.config.id, "message": f"hello #{n}"})
        print(f"queued {args.messages} messages", flush=True)

    @world.on("app.message")
    def message(data) -> None:
        global answers
        answers += 1
        print(f"got a message from {data['id']}: {data['message']!r}", flush=True)
        if answers == args.messages:
            ipc.disconnect("world")


ipc.connectTo("world", connecting)
