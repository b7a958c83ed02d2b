"""node-ipc's "most secure" TLS server, in Python: 'world' over mutual TLS.

Both sides prove who they are. The server presents its certificate and key
and requires each client to present a certificate issued by ``--ca``
(node-ipc's ``requestCert: true, rejectUnauthorized: true,
trustedConnections``); a client without one never reaches ``connect``, and
the server carries on serving the others (the refusal is logged as a
warning on the ``fastipc`` logger).

    python examples/mtls_server.py --cert server.pem --key server.key --ca ca.pem [--host H] [--port P] [--clients N]
"""

from __future__ import annotations

import argparse
import logging

from fastipc import ipc

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--cert", required=True, help="the server's certificate (PEM file)")
parser.add_argument("--key", required=True, help="the server's private key (PEM file)")
parser.add_argument("--ca", required=True, help="the CA that issues client certificates (PEM file)")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000, help="0 picks a free port and prints it")
parser.add_argument("--clients", type=int, default=0, help="stop after this many clients left")
args = parser.parse_args()

logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # refused clients, on stderr

ipc.config.id = "world"
ipc.config.retry = 1500
ipc.config.silent = True
ipc.config.tls = {
    "public": args.cert,
    "private": args.key,
    "requestCert": True,
    "rejectUnauthorized": True,
    "trustedConnections": [args.ca],
}
left = 0


def started() -> None:
    @ipc.server.on("connect")
    def connect(socket) -> None:
        # Fired once the handshake is over: the client's certificate checked out.
        print(f"client {socket.remoteAddress} connected with a trusted certificate", flush=True)

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
print(f"serving 'world' over mutual TLS on {args.host}:{port}", flush=True)
