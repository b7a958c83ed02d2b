"""TLS and mutual TLS over real sockets: ``serveNet``/``connectToNet`` with
``config.tls``, certificates made by ``trustme`` in a temporary directory.

Covers server authentication, mutual TLS, node-ipc's key aliases, refusals
(untrusted or wrong-host server certificate, a client without a valid
certificate), misconfiguration raised before anything listens or connects,
the assured profile's demand for mutual TLS, and raw mode over TLS. Every
test runs in every run mode (``mode``: asyncio, uvloop, the background
thread; both codecs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fastipc import (
    IPC,
    AssuredTLSError,
    AssuredTransportError,
    IPCNotConnectedError,
    TLSConfigurationError,
)
from fastipc._loop import background_loop

from .helpers import (
    PKI,
    QUIET,
    Recorder,
    TLSClient,
    TLSEchoServer,
    free_port,
    make_ipc,
    make_pki,
    mutual_client_tls,
    mutual_server_tls,
    off_loop,
    server_tls,
)

pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="fipc-tls-", dir="/tmp") as directory:
        yield make_pki(directory)


# ---------------------------------------------------------------- it works


def test_server_authenticated_tls(mode, pki):
    async def body() -> None:
        async with TLSEchoServer(server_tls(pki)) as (_, srv, port):
            async with TLSClient({"trustedConnections": pki.ca}, port) as (ipc, rec):
                await rec.arrived("connect")
                ipc.of.world.emit("message", "hello")
                assert await rec.arrived("message") == [("hello world!",)]
            ((version, peercert),) = await srv.arrived("handshake")
            assert version in ("TLSv1.2", "TLSv1.3")
            assert not peercert  # server authentication only: no client certificate asked for
            await srv.arrived("socket.disconnected")
        assert srv.of("error") == []

    mode.run(body)


def test_mutual_tls_with_pem_contents(mode, pki):
    """node-ipc's key/cert/ca as PEM contents (str and bytes); the server sees
    the client's certificate at 'connect', so the handshake was over by then."""
    server = {
        "key": pki.text("server_key"),
        "cert": pki.text("server_cert").encode(),
        "ca": [pki.text("ca")],
    }  # ca without requestCert: node-ipc turns requestCert on
    tls = {
        "key": pki.text("client_key").encode(),
        "cert": pki.text("client_cert"),
        "ca": pki.text("ca"),
    }

    async def body() -> None:
        async with TLSEchoServer(server) as (_, srv, port):
            async with TLSClient(tls, port, host="localhost") as (ipc, rec):
                await rec.arrived("connect")
                for n in range(3):
                    ipc.of.world.emit("message", f"hello #{n}")
                assert await rec.arrived("message", 3) == [
                    (f"hello #{n} world!",) for n in range(3)
                ]
            ((_version, peercert),) = await srv.arrived("handshake")
            assert ("commonName", "hello.client.test") in [
                rdn[0] for rdn in peercert["subject"]
            ] or any(
                "hello.client.test" in value for _, value in peercert.get("subjectAltName", ())
            )

    mode.run(body)


def test_mutual_tls_encrypted_key_and_ipv6(mode, pki):
    tls = mutual_client_tls(pki, private=pki.encrypted_client_key, passphrase="sesame")

    async def body() -> None:
        async with TLSEchoServer(mutual_server_tls(pki), host="::1") as (_, _srv, port):
            async with TLSClient(tls, port, host="::1") as (ipc, rec):
                await rec.arrived("connect")
                ipc.of.world.emit("message", "six")
                assert await rec.arrived("message") == [("six world!",)]

    mode.run(body)


def test_raw_buffer_over_tls(mode, pki):
    payload = b"\x00\xff\x0c{not json}\x0c\xc3\x28 raw"

    async def body() -> None:
        async with TLSEchoServer(mutual_server_tls(pki), rawBuffer=True) as (server_ipc, srv, port):
            srv_server = server_ipc.server
            srv_server.on("data", lambda data, sock: srv_server.emit(sock, data[::-1]))
            async with TLSClient(mutual_client_tls(pki), port, rawBuffer=True) as (ipc, rec):
                await rec.arrived("connect")
                ipc.of.world.emit(payload)
                ipc.of.world.emit("68656c6c6f")  # str: encoded with config.encoding (utf8 here)
                await rec.until(lambda: len(rec.joined()) >= len(payload) + 10)
            received = srv.joined()
            assert received == payload + b"68656c6c6f"
            assert all(isinstance(args[0], bytes) for args in rec.of("data"))
            # each chunk was echoed reversed; chunking may differ, content must not
            assert sorted(rec.joined()) == sorted(received)

    mode.run(body)


# ---------------------------------------------------------------- refusals


async def refused(rec: Recorder) -> Exception:
    """The client's first error, after which it never connected and was destroyed."""
    await rec.arrived("destroy")
    assert rec.of("connect") == []
    (error,), *_ = rec.of("error")
    return error  # type: ignore[no-any-return]


def test_untrusted_server_certificate_is_refused(mode, pki):
    async def body() -> None:
        async with TLSEchoServer(server_tls(pki)) as (_, srv, port):
            async with TLSClient({"trustedConnections": pki.rogue_ca}, port, maxRetries=0) as (
                _,
                rec,
            ):
                error = await refused(rec)
            assert isinstance(error, ssl.SSLCertVerificationError)
            assert "certificate verify failed" in str(error)
            assert srv.of("connect") == []

    mode.run(body)


def test_wrong_host_server_certificate_is_refused(mode, pki):
    tls = {"trustedConnections": pki.ca, "servername": "not-the-server.test"}

    async def body() -> None:
        async with TLSEchoServer(server_tls(pki)) as (_, srv, port):
            async with TLSClient(tls, port, maxRetries=0) as (_, rec):
                error = await refused(rec)
            assert isinstance(error, ssl.SSLCertVerificationError)
            assert "not-the-server.test" in str(error) or "mismatch" in str(error)
            assert srv.of("connect") == []

    mode.run(body)


def test_reject_unauthorized_false_skips_verification(mode, pki):
    """node-ipc's development setting: any server certificate is accepted."""
    tls = {"rejectUnauthorized": False, "servername": "not-the-server.test"}
    rogue = server_tls(pki, private=pki.rogue_server_key, public=pki.rogue_server_cert)

    async def body() -> None:
        async with TLSEchoServer(rogue) as (_, _srv, port):
            async with TLSClient(tls, port) as (ipc, rec):
                await rec.arrived("connect")
                ipc.of.world.emit("message", "anyone")
                assert await rec.arrived("message") == [("anyone world!",)]

    mode.run(body)


@pytest.mark.parametrize("who", ["no-certificate", "rogue-certificate"])
def test_mutual_tls_server_refuses_a_client_and_serves_the_others(mode, pki, who, caplog):
    """A client without a valid certificate never reaches 'connect' on the
    server; the failed handshake is logged (WARNING on the 'fastipc' logger)
    and no 'error' event is emitted; a good client carries on throughout."""
    bad_tls: dict[str, Any] = {"trustedConnections": pki.ca}
    if who == "rogue-certificate":
        bad_tls.update(private=pki.rogue_client_key, public=pki.rogue_client_cert)
    caplog.set_level(logging.WARNING, logger="fastipc")

    async def body() -> None:
        async with TLSEchoServer(mutual_server_tls(pki)) as (_, srv, port):
            async with TLSClient(mutual_client_tls(pki), port) as (good_ipc, good):
                await good.arrived("connect")
                good_ipc.of.world.emit("message", "before")
                await good.arrived("message", 1)
                async with TLSClient(bad_tls, port, id="world", maxRetries=0) as (bad_ipc, bad):
                    # refused so fast, sometimes, that it is already destroyed
                    with contextlib.suppress(IPCNotConnectedError):
                        bad_ipc.of.world.emit("message", "let me in")
                    await bad.arrived("destroy")
                # Under TLS 1.3 a client finishes its side of the handshake before
                # the server checks its certificate, so it may see 'connect' then
                # a close; it never gets an answer, and the server never connects it.
                assert bad.of("message") == []
                good_ipc.of.world.emit("message", "after")
                assert await good.arrived("message", 2) == [("before world!",), ("after world!",)]
                assert len(srv.of("connect")) == 1
                assert srv.of("message") == [("before",), ("after",)]
            assert srv.of("error") == []

    mode.run(body)
    failures = [r for r in caplog.records if r.name == "fastipc" and "TLS" in r.getMessage()]
    assert failures, caplog.records
    assert "handshake failed" in failures[0].getMessage()


# ---------------------------------------------------------------- misconfiguration


def assert_nothing_listens(port: int) -> None:
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def start_server(tls: Any, port: int, **config: Any) -> None:
    """``start()`` a TLS server on ``port``, which must raise before it listens."""
    ipc = make_ipc(tls=tls, **config)
    server = ipc.serveNet("127.0.0.1", port)
    started = Recorder().watch(server, "start")
    try:
        server.start()
    finally:
        assert started.of("start") == []
        assert not server.listening
        assert background_loop.users == 0
        server.stop()


def bad_server_configs(pki: PKI) -> list[tuple[str, dict[str, Any], list[str]]]:
    missing = os.path.join(pki.dir, "missing.key")
    garbage = os.path.join(pki.dir, "garbage.pem")
    with open(garbage, "w") as handle:
        handle.write("not a PEM file\n")
    return [
        (
            "missing key file",
            server_tls(pki, private=missing),
            ["tls.private", missing, "No such file"],
        ),
        ("missing cert file", server_tls(pki, public=missing), ["tls.public", missing]),
        (
            "key not matching cert",
            server_tls(pki, private=pki.client_key),
            [pki.client_key, pki.server_cert, "does not match"],
        ),
        (
            "garbage cert",
            server_tls(pki, public=garbage),
            ["tls.public", garbage, "no PEM certificate"],
        ),
        (
            "garbage key",
            server_tls(pki, private=garbage),
            ["tls.private", garbage, "no PEM private key"],
        ),
        (
            "missing CA file",
            mutual_server_tls(pki, trustedConnections=[pki.ca, missing]),
            ["trustedConnections", missing],
        ),
        ("no key at all", {"public": pki.server_cert}, ["require an explicit key and certificate"]),
        (
            "encrypted key, no passphrase",
            server_tls(pki, private=pki.encrypted_client_key, public=pki.client_cert),
            [pki.encrypted_client_key, "passphrase"],
        ),
        (
            "key given as a missing path",
            {"key": missing, "cert": pki.server_cert},
            ["tls.key", missing],
        ),
        ("bad minVersion", server_tls(pki, minVersion="TLSv9"), ["tls.minVersion", "TLSv9"]),
    ]


def test_server_misconfiguration_raises_before_listening(mode, pki):
    async def body() -> None:
        for what, tls, words in bad_server_configs(pki):
            port = free_port()
            with pytest.raises(TLSConfigurationError) as info:
                start_server(tls, port)
            assert info.value.code == "ERR_IPC_TLS_CONFIGURATION", what
            for word in words:
                assert word in str(info.value), (what, str(info.value))
            assert_nothing_listens(port)

    mode.run(body)


async def assert_no_connection_attempt(call: Callable[[int], Any]) -> None:
    """``call(port)`` raises without ever connecting to a listener on ``port``."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(QUIET)
        call(listener.getsockname()[1])

        def nobody_connects() -> None:
            with pytest.raises(socket.timeout):
                conn, _ = listener.accept()
                conn.close()

        await off_loop(nobody_connects)
    assert background_loop.users == 0


def test_client_misconfiguration_raises_before_connecting(mode, pki):
    missing = os.path.join(pki.dir, "nowhere", "ca.pem")
    cases = [
        ({"trustedConnections": missing}, ["trustedConnections", missing]),
        (
            {"private": pki.client_key, "trustedConnections": pki.ca},
            ["needs both a key and a certificate"],
        ),
        (
            mutual_client_tls(pki, private=pki.server_key),
            [pki.server_key, pki.client_cert, "does not match"],
        ),
        ({"ca": b"garbage"}, ["tls.ca", "no PEM certificate"]),
        ({"checkServerIdentity": lambda host, cert: None}, ["checkServerIdentity"]),
    ]

    async def body() -> None:
        for tls, words in cases:
            ipc = make_ipc(tls=tls)

            def connect(port: int, ipc: IPC = ipc, words: list[str] = words) -> None:
                with pytest.raises(TLSConfigurationError) as info:
                    ipc.connectToNet("world", port)
                for word in words:
                    assert word in str(info.value), str(info.value)
                assert ipc.of.world.destroyed

            await assert_no_connection_attempt(connect)

    mode.run(body)


# ---------------------------------------------------------------- assured


ASSURED = {"parser": "assured", "allowedEvents": ["message"]}


def test_assured_server_requires_mutual_tls_before_listening(mode, pki):
    async def body() -> None:
        port = free_port()
        with pytest.raises(AssuredTransportError) as info:
            start_server(False, port, **ASSURED)
        assert info.value.code == "ERR_IPC_ASSURED_TRANSPORT"
        assert_nothing_listens(port)
        for tls in (
            server_tls(pki),  # server authentication only
            server_tls(pki, trustedConnections=pki.ca, rejectUnauthorized=False),
            server_tls(pki, trustedConnections=pki.ca, requestCert=False),
            server_tls(pki, requestCert=True),  # no client CA
        ):
            with pytest.raises(AssuredTLSError) as info:
                start_server(tls, port, **ASSURED)
            assert info.value.code == "ERR_IPC_ASSURED_TLS"
            assert_nothing_listens(port)

    mode.run(body)


def test_assured_client_requires_mutual_tls_before_connecting(mode, pki):
    cases: list[tuple[Any, type[Exception], str]] = [
        (False, AssuredTransportError, "ERR_IPC_ASSURED_TRANSPORT"),
        ({"trustedConnections": pki.ca}, AssuredTLSError, "ERR_IPC_ASSURED_TLS"),
        (mutual_client_tls(pki, rejectUnauthorized=False), AssuredTLSError, "ERR_IPC_ASSURED_TLS"),
        (
            {"private": pki.client_key, "public": pki.client_cert},
            AssuredTLSError,
            "ERR_IPC_ASSURED_TLS",
        ),
    ]

    async def body() -> None:
        for tls, error, code in cases:
            ipc = make_ipc(tls=tls, **ASSURED)

            def connect(
                port: int, ipc: IPC = ipc, error: type[Exception] = error, code: str = code
            ) -> None:
                with pytest.raises(error) as info:
                    ipc.connectToNet("world", port)
                assert info.value.code == code  # type: ignore[attr-defined]

            await assert_no_connection_attempt(connect)

    mode.run(body)


def test_assured_over_mutual_tls_works(mode, pki):
    async def body() -> None:
        async with TLSEchoServer(mutual_server_tls(pki), **ASSURED) as (_, srv, port):
            async with TLSClient(mutual_client_tls(pki), port, **ASSURED) as (ipc, rec):
                await rec.arrived("connect")
                ipc.of.world.emit("message", "assured")
                assert await rec.arrived("message") == [("assured world!",)]
            ((_version, peercert),) = await srv.arrived("handshake")
            assert peercert

    mode.run(body)
