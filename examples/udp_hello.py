"""node-ipc's UDP Server 2, "Hello", in Python.

Hello binds a port of its own (8001: world already has node-ipc's default
8000), emits 'message' to world's address and port once it has started,
and prints world's answer. UDP may lose a datagram: after ``--timeout``
seconds without an answer it gives up and exits with status 1.

    python examples/udp_hello.py [--port P] [--world-port W] [--udp udp4|udp6]
"""

from __future__ import annotations

import argparse
import sys
import threading

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--port", type=int, default=8001)
parser.add_argument("--world-port", type=int, default=8000)
parser.add_argument("--udp", choices=["udp4", "udp6"], default="udp4")
parser.add_argument("--timeout", type=float, default=5.0)
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.silent = True
ipc.config.networkPort = args.world_port
if args.udp == "udp6":
    ipc.config.networkHost = "::1"
answered = threading.Event()


def started() -> None:
    @ipc.server.on("message")
    def message(data, socket) -> None:
        print(f"got a message from {data['from']}: {data['message']!r}", flush=True)
        answered.set()

    ipc.server.emit(
        {
            "address": ipc.config.networkHost,  # any host name works
            "port": ipc.config.networkPort,
        },
        "message",
        {"from": ipc.config.id, "message": "Hello"},
    )


ipc.serveNet(args.port, args.udp, started)
ipc.server.start()
ok = answered.wait(args.timeout)
ipc.server.stop()
if not ok:
    print(f"no answer from world within {args.timeout} s", file=sys.stderr, flush=True)
sys.exit(0 if ok else 1)
