"""node-ipc's multi-client broadcast, in Python: one server, many clients.

Clients join with ``{'id': name}`` (``identifyPeer`` names their sockets
after it). Once ``--clients`` have joined, the server ``broadcast``s a
``tick`` every ``--interval`` seconds (each broadcast is encoded once and
written to every client), then ``bye``, and stops when all have left.

    python examples/broadcast_server.py [--socket-root DIR] [--clients 3] [--ticks 3]
    python examples/broadcast_client.py --name a   # in 3 other shells
"""

from __future__ import annotations

import argparse
import os
import threading
import time

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
)
parser.add_argument("--clients", type=int, default=3, help="clients to wait for (default 3)")
parser.add_argument("--ticks", type=int, default=3, help="broadcasts to send (default 3)")
parser.add_argument("--interval", type=float, default=0.2, help="seconds between ticks")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.silent = True
ipc.config.identifyPeer = True  # socket.id = the 'id' in a client's data
if args.socket_root:
    ipc.config.socketRoot = os.path.join(args.socket_root, "")

joined: set[str] = set()
everyone_joined = threading.Event()
everyone_left = threading.Event()


def started() -> None:
    @ipc.server.on("app.join")
    def join(data, socket) -> None:
        joined.add(socket.id)
        print(f"{socket.id} joined ({len(joined)}/{args.clients})", flush=True)
        if len(joined) >= args.clients:
            everyone_joined.set()

    @ipc.server.on("socket.disconnected")
    def left(socket, destroyed_socket_id) -> None:
        print(f"{destroyed_socket_id} left", flush=True)
        if not ipc.server.sockets:
            everyone_left.set()


ipc.serve(started)
ipc.server.start()
print(f"serving 'world' on {ipc.server.path}, waiting for {args.clients} clients", flush=True)
try:
    everyone_joined.wait()
    # broadcast may be called from any thread; handlers run on the loop thread
    for n in range(1, args.ticks + 1):
        ipc.server.broadcast("tick", {"n": n, "clients": sorted(joined)})
        print(f"broadcast tick {n} to {len(ipc.server.sockets)} clients", flush=True)
        time.sleep(args.interval)
    ipc.server.broadcast("bye")
    everyone_left.wait(10)
finally:
    ipc.server.stop()
print("stopped", flush=True)
