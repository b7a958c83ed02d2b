"""Every config key acts, or is refused with ``IPCConfigError`` naming it.

Issue 10 item 5. ``PROBES`` maps every key of ``ipc.config`` (``CONFIG_KEYS``),
every sub-key of ``interface`` and of ``tls``, and the alias ``interfaces`` to a
behavioural probe: a small real scenario (Unix sockets, TCP, TLS, a plain
socket reading the wire, ``ipc.log`` output, a socket file's mode) run once
with the key left at its default and once with it changed, asserting a
difference that only that key explains. A key fastipc refuses must raise
:class:`fastipc.IPCConfigError` whose message names it.
``test_table_covers_every_key`` fails when a key appears without a probe.

Everything here runs from plain code (the background loop thread), except the
``backlog`` probe, which needs the loop held still and so runs its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fastipc import IPC, IPCConfigError
from fastipc._config import _ALIASES, _INTERFACE_KEYS, _TLS_KEYS, CONFIG_KEYS

from .helpers import DEFAULT, WAIT, Recorder, make_ipc

trustme = pytest.importorskip("trustme")

#: node-ipc's names for the sub-keys of ``interface`` (node's net.connect options).
NODE_INTERFACE_KEYS = ("localAddress", "localPort", "family", "hints", "lookup")

#: RFC 7919's ffdhe2048 group (public, fixed): what ``tls.dhparam`` loads.
FFDHE2048 = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


# ---------------------------------------------------------------- scaffolding


@dataclass(frozen=True)
class PKI:
    """Certificates made by trustme: PEM text, and files for node-ipc's path aliases."""

    ca: str  # the CA everyone here trusts
    key: str  # server key and certificate for localhost, 127.0.0.1, ::1
    cert: str
    client_key: str  # a client certificate from the same CA
    client_cert: str
    encrypted_key: str  # ``key`` under the passphrase "sesame"
    named_key: str  # a server certificate for "srv.probe.test" only
    named_cert: str
    rsa_ca: str  # an RSA CA and server certificate (DHE needs an RSA key)
    rsa_key: str
    rsa_cert: str
    ca_file: str
    key_file: str
    cert_file: str


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1", "::1")
    client = ca.issue_cert("client.probe.test")
    named = ca.issue_cert("srv.probe.test")
    rsa_ca = trustme.CA(key_type=trustme.KeyType.RSA)
    rsa = rsa_ca.issue_cert("localhost", "127.0.0.1", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"sesame"),
    )

    def pem(blob: Any) -> str:
        return str(blob.bytes().decode("ascii"))

    with tempfile.TemporaryDirectory(prefix="fkeys-tls-", dir="/tmp") as folder:

        def write(name: str, text: str) -> str:
            path = os.path.join(folder, name)
            with open(path, "w", encoding="ascii") as handle:
                handle.write(text)
            return path

        yield PKI(
            ca=pem(ca.cert_pem),
            key=pem(server.private_key_pem),
            cert=pem(server.cert_chain_pems[0]),
            client_key=pem(client.private_key_pem),
            client_cert=pem(client.cert_chain_pems[0]),
            encrypted_key=encrypted.decode("ascii"),
            named_key=pem(named.private_key_pem),
            named_cert=pem(named.cert_chain_pems[0]),
            rsa_ca=pem(rsa_ca.cert_pem),
            rsa_key=pem(rsa.private_key_pem),
            rsa_cert=pem(rsa.cert_chain_pems[0]),
            ca_file=write("ca.pem", pem(ca.cert_pem)),
            key_file=write("server.key", pem(server.private_key_pem)),
            cert_file=write("server.pem", pem(server.cert_chain_pems[0])),
        )


class Ctx:
    """What a probe gets: fresh short directories, the PKI, pytest's capsys."""

    def __init__(self, base: str, request: pytest.FixtureRequest) -> None:
        self._base = base
        self._request = request
        self._count = 0
        self.capsys: pytest.CaptureFixture[str] = request.getfixturevalue("capsys")
        self.monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")

    def dir(self) -> str:
        """A new empty directory, with a trailing '/' (a socketRoot)."""
        self._count += 1
        path = os.path.join(self._base, str(self._count))
        os.mkdir(path, 0o700)
        return path + "/"

    @property
    def pki(self) -> PKI:
        return self._request.getfixturevalue("pki")  # type: ignore[no-any-return]


@pytest.fixture
def ctx(request: pytest.FixtureRequest) -> Iterator[Ctx]:
    base = tempfile.mkdtemp(prefix="fk", dir="/tmp")
    try:
        yield Ctx(base, request)
    finally:
        shutil.rmtree(base, ignore_errors=True)


class Scene:
    """Servers and clients opened by one run of a probe, all closed on exit."""

    def __init__(self) -> None:
        self.servers: list[Any] = []
        self.clients: list[tuple[IPC, str, Recorder]] = []

    def server(self, server: Any, *events: str) -> Recorder:
        """Start ``server`` (made by serve/serveNet) recording ``events``."""
        seen = Recorder().watch(server, "connect", "error", *events)
        server.start()
        self.servers.append(server)
        return seen

    def client(
        self, ipc: IPC, id: str, *where: Any, net: bool = False, wait: bool = True
    ) -> Recorder:
        """``connectTo(id, *where)`` (or ``connectToNet``) recording its lifecycle."""
        got = Recorder()

        def registered() -> None:
            got.watch(ipc.of[id], "connect", "disconnect", "destroy", "error")

        self.clients.append((ipc, id, got))
        if net:
            ipc.connectToNet(id, *where, registered)
        else:
            ipc.connectTo(id, *where, registered)
        if wait:
            got.wait(lambda: bool(got.of("connect")), WAIT, f"{id} connect")
        return got

    def close(self) -> None:
        """Disconnect every client, stop every server, then wait until each
        client is destroyed (so the loop thread is let go)."""
        closing = []
        try:
            for ipc, id, got in self.clients:
                client = ipc.of.get(id)
                ipc.disconnect(id)
                if client is not None:
                    closing.append((client, got))
        finally:
            for server in self.servers:
                server.stop()
        for client, got in closing:
            got.wait(lambda c=client: bool(c.destroyed), WAIT, f"{client.id} destroyed")


@contextlib.contextmanager
def scene() -> Iterator[Scene]:
    opened = Scene()
    try:
        yield opened
    finally:
        opened.close()


def read_until(sock: socket.socket, done: Callable[[bytes], bool], what: str) -> bytes:
    """Read from a plain socket until ``done(bytes so far)`` or EOF (bounded)."""
    data = b""
    deadline = time.monotonic() + WAIT
    sock.settimeout(0.2)
    while not done(data):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out reading {what}; got {data[:200]!r}")
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def read_to_eof(sock: socket.socket, what: str) -> bytes:
    return read_until(sock, lambda _: False, what)


def frame(type: str, data: str = "1") -> bytes:
    return b'{"type":"' + type.encode() + b'","data":' + data.encode() + b"}\f"


def codes(seen: Recorder) -> list[str]:
    return [getattr(args[0], "code", repr(args[0])) for args in seen.of("error")]


def low_free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host`` below Linux's ephemeral range (32768-60999),
    so no port the kernel picks by itself can equal it. Checked by binding
    there without SO_REUSEADDR, as a client's local_addr is bound, so a port
    still in TIME_WAIT from an earlier run is passed over."""
    start = random.randrange(20000, 32000)
    for port in [*range(start, 32000, 7), *range(20000, start, 7)]:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError("no free low port")


# ---------------------------------------------------------------- the table

#: key -> probe(ctx); each probe runs its scenario with the key at its
#: default and changed, and asserts the difference.
PROBES: dict[str, Callable[[Ctx], None]] = {}


def probe(key: str) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    def register(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        assert key not in PROBES, key
        PROBES[key] = fn
        return fn

    return register


# ---------------------------------------------------------------- local socket paths


def served_names(root: str, **config: Any) -> list[str]:
    """What ``serve()`` with no path creates in ``root``."""
    ipc = make_ipc(root, **config)
    server = ipc.serve()
    with scene() as s:
        s.server(server)
        names = sorted(os.listdir(root))
        assert all(stat.S_ISSOCK(os.lstat(root + n).st_mode) for n in names)
    return names


@probe("appspace")
def probe_appspace(ctx: Ctx) -> None:
    """``appspace`` is the prefix of the default socket name."""
    assert served_names(ctx.dir(), id="srv", appspace=DEFAULT) == ["app.srv"]
    assert served_names(ctx.dir(), id="srv", appspace="probe.") == ["probe.srv"]


@probe("id")
def probe_id(ctx: Ctx) -> None:
    """``id`` names the default socket (the host name by default)."""
    assert served_names(ctx.dir(), id=DEFAULT) == ["app." + socket.gethostname()]
    assert served_names(ctx.dir(), id="probe-id") == ["app.probe-id"]


@probe("socketRoot")
def probe_socket_root(ctx: Ctx) -> None:
    """``socketRoot`` is the directory of the default socket: by default
    ``$XDG_RUNTIME_DIR/node-ipc/`` (pointed at a private directory here), else
    the directory given; a client finds the server through it by id alone."""
    runtime = ctx.dir()
    ctx.monkeypatch.setenv("XDG_RUNTIME_DIR", runtime.rstrip("/"))
    other = ctx.dir()

    def where(value: Any) -> list[str]:
        found = []
        with scene() as s:
            s.server(make_ipc(None, id="srv", socketRoot=value).serve())
            s.client(make_ipc(None, socketRoot=value), "srv")
            for folder in (runtime + "node-ipc/", other):
                if os.path.isdir(folder):
                    found += [folder + n for n in os.listdir(folder)]
        return found

    assert where(DEFAULT) == [runtime + "node-ipc/app.srv"]
    assert where(other) == [other + "app.srv"]


def socket_mode(root: str, **config: Any) -> int:
    """The permission bits of the socket ``serve()`` creates, under umask 077."""
    old = os.umask(0o077)
    try:
        with scene() as s:
            server = make_ipc(root, id="srv", **config).serve()
            s.server(server)
            return stat.S_IMODE(os.stat(server.path).st_mode)
    finally:
        os.umask(old)


@probe("readableAll")
def probe_readable_all(ctx: Ctx) -> None:
    """``readableAll`` adds read permission for everyone to the socket file."""
    assert socket_mode(ctx.dir(), readableAll=DEFAULT) == 0o700
    assert socket_mode(ctx.dir(), readableAll=True) == 0o744


@probe("writableAll")
def probe_writable_all(ctx: Ctx) -> None:
    """``writableAll`` adds write permission for everyone to the socket file."""
    assert socket_mode(ctx.dir(), writableAll=DEFAULT) == 0o700
    assert socket_mode(ctx.dir(), writableAll=True) == 0o722


@probe("secureSocketRoot")
def probe_secure_socket_root(ctx: Ctx) -> None:
    """``secureSocketRoot`` makes an existing group/world-readable socket root
    owner-only before serving in it."""

    def root_mode(value: Any) -> int:
        root = ctx.dir()
        os.chmod(root, 0o755)
        with scene() as s:
            s.server(make_ipc(root, id="srv", secureSocketRoot=value).serve())
            return stat.S_IMODE(os.stat(root).st_mode)

    assert root_mode(DEFAULT) == 0o700
    assert root_mode(False) == 0o755


@probe("unlink")
def probe_unlink(ctx: Ctx) -> None:
    """``unlink`` removes a stale socket at the path; without it, listening fails."""

    def outcome(value: Any) -> str:
        root = ctx.dir()
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(root + "app.srv")
        stale.close()  # the file stays: a stale socket
        server = make_ipc(root, id="srv", unlink=value).serve()
        with scene() as s:
            try:
                s.server(server)
            except OSError as exc:
                assert os.path.exists(root + "app.srv")
                return errno.errorcode.get(exc.errno or 0, repr(exc))
            s.client(make_ipc(root), "srv")
            return "served"

    assert outcome(DEFAULT) == "served"
    assert outcome(False) == "EADDRINUSE"


# ---------------------------------------------------------------- what a client writes


def client_wire(root: str, *emit: Any, **config: Any) -> bytes:
    """The bytes a client with ``config`` writes for ``emit(*emit)``, read by a
    plain socket server until the client disconnects."""
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(root + "app.plain")
        listener.listen(1)
        listener.settimeout(WAIT)
        ipc = make_ipc(root, **config)
        with scene() as s:
            got = s.client(ipc, "plain", wait=False)
            peer, _ = listener.accept()
            with peer:
                got.wait(lambda: bool(got.of("connect")), WAIT, "connect")
                ipc.of.plain.emit(*emit)
                ipc.disconnect("plain")
                return read_to_eof(peer, "the client's bytes")


@probe("encoding")
def probe_encoding(ctx: Ctx) -> None:
    """``encoding`` turns a raw-mode ``str`` payload into bytes."""
    assert client_wire(ctx.dir(), "ff00", rawBuffer=True, encoding=DEFAULT) == b"ff00"
    assert client_wire(ctx.dir(), "ff00", rawBuffer=True, encoding="hex") == b"\xff\x00"


@probe("rawBuffer")
def probe_raw_buffer(ctx: Ctx) -> None:
    """``rawBuffer`` sends the payload itself instead of a JSON frame."""
    assert client_wire(ctx.dir(), "hello", rawBuffer=DEFAULT) == b'{"type":"hello","data":{}}\f'
    assert client_wire(ctx.dir(), "hello", rawBuffer=True) == b"hello"


@probe("delimiter")
def probe_delimiter(ctx: Ctx) -> None:
    """``delimiter`` ends each frame on the wire."""
    assert client_wire(ctx.dir(), "m", "x", delimiter=DEFAULT) == b'{"type":"m","data":"x"}\f'
    assert client_wire(ctx.dir(), "m", "x", delimiter="<END>") == b'{"type":"m","data":"x"}<END>'


# ---------------------------------------------------------------- what a server accepts


def server_sees(root: str, sent: bytes, *events: str, **config: Any) -> list[tuple[str, Any]]:
    """A server with ``config`` gets ``sent`` from a plain socket; returns the
    first thing its handlers saw: ``(event, data)`` or ``("error", code)``; or
    ``("refused", message)`` when the server cannot be made with ``config``."""
    try:
        server = make_ipc(root, id="srv", **config).serve()
    except IPCConfigError as exc:
        return [("refused", str(exc))]
    with scene() as s:
        seen = s.server(server, *events)
        with socket.socket(socket.AF_UNIX) as peer:
            peer.connect(server.path)
            peer.sendall(sent)
            seen.wait(lambda: any(n != "connect" for n in seen.names()), WAIT, "an event")
        first = next((n, args) for n, args in seen.items if n != "connect")
    name, args = first
    return [(name, getattr(args[0], "code", args[0]))]


GUARDED = {"parser": "guarded"}


@probe("parser")
def probe_parser(ctx: Ctx) -> None:
    """``parser='guarded'`` refuses a reserved event name that fast delivers."""
    sent = frame("destroy", "7")
    assert server_sees(ctx.dir(), sent, "destroy", parser=DEFAULT) == [("destroy", 7)]
    assert server_sees(ctx.dir(), sent, "destroy", parser="guarded") == [
        ("error", "ERR_IPC_RESERVED_EVENT")
    ]


@probe("allowReservedEvents")
def probe_allow_reserved_events(ctx: Ctx) -> None:
    """``allowReservedEvents`` lets a guarded server deliver a reserved name."""
    sent = frame("destroy", "7")
    assert server_sees(ctx.dir(), sent, "destroy", **GUARDED, allowReservedEvents=DEFAULT) == [
        ("error", "ERR_IPC_RESERVED_EVENT")
    ]
    assert server_sees(ctx.dir(), sent, "destroy", **GUARDED, allowReservedEvents=True) == [
        ("destroy", 7)
    ]


@probe("allowedEvents")
def probe_allowed_events(ctx: Ctx) -> None:
    """``allowedEvents`` is the assured parser's list of event names: unset, an
    assured server cannot be made (IPCConfigError naming it); set, the server
    delivers a listed event and refuses another with ERR_IPC_EVENT_NOT_ALLOWED.
    (node-ipc 14 reads it under assured only, and so does fastipc.)"""
    assured = {"parser": "assured"}
    ((name, message),) = server_sees(ctx.dir(), frame("a"), "a", **assured, allowedEvents=DEFAULT)
    assert name == "refused" and "allowedEvents" in message
    assert server_sees(ctx.dir(), frame("a", "7"), "a", **assured, allowedEvents=["a"]) == [
        ("a", 7)
    ]
    assert server_sees(ctx.dir(), frame("b", "7"), "b", **assured, allowedEvents=["a"]) == [
        ("error", "ERR_IPC_EVENT_NOT_ALLOWED")
    ]


@probe("maxMessageSize")
def probe_max_message_size(ctx: Ctx) -> None:
    """``maxMessageSize`` bounds a frame a guarded server takes."""
    sent = frame("m", '"' + "x" * 2000 + '"')
    assert server_sees(ctx.dir(), sent, "m", **GUARDED, maxMessageSize=DEFAULT) == [
        ("m", "x" * 2000)
    ]
    assert server_sees(ctx.dir(), sent, "m", **GUARDED, maxMessageSize=1000) == [
        ("error", "ERR_IPC_FRAME_TOO_LARGE")
    ]


@probe("maxEventNameLength")
def probe_max_event_name_length(ctx: Ctx) -> None:
    """``maxEventNameLength`` bounds an event name a guarded server takes."""
    name = "e" * 40
    assert server_sees(ctx.dir(), frame(name), name, **GUARDED, maxEventNameLength=DEFAULT) == [
        (name, 1)
    ]
    assert server_sees(ctx.dir(), frame(name), name, **GUARDED, maxEventNameLength=16) == [
        ("error", "ERR_IPC_EVENT_TOO_LARGE")
    ]


@probe("messageTimeout")
def probe_message_timeout(ctx: Ctx) -> None:
    """``messageTimeout`` bounds how long a guarded server waits for the rest
    of a frame: two servers get the same unfinished frame; the one with 100 ms
    times out while the default one (30 s) still completes the frame after."""
    root = ctx.dir()
    with scene() as s:
        default = make_ipc(root, id="a", **GUARDED, messageTimeout=DEFAULT).serve()
        short = make_ipc(root, id="b", **GUARDED, messageTimeout=100).serve()
        seen_default = s.server(default, "m")
        seen_short = s.server(short, "m")
        with socket.socket(socket.AF_UNIX) as a, socket.socket(socket.AF_UNIX) as b:
            a.connect(default.path)
            b.connect(short.path)
            a.sendall(b'{"type":"m","data":')
            b.sendall(b'{"type":"m","data":')
            seen_short.wait(lambda: bool(seen_short.of("error")), WAIT, "timeout")
            assert codes(seen_short) == ["ERR_IPC_MESSAGE_TIMEOUT"]
            assert read_to_eof(b, "the short server's close") == b""
            a.sendall(b"1}\f")
            seen_default.wait(lambda: bool(seen_default.of("m")), WAIT, "m")
    assert seen_default.of("m")[0][0] == 1
    assert codes(seen_default) == []
    assert seen_short.of("m") == []


@probe("maxPendingBytes")
def probe_max_pending_bytes(ctx: Ctx) -> None:
    """``maxPendingBytes`` bounds what a guarded server queues for one client:
    over it, the emit is refused and the connection cut with ERR_IPC_BACKPRESSURE."""
    payload = "x" * 100_000

    def outcome(value: Any) -> tuple[bool, int, list[str]]:
        server = make_ipc(ctx.dir(), id="srv", **GUARDED, maxPendingBytes=value).serve()
        with scene() as s:
            seen = s.server(server)
            with socket.socket(socket.AF_UNIX) as peer:
                peer.connect(server.path)
                seen.wait(lambda: bool(seen.of("connect")), WAIT, "connect")
                ok = server.emit(seen.of("connect")[0][0], "big", payload)
                got = read_until(peer, lambda d: d.endswith(b"\f"), "the frame")
                if not ok:
                    seen.wait(lambda: bool(seen.of("error")), WAIT, "error")
                return ok, len(got), codes(seen)

    assert outcome(DEFAULT) == (True, len(frame("big", '"' + payload + '"')), [])
    assert outcome(50_000) == (False, 0, ["ERR_IPC_BACKPRESSURE"])


@probe("identifyPeer")
def probe_identify_peer(ctx: Ctx) -> None:
    """``identifyPeer`` sets ``socket.id`` from the ``id`` in a peer's data."""

    def socket_id(value: Any) -> Any:
        server = make_ipc(ctx.dir(), id="srv", identifyPeer=value).serve()
        ids: list[Any] = []
        server.on("hello", lambda data, sock: ids.append(sock.id))
        with scene() as s:
            seen = s.server(server, "hello")
            with socket.socket(socket.AF_UNIX) as peer:
                peer.connect(server.path)
                peer.sendall(frame("hello", '{"id":"peer-a"}'))
                seen.wait(lambda: bool(seen.of("hello")), WAIT, "hello")
        return ids[0]

    assert socket_id(DEFAULT) is False
    assert socket_id(True) == "peer-a"


@probe("maxConnections")
def probe_max_connections(ctx: Ctx) -> None:
    """``maxConnections`` refuses the client past the limit."""

    def outcome(value: Any) -> tuple[int, bool]:
        root = ctx.dir()
        server = make_ipc(root, id="srv", maxConnections=value).serve()
        with scene() as s:
            seen = s.server(server)
            s.client(make_ipc(root, maxRetries=0), "srv")
            seen.wait(lambda: len(seen.of("connect")) == 1, WAIT, "first connect")
            second = s.client(make_ipc(root, maxRetries=0), "srv", wait=False)
            seen.wait(
                lambda: len(seen.of("connect")) == 2 or bool(second.of("destroy")),
                WAIT,
                "second client served or refused",
            )
            return len(seen.of("connect")), bool(second.of("destroy"))

    assert outcome(DEFAULT) == (2, False)
    assert outcome(1) == (1, True)


@probe("backlog")
def probe_backlog(ctx: Ctx) -> None:
    """``backlog`` (a fastipc key) is the server's listen backlog: with the
    loop held still, so nothing is accepted, only that many connects (Linux
    lets one more) complete; the next fails with EAGAIN."""

    def queued(value: Any) -> int:
        async def body() -> int:
            server = make_ipc(ctx.dir(), id="srv", backlog=value).serve()
            server.start()
            await server.wait_started()
            peers: list[socket.socket] = []
            try:
                # no await from here on: the loop cannot accept
                for _ in range(700):
                    peer = socket.socket(socket.AF_UNIX)
                    peers.append(peer)
                    peer.setblocking(False)
                    try:
                        peer.connect(server.path)
                    except BlockingIOError:
                        return len(peers) - 1
                return len(peers)
            finally:
                for peer in peers:
                    peer.close()
                server.stop()
                await server.wait_closed()

        return asyncio.run(asyncio.wait_for(body(), 30))

    assert queued(DEFAULT) in (511, 512)
    assert queued(4) in (4, 5)


# ---------------------------------------------------------------- client lifecycle


@probe("retry")
def probe_retry(ctx: Ctx) -> None:
    """``retry`` is the pause before a reconnect: two clients fail against a
    missing server, the server starts, and the one with the default (500 ms)
    connects while the one with 20 s is still waiting to try again."""
    root = ctx.dir()
    with scene() as s:
        default = s.client(make_ipc(root, retry=DEFAULT), "srv", wait=False)
        slow = s.client(make_ipc(root, retry=20_000), "srv", wait=False)
        for got in (default, slow):
            got.wait(lambda got=got: bool(got.of("error")), WAIT, "first failure")
        s.server(make_ipc(root, id="srv").serve())
        default.wait(lambda: bool(default.of("connect")), WAIT, "reconnect")
        assert slow.of("connect") == []
        assert len(slow.of("error")) == 1  # no second attempt yet


def failures(root: str, until: int, **config: Any) -> tuple[int, bool]:
    """A client against a missing server: its errors until it is destroyed or
    has failed ``until`` times, and whether it was destroyed."""
    with scene() as s:
        got = s.client(make_ipc(root, retry=10, **config), "missing", wait=False)
        got.wait(lambda: bool(got.of("destroy")) or len(got.of("error")) >= until, WAIT, "failures")
        return min(len(got.of("error")), until), bool(got.of("destroy"))


@probe("maxRetries")
def probe_max_retries(ctx: Ctx) -> None:
    """``maxRetries`` bounds the reconnects before ``destroy``."""
    assert failures(ctx.dir(), 6, maxRetries=DEFAULT) == (6, False)
    assert failures(ctx.dir(), 6, maxRetries=2) == (3, True)


@probe("stopRetrying")
def probe_stop_retrying(ctx: Ctx) -> None:
    """``stopRetrying`` destroys the client at the first failure."""
    assert failures(ctx.dir(), 4, stopRetrying=DEFAULT) == (4, False)
    assert failures(ctx.dir(), 4, stopRetrying=True) == (1, True)


@probe("sync")
def probe_sync(ctx: Ctx) -> None:
    """``sync`` keeps one message in flight: a server answering each request
    after 50 ms never has two unanswered with it, and has several without."""

    def most_unanswered(value: Any) -> int:
        root = ctx.dir()
        server = make_ipc(root, id="srv").serve()
        state = {"open": 0, "most": 0}

        def request(data: Any, sock: Any) -> None:
            state["open"] += 1
            state["most"] = max(state["most"], state["open"])

            def answer() -> None:
                state["open"] -= 1
                sock.emit("ack", data)

            asyncio.get_running_loop().call_later(0.05, answer)

        server.on("req", request)
        with scene() as s:
            s.server(server)
            ipc = make_ipc(root, sync=value)
            got = s.client(ipc, "srv")
            ipc.of.srv.on("ack", got.handler("ack"))
            for i in range(5):
                ipc.of.srv.emit("req", i)
            got.wait(lambda: len(got.of("ack")) == 5, WAIT, "5 acks")
            assert [a[0] for a in got.of("ack")] == list(range(5))
        return state["most"]

    assert most_unanswered(DEFAULT) > 1
    assert most_unanswered(True) == 1


# ---------------------------------------------------------------- logging


def log_lines(action: Callable[[IPC], None], **config: Any) -> list[str]:
    lines: list[str] = []
    ipc = IPC()
    ipc.config.logger = lines.append
    for key, value in config.items():
        if value is not DEFAULT:
            ipc.config[key] = value
    action(ipc)
    return lines


NESTED = {"a": {"b": {"c": 1}}}


@probe("silent")
def probe_silent(ctx: Ctx) -> None:
    """``silent`` stops the library's log lines (here serve()'s default-path note)."""
    root = ctx.dir()

    def serve(ipc: IPC) -> None:
        ipc.config.socketRoot = root
        ipc.serve()  # made, not started: it logs the path it defaulted to

    assert any("Server path not specified" in line for line in log_lines(serve, silent=DEFAULT))
    assert log_lines(serve, silent=True) == []


@probe("logDepth")
def probe_log_depth(ctx: Ctx) -> None:
    """``logDepth`` limits how deep ``ipc.log`` renders an object."""
    show = lambda ipc: ipc.log(NESTED)  # noqa: E731
    assert log_lines(show, logInColor=False, logDepth=DEFAULT) == ["{'a': {'b': {'c': 1}}}"]
    assert log_lines(show, logInColor=False, logDepth=0) == ["{'a': {...}}"]


@probe("logInColor")
def probe_log_in_color(ctx: Ctx) -> None:
    """``logInColor`` wraps rendered objects in ANSI colour codes."""
    show = lambda ipc: ipc.log({"x": 1})  # noqa: E731
    assert log_lines(show, logInColor=DEFAULT) == ["\x1b[36m{'x': 1}\x1b[0m"]
    assert log_lines(show, logInColor=False) == ["{'x': 1}"]


@probe("logger")
def probe_logger(ctx: Ctx) -> None:
    """``logger`` is where ``ipc.log`` goes: stdout by default."""
    ctx.capsys.readouterr()
    IPC().log("probe line one")
    assert ctx.capsys.readouterr().out == "probe line one\n"
    lines: list[str] = []
    ipc = IPC()
    ipc.config.logger = lines.append
    ipc.log("probe line two")
    assert ctx.capsys.readouterr().out == ""
    assert lines == ["probe line two"]


@probe("logPayloads")
def probe_log_payloads(ctx: Ctx) -> None:
    """``logPayloads`` logs each event sent and received with its data."""

    def payload_lines(value: Any) -> list[str]:
        root = ctx.dir()
        lines: list[str] = []
        common = {"silent": False, "logger": lines.append, "logInColor": False}
        server = make_ipc(root, id="srv", **common, logPayloads=value).serve()
        with scene() as s:
            seen = s.server(server, "payload-probe")
            ipc = make_ipc(root, **common, logPayloads=value)
            s.client(ipc, "srv")
            ipc.of.srv.emit("payload-probe", {"n": 1})
            seen.wait(lambda: bool(seen.of("payload-probe")), WAIT, "the event")
        return [line for line in lines if "payload-probe" in line]

    assert payload_lines(DEFAULT) == []
    logged = payload_lines(True)
    assert any(line.startswith("dispatching event") for line in logged), logged
    assert any(line.startswith("received event") for line in logged), logged


# ---------------------------------------------------------------- network defaults


def net_scene(server_config: dict[str, Any], client_config: dict[str, Any], *where: Any) -> Any:
    """``serveNet(*where)`` then ``connectToNet('srv')`` with no host or port:
    the address the server listens on and the client's address as the server
    sees it."""
    server = make_ipc(None, **server_config).serveNet(*where)
    with scene() as s:
        seen = s.server(server)
        client_ipc = make_ipc(None, **client_config)
        s.client(client_ipc, "srv", net=True)
        seen.wait(lambda: bool(seen.of("connect")), WAIT, "connect")
        peer = seen.of("connect")[0][0]
        # the address the client reached is the one the server is bound to
        bound = client_ipc.of.srv.get_extra_info("peername")[:2]
        return bound, peer.remoteFamily


@probe("networkHost")
def probe_network_host(ctx: Ctx) -> None:
    """``networkHost`` is the default host of serveNet and connectToNet."""
    port = low_free_port()
    both = {"networkPort": port}
    assert net_scene({**both, "networkHost": DEFAULT}, both)[0] == ("127.0.0.1", port)
    port = low_free_port("127.0.0.5")
    both = {"networkPort": port, "networkHost": "127.0.0.5"}
    assert net_scene(both, both)[0] == ("127.0.0.5", port)


@probe("networkPort")
def probe_network_port(ctx: Ctx) -> None:
    """``networkPort`` is the default port of serveNet and connectToNet (8000;
    on 127.0.0.5 here, where nothing else listens)."""
    host = {"networkHost": "127.0.0.5"}
    assert net_scene({**host, "networkPort": DEFAULT}, host)[0] == ("127.0.0.5", 8000)
    port = low_free_port("127.0.0.5")
    both = {**host, "networkPort": port}
    assert net_scene(both, both)[0] == ("127.0.0.5", port)


@probe("IPType")
def probe_ip_type(ctx: Ctx) -> None:
    """``IPType`` picks the default host: 127.0.0.1, or ::1 for IPv6."""
    port = low_free_port()
    both = {"networkPort": port, "IPType": DEFAULT}
    assert net_scene(both, both) == (("127.0.0.1", port), "IPv4")
    both = {"networkPort": port, "IPType": "IPv6"}
    assert net_scene(both, both) == (("::1", port), "IPv6")


# ---------------------------------------------------------------- interface


def client_as_seen(
    config: dict[str, Any], host: str = "127.0.0.1", connect_host: str | None = None
) -> tuple[Any, ...]:
    """A TCP server on ``host``; a client with ``config`` connects to
    ``connect_host`` (default ``host``). Returns ``("connected", address, port,
    family)`` as the server sees the client, or ``("failed", error)``."""
    server = make_ipc(None).serveNet(host, 0)
    with scene() as s:
        seen = s.server(server)
        port = server.port
        ipc = make_ipc(None, maxRetries=0, **config)
        got = s.client(ipc, "srv", connect_host or host, port, net=True, wait=False)
        got.wait(lambda: bool(got.of("connect") or got.of("destroy")), WAIT, "outcome")
        if not got.of("connect"):
            return ("failed", got.of("error")[0][0])
        seen.wait(lambda: bool(seen.of("connect")), WAIT, "server connect")
        peer = seen.of("connect")[0][0]
        return ("connected", peer.remoteAddress, peer.remotePort, peer.remoteFamily)


@probe("interface.localAddress")
def probe_interface_local_address(ctx: Ctx) -> None:
    """``interface.localAddress`` is the client's source address."""
    assert client_as_seen({"interface": {}})[1] == "127.0.0.1"
    assert client_as_seen({"interface": {"localAddress": "127.0.0.2"}})[1] == "127.0.0.2"


@probe("interface.localPort")
def probe_interface_local_port(ctx: Ctx) -> None:
    """``interface.localPort`` is the client's source port (below the kernel's
    ephemeral range, so a default run cannot pick it by chance)."""
    port = low_free_port()
    assert client_as_seen({"interface": {}})[2] >= 32768
    assert client_as_seen({"interface": {"localPort": port}})[2] == port


@probe("interface.family")
def probe_interface_family(ctx: Ctx) -> None:
    """``interface.family`` restricts the address family: ``::1`` connects by
    default and cannot be reached with family 4."""
    assert client_as_seen({"interface": {}}, host="::1")[::3] == ("connected", "IPv6")
    outcome = client_as_seen({"interface": {"family": 4}}, host="::1")
    assert outcome[0] == "failed" and isinstance(outcome[1], socket.gaierror), outcome


@probe("interface.hints")
def probe_interface_hints(ctx: Ctx) -> None:
    """``interface.hints`` are getaddrinfo flags for the connection:
    AI_NUMERICHOST refuses to resolve 'localhost'; 0 and the default connect."""
    assert client_as_seen({"interface": {}}, connect_host="localhost")[0] == "connected"
    assert client_as_seen({"interface": {"hints": 0}}, connect_host="localhost")[0] == "connected"
    numeric = {"interface": {"hints": socket.AI_NUMERICHOST}}
    outcome = client_as_seen(numeric, connect_host="localhost")
    assert outcome[0] == "failed" and isinstance(outcome[1], socket.gaierror), outcome


@probe("interface.lookup")
def probe_interface_lookup(ctx: Ctx) -> None:
    """``interface.lookup`` (node's dns.lookup replacement) is refused with
    IPCConfigError naming it, under either spelling; unset, clients connect."""
    assert client_as_seen({"interface": {}}, connect_host="localhost")[0] == "connected"
    for value in (socket.getaddrinfo, "dns", True):
        for spelling in ("interface", "interfaces"):
            ipc = IPC()
            with pytest.raises(IPCConfigError, match=r"interface\.lookup"):
                ipc.config[spelling] = {"lookup": value}
            assert ipc.config.interface["lookup"] is False


@probe("interface")
def probe_interface(ctx: Ctx) -> None:
    """``interface`` as a whole: the source address and port of TCP clients."""
    port = low_free_port("127.0.0.2")
    (_, address, source_port, _) = client_as_seen({"interface": DEFAULT})
    assert address == "127.0.0.1" and source_port >= 32768
    both = {"interface": {"localAddress": "127.0.0.2", "localPort": port}}
    assert client_as_seen(both)[1:3] == ("127.0.0.2", port)


@probe("interfaces")
def probe_interfaces(ctx: Ctx) -> None:
    """``interfaces`` (node-ipc's README spelling) sets ``interface``."""
    assert "interfaces" in _ALIASES
    assert client_as_seen({})[1] == "127.0.0.1"
    assert client_as_seen({"interfaces": {"localAddress": "127.0.0.2"}})[1] == "127.0.0.2"


# ---------------------------------------------------------------- TLS


def tls_outcome(server_tls: Any, client_tls: Any, host: str = "127.0.0.1") -> tuple[Any, ...]:
    """A TLS server and client on ``host``. Returns one of
    ``("server refused config", error)``, ``("client refused config", error)``,
    ``("handshake failed", error)`` or ``("connected", version, cipher,
    client certificate seen by the server)``."""
    server = make_ipc(None, tls=server_tls).serveNet(host, 0)
    # read on the server as the connection is made: a client's own view may
    # already be closed by then (a server that rejects its certificate)
    sessions: list[tuple[Any, Any, Any]] = []

    def connect(sock: Any) -> None:
        tls = sock.get_extra_info("ssl_object")
        if tls is None:  # a plain TCP server
            sessions.append((None, None, None))
        else:
            sessions.append((tls.version(), tls.cipher()[0], sock.get_extra_info("peercert")))

    server.on("connect", connect)
    with scene() as s:
        try:
            seen = s.server(server)
        except IPCConfigError as exc:
            return ("server refused config", exc)
        port = server.port
        ipc = make_ipc(None, tls=client_tls, maxRetries=0)
        try:
            got = s.client(ipc, "srv", host, port, net=True, wait=False)
        except IPCConfigError as exc:
            return ("client refused config", exc)
        got.wait(lambda: bool(got.of("connect") or got.of("destroy")), WAIT, "outcome")
        if not got.of("connect"):
            return ("handshake failed", got.of("error")[0][0])
        seen.wait(lambda: bool(sessions), WAIT, "server connect")
        version, cipher, peer_cert = sessions[0]
        return ("connected", version, cipher, None if version is None else bool(peer_cert))


def connected(outcome: tuple[Any, ...]) -> bool:
    return outcome[0] == "connected"


def failed(outcome: tuple[Any, ...], stage: str, error: type[BaseException]) -> bool:
    return outcome[0] == stage and isinstance(outcome[1], error)


@probe("tls")
def probe_tls(ctx: Ctx) -> None:
    """``tls`` turns TLS on for serveNet and connectToNet."""
    p = ctx.pki
    assert tls_outcome(DEFAULT, DEFAULT) == ("connected", None, None, None)
    outcome = tls_outcome({"key": p.key, "cert": p.cert}, {"ca": p.ca})
    assert outcome[:2] == ("connected", "TLSv1.3"), outcome


def tls_probe(
    key: str,
    server: Callable[[PKI, Any], Any],
    client: Callable[[PKI, Any], Any],
    value: Callable[[PKI], Any],
    default: Callable[[tuple[Any, ...]], bool],
    changed: Callable[[tuple[Any, ...]], bool],
) -> None:
    """Register a probe for ``tls.<key>``: ``server(pki, v)`` and ``client(pki, v)``
    build each side's tls dict with ``v`` as the key's value (``DEFAULT``:
    absent); ``default``/``changed`` check the two outcomes."""

    def run(ctx: Ctx) -> None:
        p = ctx.pki
        before = tls_outcome(server(p, DEFAULT), client(p, DEFAULT))
        assert default(before), f"tls.{key} unset: {before}"
        after = tls_outcome(server(p, value(p)), client(p, value(p)))
        assert changed(after), f"tls.{key} set: {after}"

    run.__doc__ = f"tls.{key}"
    probe(f"tls.{key}")(run)


def with_key(base: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``base`` plus ``key: value`` unless ``value`` is ``DEFAULT``."""
    return base if value is DEFAULT else {**base, key: value}


def trusting(p: PKI, _: Any = None) -> dict[str, Any]:
    return {"ca": p.ca}


def serving(p: PKI, _: Any = None) -> dict[str, Any]:
    return {"key": p.key, "cert": p.cert}


def refused_by_server(outcome: tuple[Any, ...]) -> bool:
    return failed(outcome, "server refused config", IPCConfigError)


def handshake_failed(outcome: tuple[Any, ...]) -> bool:
    # the side that refuses sees an SSLError; the other may see the reset
    return failed(outcome, "handshake failed", OSError)


# the server's key and certificate, as PEM contents and as files
tls_probe(
    "key",
    lambda p, v: with_key({"cert": p.cert}, "key", v),
    trusting,
    lambda p: p.key,
    refused_by_server,
    connected,
)
tls_probe(
    "cert",
    lambda p, v: with_key({"key": p.key}, "cert", v),
    trusting,
    lambda p: p.cert,
    refused_by_server,
    connected,
)
tls_probe(
    "private",
    lambda p, v: with_key({"public": p.cert_file}, "private", v),
    trusting,
    lambda p: p.key_file,
    refused_by_server,
    connected,
)
tls_probe(
    "public",
    lambda p, v: with_key({"private": p.key_file}, "public", v),
    trusting,
    lambda p: p.cert_file,
    refused_by_server,
    connected,
)
# the client's trust: without ca the system CAs do not know the test CA (the
# client's tls dict is never empty here: see test_empty_tls_options_mean_tls);
# rejectUnauthorized=False accepts a server whose CA (the RSA one) is not trusted
tls_probe(
    "ca",
    serving,
    lambda p, v: with_key({"rejectUnauthorized": True}, "ca", v),
    lambda p: p.ca,
    handshake_failed,
    connected,
)
tls_probe(
    "trustedConnections",
    serving,
    lambda p, v: with_key({"rejectUnauthorized": True}, "trustedConnections", v),
    lambda p: p.ca_file,
    handshake_failed,
    connected,
)
tls_probe(
    "rejectUnauthorized",
    serving,
    lambda p, v: with_key({"ca": p.rsa_ca}, "rejectUnauthorized", v),
    lambda p: False,
    handshake_failed,
    connected,
)
# an encrypted server key
tls_probe(
    "passphrase",
    lambda p, v: with_key({"key": p.encrypted_key, "cert": p.cert}, "passphrase", v),
    trusting,
    lambda p: "sesame",
    refused_by_server,
    connected,
)
# a certificate for srv.probe.test, reached at 127.0.0.1
tls_probe(
    "servername",
    lambda p, v: {"key": p.named_key, "cert": p.named_cert},
    lambda p, v: with_key({"ca": p.ca}, "servername", v),
    lambda p: "srv.probe.test",
    handshake_failed,
    connected,
)
# a server with a client CA asks for the client's certificate unless told not to
tls_probe(
    "requestCert",
    lambda p, v: with_key({**serving(p), "ca": p.ca}, "requestCert", v),
    lambda p, v: {"ca": p.ca, "key": p.client_key, "cert": p.client_cert},
    lambda p: False,
    lambda o: o[0] == "connected" and o[3] is True,
    lambda o: o[0] == "connected" and o[3] is False,
)
# versions: the client stays at TLS 1.2 at most for minVersion
tls_probe(
    "maxVersion",
    lambda p, v: with_key(serving(p), "maxVersion", v),
    trusting,
    lambda p: "TLSv1.2",
    lambda o: o[:2] == ("connected", "TLSv1.3"),
    lambda o: o[:2] == ("connected", "TLSv1.2"),
)
tls_probe(
    "minVersion",
    lambda p, v: with_key(serving(p), "minVersion", v),
    lambda p, v: {"ca": p.ca, "maxVersion": "TLSv1.2"},
    lambda p: "TLSv1.3",
    lambda o: o[:2] == ("connected", "TLSv1.2"),
    handshake_failed,
)
# TLS 1.2 cipher choice (TLS 1.3 suites are not set by ciphers)
TLS12 = {"maxVersion": "TLSv1.2"}
AES128 = "ECDHE-ECDSA-AES128-GCM-SHA256"
AES256 = "ECDHE-ECDSA-AES256-GCM-SHA384"
tls_probe(
    "ciphers",
    lambda p, v: with_key({**serving(p), **TLS12}, "ciphers", v),
    trusting,
    lambda p: AES128,
    lambda o: o[:3] == ("connected", "TLSv1.2", AES256),
    lambda o: o[:3] == ("connected", "TLSv1.2", AES128),
)
# Node's TLS server honours its own cipher order unless honorCipherOrder is
# false (node 22: unset and true pick the server's first choice, false the
# client's); server and client list the two suites in opposite orders
tls_probe(
    "honorCipherOrder",
    lambda p, v: with_key(
        {**serving(p), **TLS12, "ciphers": f"{AES128}:{AES256}"}, "honorCipherOrder", v
    ),
    lambda p, v: {"ca": p.ca, "ciphers": f"{AES256}:{AES128}"},
    lambda p: False,
    lambda o: o[:3] == ("connected", "TLSv1.2", AES128),
    lambda o: o[:3] == ("connected", "TLSv1.2", AES256),
)
# a client that offers only P-256 for key exchange
tls_probe(
    "ecdhCurve",
    lambda p, v: with_key(serving(p), "ecdhCurve", v),
    lambda p, v: {"ca": p.ca, "ecdhCurve": "prime256v1"},
    lambda p: "secp384r1",
    connected,
    handshake_failed,
)
# an RSA server offering only a DHE suite: it needs DH parameters
tls_probe(
    "dhparam",
    lambda p, v: with_key(
        {"key": p.rsa_key, "cert": p.rsa_cert, **TLS12, "ciphers": "DHE-RSA-AES128-GCM-SHA256"},
        "dhparam",
        v,
    ),
    lambda p, v: {"ca": p.rsa_ca},
    lambda p: FFDHE2048,
    handshake_failed,
    lambda o: o[:3] == ("connected", "TLSv1.2", "DHE-RSA-AES128-GCM-SHA256"),
)


@probe("tls.checkServerIdentity")
def probe_tls_check_server_identity(ctx: Ctx) -> None:
    """``tls.checkServerIdentity`` (a JavaScript callback) is refused with
    IPCConfigError naming it before anything connects."""
    p = ctx.pki
    assert connected(tls_outcome(serving(p), trusting(p)))
    outcome = tls_outcome(serving(p), {"ca": p.ca, "checkServerIdentity": lambda host, cert: None})
    assert failed(outcome, "client refused config", IPCConfigError), outcome
    assert "tls.checkServerIdentity" in str(outcome[1])


def test_empty_tls_options_mean_tls(ctx: Ctx) -> None:
    """``tls={}`` is an options object, so TLS is on (node-ipc tests
    ``if(config.tls)``, and ``{}`` is truthy in JavaScript): a server with it
    is refused for want of a key and certificate, and a client with it
    verifies the server against the system CAs instead of talking plaintext
    to a TLS server."""
    p = ctx.pki
    outcome = tls_outcome({}, DEFAULT)
    assert failed(outcome, "server refused config", IPCConfigError), outcome
    outcome = tls_outcome(serving(p), {})
    assert handshake_failed(outcome), outcome


# ---------------------------------------------------------------- the tests


def expected_keys() -> set[str]:
    """Every key a probe must exist for: the library's and node-ipc's."""
    return (
        set(CONFIG_KEYS)
        | {f"interface.{k}" for k in (*NODE_INTERFACE_KEYS, *_INTERFACE_KEYS)}
        | set(_ALIASES)
        | {f"tls.{k}" for k in _TLS_KEYS}
    )


def test_table_covers_every_key() -> None:
    """A key added to the config (or its interface/TLS sub-keys) without a
    probe here fails this test; so does a probe for a key that is gone."""
    assert set(PROBES) == expected_keys()
    assert {"interface.hints", "interface.lookup", "interfaces", "tls.checkServerIdentity"} <= set(
        PROBES
    )


@pytest.mark.parametrize("key", list(PROBES))
def test_key_acts_or_is_refused(key: str, ctx: Ctx) -> None:
    """Run ``key``'s probe: default and changed value, and the difference."""
    PROBES[key](ctx)


def test_probes_notice_a_key_that_does_nothing(ctx: Ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: with ``delimiter`` made inert (the encoder handed the
    default whatever the config says), its probe fails."""
    import fastipc._wire as wire

    original = wire._codec_args

    def inert(config: Any) -> dict[str, Any]:
        return {**original(config), "delimiter": "\f"}

    monkeypatch.setattr(wire, "_codec_args", inert)
    with pytest.raises(AssertionError):
        PROBES["delimiter"](ctx)
