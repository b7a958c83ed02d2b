"""node-ipc's raw-buffer server, in Python: bytes in, bytes out, no JSON.

With ``rawBuffer`` on there is no framing: what a client writes arrives as
``bytes`` through the ``data`` event, however the stream cut it. This server
greets each client with ``hello`` (a ``str``, encoded with
``config.encoding``), prints every chunk it gets in hex, and answers each
with the byte array ``[0x05, 0x6d, 0x5c]``. A node-ipc client with
``rawBuffer: true`` works the same way.

    python examples/raw_buffer_server.py [--socket-root DIR] [--encoding utf8|hex] [--clients N]

With ``--encoding hex`` strings are written as hex digits, as in node-ipc's
README (``ipc.config.encoding='hex'``). With ``--clients N`` the server
stops after N clients have come and gone.
"""

from __future__ import annotations

import argparse
import os

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--encoding", default="utf8", choices=["utf8", "hex"], help="config.encoding")
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.rawBuffer = True
ipc.config.encoding = args.encoding
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

left = 0


def started() -> None:
    @ipc.server.on("connect")
    def connect(socket) -> None:
        # a str is encoded with config.encoding: 'hello', or its hex digits
        ipc.server.emit(socket, "hello" if args.encoding == "utf8" else b"hello".hex())

    @ipc.server.on("data")
    def data(data: bytes, socket) -> None:
        print(f"got data: {data.hex(' ')}", flush=True)
        ipc.server.emit(socket, [0x05, 0x6D, 0x5C])  # a list of ints: those bytes

    @ipc.server.on("socket.disconnected")
    def disconnected(socket, destroyed_socket_id) -> None:
        global left
        print("client has disconnected!", flush=True)
        left += 1
        if args.clients and left >= args.clients:
            ipc.server.stop()


ipc.serve(started)
ipc.server.start()
print(f"serving raw 'world' on {ipc.server.path} (encoding {args.encoding})", flush=True)
