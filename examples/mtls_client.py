"""node-ipc's "most secure" TLS client, in Python: 'hello' over mutual TLS.

The client presents its own certificate and key (node-ipc's ``public`` and
``private``) and checks the server's against ``--ca``
(``trustedConnections``, ``rejectUnauthorized: true``). The server may be
``mtls_server.py`` or a node-ipc server with ``requestCert: true``.

    python examples/mtls_client.py --cert client.pem --key client.key --ca ca.pem [--host H] [--port P] [--messages N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cert", required=True, help="this client's certificate (PEM file)")
parser.add_argument("--key", required=True, help="this client's private key (PEM file)")
parser.add_argument(
    "--ca", required=True, help="the CA that issued the server's certificate (PEM file)"
)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--messages", type=int, default=1, help="answers to wait for (default 1)")
args = parser.parse_args()

ipc.config.id = "hello"
ipc.config.retry = 1500
ipc.config.maxRetries = 0  # an example: report a refusal once, then end
ipc.config.silent = True
ipc.config.tls = {
    "private": args.key,
    "public": args.cert,
    "rejectUnauthorized": True,
    "trustedConnections": [args.ca],
}
answers = 0


def connecting() -> None:
    world = ipc.of.world

    @world.on("connect")
    def connect() -> None:
        print(f"## connected to world on {args.host}:{args.port} over mutual TLS ##", flush=True)
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
