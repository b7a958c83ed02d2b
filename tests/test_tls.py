"""TLS and mutual TLS over real sockets: ``serveNet``/``connectToNet`` with
``config.tls``, certificates made by ``trustme`` in a temporary directory.

Covers server authentication, mutual TLS, node-ipc's key aliases, refusals
(untrusted or wrong-host server certificate, a client without a valid
certificate), misconfiguration raised before anything listens or connects,
the assured profile's demand for mutual TLS, and raw mode over TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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

trustme = pytest.importorskip("trustme")

TIMEOUT = 10.0


# ---------------------------------------------------------------- certificates


@dataclass(frozen=True)
class PKI:
    """PEM files of one test CA and what it issued, plus a rogue CA's."""

    dir: str
    ca: str  # the CA certificate both sides trust
    server_key: str  # server certificate for localhost, 127.0.0.1, ::1
    server_cert: str
    client_key: str  # a client certificate from the same CA
    client_cert: str
    rogue_ca: str  # another CA, trusted by no one
    rogue_server_key: str
    rogue_server_cert: str
    rogue_client_key: str
    rogue_client_cert: str
    encrypted_client_key: str  # client_key under the passphrase "sesame"

    def text(self, name: str) -> str:
        with open(getattr(self, name), encoding="ascii") as handle:
            return handle.read()


def make_pki(directory: str) -> PKI:
    """Write a CA, server and client certificates (and a rogue set) as PEM files."""
    from cryptography.hazmat.primitives import serialization

    def write(name: str, data: bytes) -> str:
        path = os.path.join(directory, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    ca, rogue = trustme.CA(), trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    client = ca.issue_cert("hello.client.test")
    rogue_server = rogue.issue_cert("localhost", "127.0.0.1", "::1")
    rogue_client = rogue.issue_cert("rogue.client.test")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"sesame"),
    )
    return PKI(
        dir=directory,
        ca=write("ca.pem", ca.cert_pem.bytes()),
        server_key=write("server.key", server.private_key_pem.bytes()),
        server_cert=write("server.pem", b"".join(p.bytes() for p in server.cert_chain_pems)),
        client_key=write("client.key", client.private_key_pem.bytes()),
        client_cert=write("client.pem", b"".join(p.bytes() for p in client.cert_chain_pems)),
        rogue_ca=write("rogue-ca.pem", rogue.cert_pem.bytes()),
        rogue_server_key=write("rogue-server.key", rogue_server.private_key_pem.bytes()),
        rogue_server_cert=write("rogue-server.pem", rogue_server.cert_chain_pems[0].bytes()),
        rogue_client_key=write("rogue-client.key", rogue_client.private_key_pem.bytes()),
        rogue_client_cert=write("rogue-client.pem", rogue_client.cert_chain_pems[0].bytes()),
        encrypted_client_key=write("client-encrypted.key", encrypted),
    )


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    with tempfile.TemporaryDirectory(prefix="fipc-tls-", dir="/tmp") as directory:
        yield make_pki(directory)


def server_tls(pki: PKI, **extra: Any) -> dict[str, Any]:
    """Server authentication: node-ipc's file aliases."""
    return {"private": pki.server_key, "public": pki.server_cert, **extra}


def mutual_server_tls(pki: PKI, **extra: Any) -> dict[str, Any]:
    return {
        **server_tls(pki),
        "requestCert": True,
        "rejectUnauthorized": True,
        "trustedConnections": [pki.ca],
        **extra,
    }


def mutual_client_tls(pki: PKI, **extra: Any) -> dict[str, Any]:
    return {
        "private": pki.client_key,
        "public": pki.client_cert,
        "trustedConnections": pki.ca,
        "rejectUnauthorized": True,
        **extra,
    }


# ---------------------------------------------------------------- helpers


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def make_ipc(**config: Any) -> IPC:
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.retry = 50
    for key, value in config.items():
        ipc.config[key] = value
    return ipc


class Rec:
    """(event, args) recorded from handlers on the loop thread; bounded waits."""

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple[Any, ...]]] = []
        self.cond = threading.Condition()

    def watch(self, emitter: Any, *names: str) -> Rec:
        for name in names:
            emitter.on(name, self.handler(name))
        return self

    def handler(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            with self.cond:
                self.items.append((name, args))
                self.cond.notify_all()

        return record

    def of(self, name: str) -> list[tuple[Any, ...]]:
        with self.cond:
            return [a for n, a in self.items if n == name]

    def names(self) -> list[str]:
        with self.cond:
            return [n for n, _ in self.items]

    def wait(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out; events so far: {self.names()}")

    def wait_for(
        self, name: str, count: int = 1, timeout: float = TIMEOUT
    ) -> list[tuple[Any, ...]]:
        self.wait(lambda: len([n for n, _ in self.items if n == name]) >= count, timeout)
        return self.of(name)

    async def until(
        self, name: str, count: int = 1, timeout: float = TIMEOUT
    ) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + timeout
        while len(self.of(name)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {name!r}; events so far: {self.names()}"
                )
            await asyncio.sleep(0.005)
        return self.of(name)


@contextlib.contextmanager
def echo_server(tls: Any, host: str = "127.0.0.1", **config: Any) -> Iterator[tuple[IPC, Rec, int]]:
    """A started TLS server answering 'message' with data + ' world!'."""
    ipc = make_ipc(tls=tls, **config)
    rec = Rec()
    server = ipc.serveNet(host, 0)

    def connected(sock: Any) -> None:
        # Recorded at 'connect': the handshake must be complete by now.
        transport = sock._conn.transport
        ssl_object = transport.get_extra_info("ssl_object")
        rec.handler("handshake")(
            ssl_object.version() if ssl_object else None, transport.get_extra_info("peercert")
        )

    server.on("connect", connected)
    rec.watch(server, "connect", "error", "socket.disconnected", "data")

    @server.on("message")
    def message(data: Any, sock: Any) -> None:
        rec.handler("message")(data)
        server.emit(sock, "message", f"{data} world!")

    server.start()
    try:
        yield ipc, rec, server.port
    finally:
        server.stop()


@contextlib.contextmanager
def client(
    tls: Any, port: int, host: str = "127.0.0.1", id: str = "world", **config: Any
) -> Iterator[tuple[IPC, Rec]]:
    """A TLS client connecting to ``host:port`` as ``ipc.of[id]``; disconnected on exit."""
    ipc = make_ipc(tls=tls, **config)
    rec = Rec()

    def registered() -> None:
        rec.watch(ipc.of[id], "connect", "disconnect", "destroy", "error", "message", "data")

    ipc.connectToNet(id, host, port, registered)
    made = ipc.of[id]
    try:
        yield ipc, rec
    finally:
        ipc.disconnect(id)
        # wait until the loop thread is let go (the conftest fixture checks it)
        asyncio.run(asyncio.wait_for(made.wait_closed(), TIMEOUT))


# ---------------------------------------------------------------- it works


def test_server_authenticated_tls(pki):
    with echo_server(server_tls(pki)) as (_, srv, port):
        with client({"trustedConnections": pki.ca}, port) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "hello")
            assert rec.wait_for("message") == [("hello world!",)]
        ((version, peercert),) = srv.wait_for("handshake")
        assert version in ("TLSv1.2", "TLSv1.3")
        assert not peercert  # server authentication only: no client certificate asked for
        srv.wait_for("socket.disconnected")
    assert srv.of("error") == []


def test_mutual_tls_with_pem_contents(pki):
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
    with echo_server(server) as (_, srv, port):
        with client(tls, port, host="localhost") as (ipc, rec):
            rec.wait_for("connect")
            for n in range(3):
                ipc.of.world.emit("message", f"hello #{n}")
            assert rec.wait_for("message", 3) == [(f"hello #{n} world!",) for n in range(3)]
        ((_version, peercert),) = srv.wait_for("handshake")
        assert ("commonName", "hello.client.test") in [
            rdn[0] for rdn in peercert["subject"]
        ] or any("hello.client.test" in value for _, value in peercert.get("subjectAltName", ()))


def test_mutual_tls_encrypted_key_and_ipv6(pki):
    tls = mutual_client_tls(pki, private=pki.encrypted_client_key, passphrase="sesame")
    with echo_server(mutual_server_tls(pki), host="::1") as (_, _srv, port):
        with client(tls, port, host="::1") as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "six")
            assert rec.wait_for("message") == [("six world!",)]


@pytest.mark.parametrize("mode", ["asyncio", "uvloop"])
def test_mutual_tls_inside_a_running_loop(pki, mode):
    """Inside a running loop (asyncio, uvloop): awaitables, same TLS."""
    if mode == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        runner: Callable[[Any], Any] = uvloop.run
    else:
        runner = asyncio.run

    async def body() -> None:
        server_ipc = make_ipc(tls=mutual_server_tls(pki))
        server = server_ipc.serveNet("127.0.0.1", 0)
        srv = Rec().watch(server, "connect")
        server.on("message", lambda data, sock: server.emit(sock, "message", data + " world!"))
        server.start()
        await server.wait_started()
        port = server.port
        ipc = make_ipc(tls=mutual_client_tls(pki))
        rec = Rec()
        ipc.connectToNet(
            "world", port, lambda: rec.watch(ipc.of.world, "connect", "message", "destroy")
        )
        try:
            await ipc.of.world.wait_connected()
            ipc.of.world.emit("message", "hello")
            assert await rec.until("message") == [("hello world!",)]
            assert len(srv.of("connect")) == 1
        finally:
            client = ipc.of.world
            ipc.disconnect("world")
            await client.wait_closed()
            server.stop()
            await server.wait_closed()

    runner(asyncio.wait_for(body(), 20))


def test_raw_buffer_over_tls(pki):
    payload = b"\x00\xff\x0c{not json}\x0c\xc3\x28 raw"
    with echo_server(mutual_server_tls(pki), rawBuffer=True) as (server_ipc, srv, port):
        srv_server = server_ipc.server
        srv_server.on("data", lambda data, sock: srv_server.emit(sock, data[::-1]))
        with client(mutual_client_tls(pki), port, rawBuffer=True) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit(payload)
            ipc.of.world.emit("68656c6c6f")  # str: encoded with config.encoding (utf8 here)
            deadline = time.monotonic() + TIMEOUT
            while True:
                got = b"".join(args[0] for args in rec.of("data"))
                if len(got) >= len(payload) + 10 or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        received = b"".join(args[0] for args in srv.of("data"))
        assert received == payload + b"68656c6c6f"
        assert all(isinstance(args[0], bytes) for args in rec.of("data"))
        # each chunk was echoed reversed; chunking may differ, content must not
        assert sorted(got) == sorted(received)


# ---------------------------------------------------------------- refusals


def refused(rec: Rec) -> Exception:
    """The client's first error, after which it never connected and was destroyed."""
    rec.wait_for("destroy")
    assert rec.of("connect") == []
    (error,), *_ = rec.of("error")
    return error


def test_untrusted_server_certificate_is_refused(pki):
    with echo_server(server_tls(pki)) as (_, srv, port):
        with client({"trustedConnections": pki.rogue_ca}, port, maxRetries=0) as (_, rec):
            error = refused(rec)
        assert isinstance(error, ssl.SSLCertVerificationError)
        assert "certificate verify failed" in str(error)
        assert srv.of("connect") == []


def test_wrong_host_server_certificate_is_refused(pki):
    tls = {"trustedConnections": pki.ca, "servername": "not-the-server.test"}
    with echo_server(server_tls(pki)) as (_, srv, port):
        with client(tls, port, maxRetries=0) as (_, rec):
            error = refused(rec)
        assert isinstance(error, ssl.SSLCertVerificationError)
        assert "not-the-server.test" in str(error) or "mismatch" in str(error)
        assert srv.of("connect") == []


def test_reject_unauthorized_false_skips_verification(pki):
    """node-ipc's development setting: any server certificate is accepted."""
    tls = {"rejectUnauthorized": False, "servername": "not-the-server.test"}
    with echo_server(
        server_tls(pki, private=pki.rogue_server_key, public=pki.rogue_server_cert)
    ) as (_, _srv, port):
        with client(tls, port) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "anyone")
            assert rec.wait_for("message") == [("anyone world!",)]


@pytest.mark.parametrize("who", ["no-certificate", "rogue-certificate"])
def test_mutual_tls_server_refuses_a_client_and_serves_the_others(pki, who, caplog):
    """A client without a valid certificate never reaches 'connect' on the
    server; the failed handshake is logged (WARNING on the 'fastipc' logger)
    and no 'error' event is emitted; a good client carries on throughout."""
    bad_tls: dict[str, Any] = {"trustedConnections": pki.ca}
    if who == "rogue-certificate":
        bad_tls.update(private=pki.rogue_client_key, public=pki.rogue_client_cert)
    caplog.set_level(logging.WARNING, logger="fastipc")
    with echo_server(mutual_server_tls(pki)) as (_, srv, port):
        with client(mutual_client_tls(pki), port) as (good_ipc, good):
            good.wait_for("connect")
            good_ipc.of.world.emit("message", "before")
            good.wait_for("message", 1)
            with client(bad_tls, port, id="world", maxRetries=0) as (bad_ipc, bad):
                # refused so fast, sometimes, that it is already destroyed
                with contextlib.suppress(IPCNotConnectedError):
                    bad_ipc.of.world.emit("message", "let me in")
                bad.wait_for("destroy")
            # Under TLS 1.3 a client finishes its side of the handshake before
            # the server checks its certificate, so it may see 'connect' then
            # a close; it never gets an answer, and the server never connects it.
            assert bad.of("message") == []
            good_ipc.of.world.emit("message", "after")
            assert good.wait_for("message", 2) == [("before world!",), ("after world!",)]
            assert len(srv.of("connect")) == 1
            assert srv.of("message") == [("before",), ("after",)]
        assert srv.of("error") == []
    failures = [r for r in caplog.records if r.name == "fastipc" and "TLS" in r.getMessage()]
    assert failures, caplog.records
    assert "handshake failed" in failures[0].getMessage()


# ---------------------------------------------------------------- misconfiguration


def assert_nothing_listens(port: int) -> None:
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def start_server(tls: Any, port: int, **config: Any) -> None:
    ipc = make_ipc(tls=tls, **config)
    server = ipc.serveNet("127.0.0.1", port)
    started = Rec().watch(server, "start")
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


def test_server_misconfiguration_raises_before_listening(pki):
    for what, tls, words in bad_server_configs(pki):
        port = free_port()
        with pytest.raises(TLSConfigurationError) as info:
            start_server(tls, port)
        assert info.value.code == "ERR_IPC_TLS_CONFIGURATION", what
        for word in words:
            assert word in str(info.value), (what, str(info.value))
        assert_nothing_listens(port)


def assert_no_connection_attempt(call: Callable[[int], Any]) -> None:
    """``call(port)`` raises without ever connecting to a listener on ``port``."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        call(listener.getsockname()[1])
        with pytest.raises(socket.timeout):
            conn, _ = listener.accept()
            conn.close()
    assert background_loop.users == 0


def test_client_misconfiguration_raises_before_connecting(pki):
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
    for tls, words in cases:
        ipc = make_ipc(tls=tls)

        def connect(port: int, ipc: IPC = ipc, words: list[str] = words) -> None:
            with pytest.raises(TLSConfigurationError) as info:
                ipc.connectToNet("world", port)
            for word in words:
                assert word in str(info.value), str(info.value)
            assert ipc.of.world.destroyed

        assert_no_connection_attempt(connect)


def test_misconfiguration_raises_inside_a_running_loop(pki):
    async def body() -> None:
        ipc = make_ipc(tls=server_tls(pki, private="/nonexistent/server.key"))
        server = ipc.serveNet("127.0.0.1", free_port())
        with pytest.raises(TLSConfigurationError, match=re.escape("/nonexistent/server.key")):
            server.start()
        assert not server.listening

    asyncio.run(asyncio.wait_for(body(), 10))


# ---------------------------------------------------------------- assured


ASSURED = {"parser": "assured", "allowedEvents": ["message"]}


def test_assured_server_requires_mutual_tls_before_listening(pki):
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


def test_assured_client_requires_mutual_tls_before_connecting(pki):
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
    for tls, error, code in cases:
        ipc = make_ipc(tls=tls, **ASSURED)

        def connect(
            port: int, ipc: IPC = ipc, error: type[Exception] = error, code: str = code
        ) -> None:
            with pytest.raises(error) as info:
                ipc.connectToNet("world", port)
            assert info.value.code == code  # type: ignore[attr-defined]

        assert_no_connection_attempt(connect)


def test_assured_over_mutual_tls_works(pki):
    with echo_server(mutual_server_tls(pki), **ASSURED) as (_, srv, port):
        with client(mutual_client_tls(pki), port, **ASSURED) as (ipc, rec):
            rec.wait_for("connect")
            ipc.of.world.emit("message", "assured")
            assert rec.wait_for("message") == [("assured world!",)]
        ((_version, peercert),) = srv.wait_for("handshake")
        assert peercert
