"""node-ipc's TLS client, in Python: 'hello' talks to 'world' over TLS.

The client checks the server: its certificate must chain to the CA given
with ``--ca`` (node-ipc's ``trustedConnections``) and name the host
connected to (or ``--servername``); ``rejectUnauthorized`` is on, as in
node-ipc. The server may be ``tls_server.py`` or a node-ipc TLS server.

    python examples/tls_client.py --ca ca.pem [--host H] [--port P] [--servername NAME] [--messages N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--ca", required=True, help="the CA that issued the server's certificate (PEM file)"
)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument(
    "--servername", help="the name the server's certificate must carry (default: --host)"
)
parser.add_argument("--messages", type=int, default=1, help="answers to wait for (default 1)")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.maxRetries = 0  # an example: report a refused server once, then end
ipc.config.silent = True
ipc.config.tls = {
    "trustedConnections": [args.ca],
    "rejectUnauthorized": True,
}
if args.servername:
    ipc.config.tls = {**ipc.config.tls, "servername": args.servername}
answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print(f"## connected to world on {args.host}:{args.port} over TLS ##", flush=True)
        world.emit("message", "hello")

    @world.on("message")
    def message(data) -> None:
        global answers
        answers += 1
        print(f"got a message from world: {data!r}", flush=True)
        if answers < args.messages:
            world.emit("message", f"hello #{answers + 1}")
        else:
            ipc.disconnect("world")

    @world.on("error")
    def error(exc) -> None:
        print(f"error: {exc}", flush=True)


ipc.connectToNet("world", args.host, args.port, connecting)
