"""TLS and mutual TLS between fastipc and real node-ipc 14.0.0 / 9.2.1.

Each test pairs a fastipc end with ``node/tls_peer.mjs`` over TLS, both sides
using the same ``trustme`` certificates through node-ipc's file aliases
(``private``, ``public``, ``trustedConnections``). node-ipc 9.2.1 has TLS too
(same keys; it falls back to its bundled certificate when ``private`` is
left out, which these tests never do). Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from fastipc import IPCNotConnectedError

from ..helpers import (
    PKI,
    QUIET,
    TLSClient,
    TLSEchoServer,
    free_port,
    make_pki,
    mutual_client_tls,
    mutual_server_tls,
    server_tls,
)
from ._node import NodeProcess

pytestmark = pytest.mark.interop

VERSIONS = ["14", "9"]


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="fipc-tlsi-", dir="/tmp") as directory:
        yield make_pki(directory)


class TLSPeer(NodeProcess):
    """One ``tls_peer.mjs`` process; :meth:`close` ends it and closes its pipes."""

    label = "tls peer"

    def __init__(self, node: os.PathLike[str], spec: dict[str, Any]) -> None:
        super().__init__(node, "tls_peer.mjs", json.dumps(spec), spec=spec)

    def events(self, ev: str) -> list[dict[str, Any]]:
        return self.seen_of(ev)


@contextlib.contextmanager
def tls_peer(node: os.PathLike[str], **spec: Any) -> Iterator[TLSPeer]:
    peer = TLSPeer(node, {"host": "127.0.0.1", **spec})
    try:
        peer.wait("ready")
        yield peer
    finally:
        peer.close()


def node_server(node: os.PathLike[str], version: str, tls: dict[str, Any], **spec: Any) -> Any:
    port = free_port()
    return tls_peer(node, version=version, role="server", port=port, tls=tls, **spec), port


# ---------------------------------------------------------------- Python server, Node client


@pytest.mark.parametrize("version", VERSIONS)
def test_python_mtls_server_node_client(node, pki, version):
    with TLSEchoServer(mutual_server_tls(pki)) as (_, srv, port):
        with tls_peer(
            node, version=version, role="client", port=port, tls=mutual_client_tls(pki)
        ) as peer:
            peer.wait("connect")
            assert peer.wait("event")["data"] == "hello from node world!"
        assert srv.of("message") == [("hello from node",)]
        assert srv.of("error") == []
        assert srv.wait_for("message") == [("hello from node",)]
        ((_tls_version, peercert),) = srv.wait_for("handshake")
        assert peercert, "the Node client presented its certificate"
        srv.wait_for("socket.disconnected")
        assert srv.of("error") == []


def test_python_tls_server_node_client_server_auth(node, pki):
    with TLSEchoServer(server_tls(pki)) as (_, _srv, port):
        with tls_peer(
            node, version="14", role="client", port=port, tls={"trustedConnections": pki.ca}
        ) as peer:
            assert peer.wait("connect")["authorized"] is True
            assert peer.wait("event")["data"] == "hello from node world!"


def test_python_mtls_server_refuses_node_client_without_certificate(node, pki):
    with TLSEchoServer(mutual_server_tls(pki)) as (_, srv, port):
        with TLSClient(mutual_client_tls(pki), port) as (good_ipc, good):
            good.wait_for("connect")
            with tls_peer(
                node, version="14", role="client", port=port, tls={"trustedConnections": pki.ca}
            ) as peer:
                peer.wait("destroy")
                assert peer.events("event") == []
            good_ipc.of.world.emit("message", "still here")
            assert good.wait_for("message") == [("still here world!",)]
        assert len(srv.of("connect")) == 1
        assert srv.of("message") == [("still here",)]
        assert srv.of("error") == []


def test_node_client_refuses_untrusted_python_server(node, pki):
    tls = server_tls(pki, private=pki.rogue_server_key, public=pki.rogue_server_cert)
    with TLSEchoServer(tls) as (_, srv, port):
        with tls_peer(
            node, version="14", role="client", port=port, tls={"trustedConnections": pki.ca}
        ) as peer:
            error = peer.wait("error")
            assert "certificate" in error["message"] or error["code"] in (
                "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                "SELF_SIGNED_CERT_IN_CHAIN",
            )
            assert peer.events("connect") == []
        assert srv.of("connect") == []


# ---------------------------------------------------------------- Node server, Python client


@pytest.mark.parametrize("version", VERSIONS)
def test_node_mtls_server_python_client(node, pki, version):
    spec, port = node_server(node, version, mutual_server_tls(pki))
    with spec as peer:
        peer.wait("start")
        with TLSClient(mutual_client_tls(pki), port) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "hello from python")
            assert rec.wait_for("message") == [("hello from python world!",)]
        connected = peer.wait("connect")
        assert connected["authorized"] is True
        assert connected["peer"] == "hello.client.test" or "hello.client.test" in str(
            connected["peer"]
        )
        assert peer.wait("event")["data"] == "hello from python"


@pytest.mark.parametrize("version", VERSIONS)
def test_node_tls_server_python_client_server_auth(node, pki, version):
    spec, port = node_server(node, version, server_tls(pki))
    with spec as peer:
        peer.wait("start")
        with TLSClient({"trustedConnections": pki.ca}, port) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "hi")
            assert rec.wait_for("message") == [("hi world!",)]


def test_node_mtls_server_refuses_python_client_without_certificate(node, pki):
    spec, port = node_server(node, "14", mutual_server_tls(pki))
    with spec as peer:
        peer.wait("start")
        with TLSClient({"trustedConnections": pki.ca}, port, maxRetries=0) as (ipc, rec):
            with contextlib.suppress(IPCNotConnectedError):  # may be refused already
                ipc.of.world.emit("message", "let me in")
            rec.wait_for("destroy")
            assert rec.of("message") == []
        assert peer.poll("connect", QUIET) is None


def test_python_client_refuses_wrong_host_node_server(node, pki):
    spec, port = node_server(node, "14", server_tls(pki))
    with spec as peer:
        peer.wait("start")
        tls = {"trustedConnections": pki.ca, "servername": "elsewhere.test"}
        with TLSClient(tls, port, maxRetries=0) as (_, rec):
            rec.wait_for("destroy")
            assert rec.of("connect") == []
            (error,), *_ = rec.of("error")
            assert "elsewhere.test" in str(error) or "mismatch" in str(error)


def test_raw_buffer_over_mtls_with_node_server(node, pki):
    payload = b"\x00\x0c\xffraw over tls\x0c"
    spec, port = node_server(node, "14", mutual_server_tls(pki), rawBuffer=True)
    with spec as peer:
        peer.wait("start")
        with TLSClient(mutual_client_tls(pki), port, rawBuffer=True) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit(payload)
            rec.wait(lambda: len(rec.joined()) >= len(payload), what=f"{len(payload)} bytes")
            echoed = rec.joined()
        assert bytes.fromhex(peer.wait("data")["hex"]) == payload
        assert echoed == payload[::-1]


def test_raw_buffer_over_mtls_with_node_client(node, pki):
    payload = b"\x00\x0c\xffraw from node"
    with TLSEchoServer(mutual_server_tls(pki), rawBuffer=True) as (server_ipc, srv, port):
        server_ipc.server.on("data", lambda data, sock: server_ipc.server.emit(sock, data[::-1]))
        with tls_peer(
            node,
            version="14",
            role="client",
            port=port,
            tls=mutual_client_tls(pki),
            rawBuffer=True,
            send=payload.hex(),
        ) as peer:
            assert bytes.fromhex(peer.wait("data")["hex"]) == payload[::-1]
        assert b"".join(a[0] for a in srv.of("data")) == payload


def test_assured_python_server_and_node_client(node, pki):
    assured = {"parser": "assured", "allowedEvents": ["message"]}
    with TLSEchoServer(mutual_server_tls(pki), **assured) as (_, srv, port):
        with tls_peer(
            node, version="14", role="client", port=port, tls=mutual_client_tls(pki), config=assured
        ) as peer:
            peer.wait("connect")
            assert peer.wait("event")["data"] == "hello from node world!"
        assert srv.of("message") == [("hello from node",)]
        assert srv.of("error") == []
