"""node-ipc's UDP Server 1, "World", in Python.

UDP has no client: "world" and "hello" are both UDP servers, each bound to a
port of its own. World answers every 'message' by emitting back to the
sender's address and port, as node-ipc's README example does. node-ipc's
defaults apply: udp4 on 127.0.0.1 port 8000 (``--udp udp6`` binds ::1).

    python examples/udp_world.py [--port P] [--udp udp4|udp6] [--messages N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--udp", choices=["udp4", "udp6"], default="udp4")
parser.add_argument("--messages", type=int, default=0, help="stop after this many messages")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True
ipc.config.networkPort = args.port
if args.udp == "udp6":
    ipc.config.networkHost = "::1"
count = 0


def started() -> None:
    @ipc.server.on("message")
    def message(data, socket) -> None:
        global count
        print(f"got a message from {data['from']}: {data['message']!r}", flush=True)
        ipc.server.emit(
            socket,
            "message",
            {"from": ipc.config.id, "message": data["message"] + " world!"},
        )
        count += 1
        if args.messages and count >= args.messages:
            print("answered enough messages; stopping", flush=True)
            ipc.server.stop()

    print(f"serving 'world' on {args.udp} {ipc.server.path} port {ipc.server.port}", flush=True)


ipc.serveNet(args.udp, started)
ipc.server.start()
