"""node-ipc's raw-buffer client, in Python: talks bytes to the 'world' server.

It waits for the server's ``hello``, then writes a string (encoded with
``config.encoding``) and a 6-byte buffer packed the way node-ipc's README
packs it (a UInt16BE, then a UInt32BE), printing each answer, and
disconnects. The server may be ``raw_buffer_server.py`` or a node-ipc
server with ``rawBuffer: true`` and id 'world'.

    python examples/raw_buffer_client.py [--socket-root DIR] [--encoding utf8|hex]
"""

from __future__ import annotations

import argparse
import os
import struct

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--encoding", default="utf8", choices=["utf8", "hex"], help="config.encoding")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.rawBuffer = True
ipc.config.encoding = args.encoding
ipc.config.silent = True
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print("## connected to world ##", flush=True)

    @world.on("data")
    def data(data: bytes) -> None:
        # one chunk per answer here, as each side waits for the other; a
        # real protocol must frame its own messages, raw streams may split
        global answers
        print(f"got data from world: {data!r}", flush=True)
        answers += 1
        if answers == 1:
            # a str, encoded with config.encoding
            world.emit("goodbye" if args.encoding == "utf8" else b"goodbye".hex())
        elif answers == 2:
            # explicit bytes: a big-endian short 2, then a long 16772812
            world.emit(struct.pack(">HI", 2, 16772812))
        else:
            ipc.disconnect("world")

    @world.on("disconnect")
    def disconnect() -> None:
        print("disconnected from world", flush=True)


ipc.connectTo("world", connecting)
