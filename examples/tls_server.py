"""node-ipc's TLS server, in Python: 'world' over TLS (server authentication).

The 'message' → 'message' + `` world!`` exchange of ``tcp_server.py``, with
``ipc.config.tls`` set: the server proves who it is with its certificate and
key (node-ipc's ``public``/``private`` file aliases); clients are not asked
for one (see ``mtls_server.py`` for that). There is no bundled certificate:
make one with openssl or, for a test, with trustme (docs/tls.md).

    python examples/tls_server.py --cert server.pem --key server.key [--host H] [--port P] [--clients N]
"""

from __future__ import annotations

import argparse

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cert", required=True, help="the server's certificate (PEM file)")
parser.add_argument("--key", required=True, help="the server's private key (PEM file)")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000, help="0 picks a free port and prints it")
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True
ipc.config.tls = {
    "public": args.cert,
    "private": args.key,
}
left = 0


def started() -> None:
    @ipc.server.on("message")
    def message(data, socket) -> None:
        print(f"got a message: {data!r}", flush=True)
        ipc.server.emit(socket, "message", data + " world!")

    @ipc.server.on("socket.disconnected")
    def disconnected(socket, destroyed_socket_id) -> None:
        global left
        left += 1
        print("client has disconnected!", flush=True)
        if args.clients and left >= args.clients:
            print("served enough clients; stopping", flush=True)
            ipc.server.stop()


ipc.serveNet(args.host, args.port, started)
ipc.server.start()
port = ipc.server.port  # the port it got, when asked for 0
print(f"serving 'world' over TLS on {args.host}:{port}", flush=True)
