"""node-ipc's TCP server, in Python: 'world' over TCP instead of a local socket.

The same 'message' → 'message' + `` world!`` exchange as ``local_server.py``,
on ``ipc.serveNet(host, port)``. node-ipc's defaults apply: host
``127.0.0.1``, port 8000. ``--port 0`` picks a free port and prints it.

    python examples/tcp_server.py [--host H] [--port P] [--clients N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True
left = 0


def started() -> None:
    @ipc.server.on("message")
    def message(data, socket) -> None:
        print(f"got a message from {socket.remoteAddress}: {data!r}", flush=True)
        ipc.server.emit(socket, "message", data + " world!")

    @ipc.server.on("socket.disconnected")
    def disconnected(socket, destroyed_socket_id) -> None:
        global left
        left += 1
        print(f"client {socket.remoteAddress}:{socket.remotePort} has disconnected!", flush=True)
        if args.clients and left >= args.clients:
            print("served enough clients; stopping", flush=True)
            ipc.server.stop()


ipc.serveNet(args.host, args.port, started)
ipc.server.start()
# server.port is the port it listens on (the one it got, when asked for 0)
port = ipc.server.port
print(f"serving 'world' on {args.host}:{port}", flush=True)
