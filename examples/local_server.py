"""node-ipc's basic server, in Python: 'world' answers 'message' events.

Every ``message`` a client sends comes back with `` world!`` appended; the
server logs when a client leaves. Run it, then ``local_client.py``; a Node
client (``ipc.connectTo('world', ...)`` with node-ipc) works the same way.

    python examples/local_server.py [--socket-root DIR] [--clients N]

With ``--clients N`` the server stops after N clients have come and gone
(the tests use that); without it, it serves until you press Ctrl-C.
"""

from __future__ import annotations

import argparse
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True  # this example prints its own lines
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

left = 0


def started() -> None:
    @ipc.server.on("message")
    def message(data, socket) -> None:
        print(f"got a message: {data!r}", flush=True)
        ipc.server.emit(socket, "message", data + " world!")

    @ipc.server.on("socket.disconnected")
    def disconnected(socket, destroyed_socket_id) -> None:
        global left
        print(f"client {destroyed_socket_id} has disconnected!", flush=True)
        left += 1
        if args.clients and left >= args.clients:
            print("served enough clients; stopping", flush=True)
            ipc.server.stop()


ipc.serve(started)
ipc.server.start()  # returns once listening; the loop thread keeps us alive
print(f"serving 'world' on {ipc.server.path}", flush=True)
