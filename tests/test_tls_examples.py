"""The TLS examples (server authentication and mutual TLS) run as real
processes, with certificates made by trustme, and say what they should."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest

from .helpers import PKI, example, make_pki

pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="fipc-tlsx-", dir="/tmp") as directory:
        yield make_pki(directory)


def test_tls_server_and_client(pki):
    server_args = (
        "--cert",
        pki.server_cert,
        "--key",
        pki.server_key,
        "--port",
        "0",
        "--clients",
        "1",
    )
    with example("tls_server.py", *server_args) as server:
        port = server.expect(r"serving 'world' over TLS on 127\.0\.0\.1:(\d+)$").group(1)
        with example("tls_client.py", "--ca", pki.ca, "--port", port, "--messages", "2") as client:
            assert client.wait() == 0, client.report()
        assert client.out == [
            f"## connected to world on 127.0.0.1:{port} over TLS ##",
            "got a message from world: 'hello world!'",
            "got a message from world: 'hello #2 world!'",
        ]
        assert server.wait() == 0, server.report()
    assert server.out[1:] == [
        "got a message: 'hello'",
        "got a message: 'hello #2'",
        "client has disconnected!",
        "served enough clients; stopping",
    ]


def test_tls_client_refuses_an_untrusted_server(pki):
    server_args = ("--cert", pki.rogue_server_cert, "--key", pki.rogue_server_key, "--port", "0")
    with example("tls_server.py", *server_args) as server:
        port = server.expect(r"over TLS on 127\.0\.0\.1:(\d+)$").group(1)
        with example("tls_client.py", "--ca", pki.ca, "--port", port) as client:
            assert client.wait() == 0, client.report()
        assert len(client.out) == 1, client.report()
        assert client.out[0].startswith("error: [SSL: CERTIFICATE_VERIFY_FAILED]"), client.report()
        # and by the wrong name, with the right CA
    with example(
        "tls_server.py", "--cert", pki.server_cert, "--key", pki.server_key, "--port", "0"
    ) as server:
        port = server.expect(r"over TLS on 127\.0\.0\.1:(\d+)$").group(1)
        with example(
            "tls_client.py", "--ca", pki.ca, "--port", port, "--servername", "elsewhere.test"
        ) as client:
            assert client.wait() == 0, client.report()
        assert client.out[0].startswith("error: [SSL: CERTIFICATE_VERIFY_FAILED]"), client.report()
        assert "elsewhere.test" in client.out[0]


def test_mtls_server_and_clients(pki):
    server_args = (
        "--cert",
        pki.server_cert,
        "--key",
        pki.server_key,
        "--ca",
        pki.ca,
        "--port",
        "0",
        "--clients",
        "1",
    )
    with example("mtls_server.py", *server_args) as server:
        port = server.expect(r"serving 'world' over mutual TLS on 127\.0\.0\.1:(\d+)$").group(1)
        # a client without a certificate is refused; the server carries on
        with example("tls_client.py", "--ca", pki.ca, "--port", port) as stranger:
            assert stranger.wait() == 0, stranger.report()
        assert not any("got a message" in line for line in stranger.out), stranger.report()
        server.expect(
            r"WARNING fastipc: refused a TLS client: handshake failed: .*CERTIFICATE", stream="err"
        )
        client_args = (
            "--cert",
            pki.client_cert,
            "--key",
            pki.client_key,
            "--ca",
            pki.ca,
            "--port",
            port,
        )
        with example("mtls_client.py", *client_args, "--messages", "2") as client:
            assert client.wait() == 0, client.report()
        assert client.out == [
            f"## connected to world on 127.0.0.1:{port} over mutual TLS ##",
            "got a message from world: 'hello world!'",
            "got a message from world: 'hello #2 world!'",
        ]
        assert server.wait() == 0, server.report()
    assert server.out[1:] == [
        "client 127.0.0.1 connected with a trusted certificate",
        "got a message: 'hello'",
        "got a message: 'hello #2'",
        "client has disconnected!",
        "served enough clients; stopping",
    ]
