"""A server for sync clients: it answers each request after a pause.

A client with ``sync=True`` sends its next request only once the server has
answered the previous one (any message received releases the next). This
server prints how many requests are waiting for an answer, which stays at
one for a sync client however fast it emits.

    python examples/sync_server.py [--socket-root DIR] [--delay 0.05] [--clients N]
"""

from __future__ import annotations

import argparse
import asyncio
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--delay", type=float, default=0.05, help="seconds before each answer")
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

waiting = 0
left = 0


def started() -> None:
    @ipc.server.on("app.message")
    def message(data, socket) -> None:
        global waiting
        waiting += 1
        print(
            f"got {data['message']!r} from {data['id']} (waiting for an answer: {waiting})",
            flush=True,
        )

        def answer() -> None:
            global waiting
            waiting -= 1
            ipc.server.emit(
                socket, "app.message", {"id": ipc.config.id, "message": data["message"] + " world!"}
            )

        # handlers run on fastipc's loop: answer later without blocking it
        asyncio.get_running_loop().call_later(args.delay, answer)

    @ipc.server.on("socket.disconnected")
    def disconnected(socket, destroyed_socket_id) -> None:
        global left
        print("client has disconnected!", flush=True)
        left += 1
        if args.clients and left >= args.clients:
            ipc.server.stop()


ipc.serve(started)
ipc.server.start()
print(f"serving 'world' on {ipc.server.path}", flush=True)
