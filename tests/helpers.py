"""What the test modules share: paths, timeouts, codec and loop switches,
recorders, peers and certificates.

Test modules import from here (``from .helpers import ...``), never from
each other; fixtures are in conftest.py. This module imports only the
standard library, pytest and fastipc at the top, so that the Windows lane
(tests/windows, Windows CPython under Wine) can import it too.

Run modes. fastipc runs on the caller's loop when called inside a running
asyncio or uvloop loop, and on its own background loop thread when called
from plain code. A test body written as ``async def body()`` runs in all
three (:func:`run_body`): under asyncio or uvloop it is a coroutine on that
loop; in the ``thread`` mode it is driven without any loop, so every fastipc
call in it is plain synchronous code served by the background thread. For
that to work a body awaits only the awaitables here (:meth:`Recorder.until`,
:func:`started`, :func:`closed`, :func:`stay_quiet`, :func:`off_loop`, ...):
each awaits on the running loop when there is one and blocks otherwise, so
it never suspends a body that runs without a loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import json
import os
import pathlib
import queue
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

import pytest

from fastipc import IPC, OMITTED

T = TypeVar("T")

# ---------------------------------------------------------------- paths and time

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
NODE_DIR = ROOT / "tests" / "interop" / "node"
EXAMPLES = ROOT / "examples"

#: Multiplies every timeout and quiet window; raise it on a slow machine.
SCALE = float(os.environ.get("FASTIPC_TEST_TIMEOUT_SCALE", "1"))

#: Upper bound (seconds) of a single wait for something that should happen.
#: Waits end as soon as it happens: this is only how long a failure takes.
WAIT = 10.0 * SCALE

#: How long (seconds) a test watches for something that must NOT happen (a
#: late event, a reconnect, a retry); the only fixed pause the tests take.
QUIET = 0.2 * SCALE


def flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to something other than 0."""
    return os.environ.get(name, "") not in ("", "0")


# ---------------------------------------------------------------- codecs

CODECS = ("cython", "python")
LOOPS = ("asyncio", "uvloop", "thread")


def load_impl(name: str) -> ModuleType:
    """Import one codec implementation by its id: ``cython`` or ``python``.

    The compiled one skips the test when it was not built, or fails it when
    ``FASTIPC_REQUIRE_EXTENSION`` is set.
    """
    if name == "python":
        return importlib.import_module("fastipc._framing_py")
    try:
        return importlib.import_module("fastipc._framing")
    except ImportError as exc:
        if flag("FASTIPC_REQUIRE_EXTENSION"):
            pytest.fail(f"the compiled codec is required but does not import: {exc}")
        pytest.skip(f"compiled codec not built: {exc}")


def use_codec(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    """Make every server and client created from now on in this process use
    codec ``name``: they build their codec objects through ``fastipc._wire``."""
    impl = load_impl(name)
    monkeypatch.setattr("fastipc._wire.EventDecoder", impl.EventDecoder)
    monkeypatch.setattr("fastipc._wire.EventEncoder", impl.EventEncoder)
    monkeypatch.setattr("fastipc._wire.encode_raw", impl.encode_raw)
    return impl


# ---------------------------------------------------------------- run modes


def loop_running() -> bool:
    """Whether this thread runs an event loop (else fastipc uses its own thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end without an event loop (the ``thread`` mode).

    Every await in it must finish without suspending: the awaitables of this
    module block instead when no loop runs.
    """
    try:
        step = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError(
        f"a thread-mode body awaited {step!r}, which needs a running loop; "
        "await the helpers' awaitables (tests/helpers.py) instead"
    )


def run_body(loop: str, body: Callable[[], Coroutine[Any, Any, T]], timeout: float = 3 * WAIT) -> T:
    """Run ``body()`` on ``loop``: ``asyncio``, ``uvloop`` or ``thread``."""
    if loop == "thread":
        return drive(body())
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return uvloop.run(asyncio.wait_for(body(), timeout))  # type: ignore[no-any-return]
    return asyncio.run(asyncio.wait_for(body(), timeout))


@dataclass(frozen=True)
class Mode:
    """One run mode of a test: the loop (``asyncio``, ``uvloop``, ``thread``)
    and the codec (``cython``, ``python``) its servers and clients use."""

    loop: str
    codec: str

    @property
    def thread(self) -> bool:
        """Whether fastipc runs on its background loop thread here."""
        return self.loop == "thread"

    def run(self, body: Callable[[], Coroutine[Any, Any, T]], timeout: float = 3 * WAIT) -> T:
        return run_body(self.loop, body, timeout)


def block(awaitable: Awaitable[T], timeout: float = WAIT) -> T:
    """Wait for a fastipc awaitable from plain code: on a loop of its own for
    the moment, since fastipc's awaitables work from any loop."""

    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, timeout)

    return asyncio.run(bounded())


async def _wait(awaitable: Awaitable[T], timeout: float) -> T:
    if loop_running():
        return await asyncio.wait_for(awaitable, timeout)
    return block(awaitable, timeout)


async def started(server: Any, timeout: float = WAIT) -> None:
    """Until ``server`` listens (from plain code ``start()`` already waited)."""
    await _wait(server.wait_started(), timeout)


async def connected(client: Any, timeout: float = WAIT) -> None:
    """Until ``client`` (``ipc.of[id]``) is connected."""
    await _wait(client.wait_connected(), timeout)


async def closed(closable: Any, timeout: float = WAIT) -> None:
    """Until a stopped server or a disconnected client has closed everything."""
    await _wait(closable.wait_closed(), timeout)


async def stay_quiet(seconds: float = QUIET) -> None:
    """Let ``seconds`` pass, for a check that something did NOT happen."""
    if loop_running():
        await asyncio.sleep(seconds)
    else:
        time.sleep(seconds)


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call (a plain socket read) without holding up the
    loop: in an executor thread when a loop runs, else right here."""
    if loop_running():
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
    return fn(*args)


async def ask(target: Any, *args: Any, timeout: float = WAIT, **kwargs: Any) -> Any:
    """``target.request(...)`` (a client, a server or a socket) in any run
    mode: awaited inside a loop, a plain blocking call from plain code."""
    result = target.request(*args, timeout=timeout, **kwargs)
    if loop_running():
        return await result
    return result


class Pending:
    """A fastipc coroutine started now and awaited later, in any mode: a
    task on the running loop, or a future on the background loop thread."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._task: asyncio.Future[Any] | concurrent.futures.Future[Any]
        if loop_running():
            self._task = asyncio.ensure_future(make())
        else:
            from fastipc._loop import background_loop

            assert background_loop.loop is not None, "nothing runs on the background loop"
            self._task = asyncio.run_coroutine_threadsafe(make(), background_loop.loop)

    def done(self) -> bool:
        return self._task.done()

    async def result(self, timeout: float = WAIT) -> Any:
        if isinstance(self._task, concurrent.futures.Future):
            return self._task.result(timeout)
        return await asyncio.wait_for(self._task, timeout)


# ---------------------------------------------------------------- IPC instances

#: For :func:`make_ipc`: leave this key at its default (no test setting either).
DEFAULT: Any = object()


def make_ipc(root: str | None = None, id: str | None = None, **config: Any) -> IPC:
    """An ``IPC`` with the tests' settings: silent, ``retry`` 30 ms, the
    socket root ``root`` and the id ``id`` when given, then ``config``.

    A key given as :data:`DEFAULT` stays at node-ipc's default.
    """
    settings: dict[str, Any] = {"silent": True, "retry": 30}
    if root is not None:
        settings["socketRoot"] = root
    if id is not None:
        settings["id"] = id
    settings.update(config)
    ipc = IPC()
    for key, value in settings.items():
        if value is not DEFAULT:
            ipc.config[key] = value
    return ipc


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """A port on ``host`` that nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def free_udp_port(host: str = "127.0.0.1") -> int:
    return free_port(host, socket.SOCK_DGRAM)


# ---------------------------------------------------------------- recording events


class Recorder:
    """``(name, args)`` recorded from handlers on any thread, in order.

    Waits are bounded and end as soon as the predicate holds: :meth:`wait`
    blocks the calling thread (never call it on the loop the handlers run
    on), :meth:`until` awaits in any run mode. Every record wakes them; a
    predicate that looks at state no handler records (``sock.destroyed``)
    is also re-checked every 50 ms.
    """

    #: How often a wait re-checks its predicate without a record (seconds).
    RECHECK = 0.05

    def __init__(self) -> None:
        self.items: list[tuple[str, tuple[Any, ...]]] = []
        self.changed = threading.Condition()
        self._wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def record(self, name: str, *args: Any) -> None:
        with self.changed:
            self.items.append((name, args))
            self.changed.notify_all()
            wakers = list(self._wakers)
        for loop, event in wakers:
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(event.set)

    def handler(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.record(name, *args)

        return record

    def watch(self, emitter: Any, *names: str) -> Recorder:
        for name in names:
            emitter.on(name, self.handler(name))
        return self

    def of(self, name: str) -> list[tuple[Any, ...]]:
        with self.changed:
            return [args for n, args in self.items if n == name]

    def names(self) -> list[str]:
        with self.changed:
            return [n for n, _ in self.items]

    def joined(self, name: str = "data") -> bytes:
        """The concatenation of the first argument of every ``name`` event."""
        return b"".join(args[0] for args in self.of(name))

    def _timed_out(self, what: Any) -> AssertionError:
        return AssertionError(f"timed out waiting for {what}; events: {self.names()[-20:]}")

    # blocking waits: plain code only

    def wait(self, predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timed_out(what or predicate)
                self.changed.wait(min(left, self.RECHECK))

    def wait_for(self, name: str, count: int = 1, timeout: float = WAIT) -> list[tuple[Any, ...]]:
        """Every ``name`` event's args, once there are at least ``count``."""
        self.wait(lambda: len(self.of(name)) >= count, timeout, f"{count} x {name!r}")
        return self.of(name)

    def first(self, name: str, timeout: float = WAIT) -> Any:
        """The first argument of the first ``name`` event, waiting for it."""
        return self.wait_for(name, 1, timeout)[0][0]

    def wait_bytes(self, expected: bytes, name: str = "data", timeout: float = WAIT) -> None:
        self.wait(
            lambda: len(self.joined(name)) >= len(expected), timeout, f"{len(expected)} bytes"
        )
        assert self.joined(name) == expected

    # awaitable waits: any run mode

    async def until(
        self, predicate: Callable[[], Any], timeout: float = WAIT, what: str = ""
    ) -> None:
        if not loop_running():
            self.wait(predicate, timeout, what)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waker = (loop, asyncio.Event())
        with self.changed:
            self._wakers.add(waker)
        try:
            while True:
                waker[1].clear()
                if predicate():
                    return
                left = deadline - loop.time()
                if left <= 0:
                    raise self._timed_out(what or predicate)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(waker[1].wait(), min(left, self.RECHECK))
        finally:
            with self.changed:
                self._wakers.discard(waker)

    async def arrived(
        self, name: str, count: int = 1, timeout: float = WAIT
    ) -> list[tuple[Any, ...]]:
        """:meth:`wait_for` in any run mode."""
        await self.until(lambda: len(self.of(name)) >= count, timeout, f"{count} x {name!r}")
        return self.of(name)

    async def until_bytes(self, expected: bytes, name: str = "data", timeout: float = WAIT) -> None:
        """:meth:`wait_bytes` in any run mode."""
        await self.until(
            lambda: len(self.joined(name)) >= len(expected), timeout, f"{len(expected)} bytes"
        )
        assert self.joined(name) == expected


def take(q: queue.Queue[T], timeout: float = WAIT) -> T:
    """The next item of ``q`` (handlers put them there), waiting for it."""
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"nothing arrived within {timeout} s") from None


def take_many(q: queue.Queue[T], count: int, timeout: float = WAIT, what: str = "items") -> list[T]:
    """The next ``count`` items of ``q`` within ``timeout`` in all."""
    got: list[T] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        try:
            got.append(q.get(timeout=max(deadline - time.monotonic(), 0.001)))
        except queue.Empty:
            raise AssertionError(
                f"{len(got)} of {count} {what} within {timeout} s (last: {got[-3:]!r})"
            ) from None
    return got


# ---------------------------------------------------------------- servers and clients from plain code


class Endpoint:
    """Where a server listens: a Unix socket by id under ``root``, or TCP."""

    def __init__(self, transport: str, root: str) -> None:
        self.transport = transport
        self.root = root
        self.host = "::1" if transport == "tcp6" else "127.0.0.1"
        self.port = free_port(self.host) if transport.startswith("tcp") else None

    def serve(self, ipc: IPC) -> Any:
        if self.port is not None:
            return ipc.serveNet(self.host, self.port)
        return ipc.serve()

    def connect(self, ipc: IPC, id: str, callback: Callable[[], None]) -> Any:
        if self.port is not None:
            return ipc.connectToNet(id, self.host, self.port, callback)
        return ipc.connectTo(id, callback)

    def node_spec(self) -> dict[str, Any]:
        if self.port is not None:
            return {"transport": "tcp", "host": self.host, "port": self.port}
        return {"transport": "unix", "path": None}


class Session:
    """Servers and clients opened by one test from plain code (the
    background loop thread), all closed by :meth:`close`."""

    def __init__(self, root: str, endpoint: Endpoint | None = None) -> None:
        self.root = root
        self.endpoint = endpoint or Endpoint("unix", root)
        self.servers: list[Any] = []
        self.clients: list[tuple[IPC, str]] = []

    def server(self, id: str = "srv", **config: Any) -> tuple[IPC, Any, Recorder]:
        """A started server recording connect/error/socket.disconnected."""
        ipc = make_ipc(self.root, id=id, **config)
        server = self.endpoint.serve(ipc)
        sockets = Recorder().watch(server, "connect", "error", "socket.disconnected")
        server.start()
        self.servers.append(server)
        return ipc, server, sockets

    def client(
        self,
        id: str = "srv",
        setup: Callable[[Any], None] | None = None,
        wait: bool = True,
        **config: Any,
    ) -> tuple[IPC, Any, Recorder]:
        """A client of server ``id``; ``setup(client)`` runs in connectTo's callback."""
        ipc = make_ipc(self.root, **config)
        got = Recorder()

        def connecting() -> None:
            got.watch(ipc.of[id], "connect", "disconnect", "destroy", "error")
            if setup is not None:
                setup(ipc.of[id])

        self.endpoint.connect(ipc, id, connecting)
        self.clients.append((ipc, id))
        if wait:
            got.wait(lambda: bool(got.of("connect")), what="connect")
        return ipc, ipc.of[id], got

    def close(self) -> None:
        for ipc, id in self.clients:
            ipc.disconnect(id)
        for server in self.servers:
            server.stop()


@contextlib.contextmanager
def session(root: str, transport: str = "unix") -> Iterator[Session]:
    opened = Session(root, Endpoint(transport, root))
    try:
        yield opened
    finally:
        opened.close()


#: How long :class:`DelayedAnswers` waits before answering (seconds).
ANSWER_DELAY = 0.002


class DelayedAnswers:
    """A server behaviour: answer ``req`` with ``ack`` after
    :data:`ANSWER_DELAY`, recording the order requests came in and the most
    that were unanswered at once (a ``sync`` client keeps that at 1)."""

    def __init__(self, server: Any) -> None:
        self.received: list[Any] = []
        self.in_flight = 0
        self.max_in_flight = 0
        server.on("req", self.request)

    def request(self, data: Any, sock: Any) -> None:
        # handlers run on the loop thread: the timer runs there too
        self.received.append(data)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

        def answer() -> None:
            self.in_flight -= 1
            sock.emit("ack", data)

        asyncio.get_running_loop().call_later(ANSWER_DELAY, answer)


# ---------------------------------------------------------------- hostile peers

#: Bytes that a text or framed transport would mangle: invalid UTF-8, NUL,
#: the default delimiter, a lone continuation byte, a truncated sequence.
HOSTILE_BYTES = b"\x00\x0c\xff\xfe\x80\x0c\x0c\xc3(\xe2\x82\x00end\f"

#: The small limits the guarded servers and clients of the profile tests use
#: (messageTimeout in ms, scaled as the waits are).
LIMITS: dict[str, Any] = {
    "parser": "guarded",
    "maxMessageSize": 4096,
    "maxEventNameLength": 16,
    "messageTimeout": round(200 * SCALE),
}


def frame(type: str, data: str = '"x"') -> bytes:
    """One frame by hand: ``data`` is JSON text."""
    return b'{"type":"' + type.encode() + b'","data":' + data.encode() + b"}\f"


#: (id, bytes a hostile peer sends and then holds open, the code a guarded
#: end with :data:`LIMITS` reports)
HOSTILE = [
    ("bad-json", b'{"type":"seq","data":}\f', "ERR_IPC_INVALID_JSON"),
    ("json-array", b"[1,2]\f", "ERR_IPC_INVALID_MESSAGE"),
    ("json-string", b'"seq"\f', "ERR_IPC_INVALID_MESSAGE"),
    ("missing-type", b'{"data":1}\f', "ERR_IPC_INVALID_EVENT"),
    ("empty-type", frame(""), "ERR_IPC_INVALID_EVENT"),
    ("number-type", b'{"type":7,"data":1}\f', "ERR_IPC_INVALID_EVENT"),
    ("unsafe-name", frame("__proto__"), "ERR_IPC_INVALID_EVENT"),
    ("long-name", frame("e" * 17), "ERR_IPC_EVENT_TOO_LARGE"),
    ("reserved-connect", frame("connect"), "ERR_IPC_RESERVED_EVENT"),
    ("reserved-error", frame("error"), "ERR_IPC_RESERVED_EVENT"),
    ("reserved-data", frame("data"), "ERR_IPC_RESERVED_EVENT"),
    ("oversize-complete", frame("seq", '"' + "x" * 5000 + '"'), "ERR_IPC_FRAME_TOO_LARGE"),
    ("oversize-unfinished", b'{"type":"seq","data":"' + b"x" * 5000, "ERR_IPC_FRAME_TOO_LARGE"),
    ("never-ends", b'{"type":"seq","data":1', "ERR_IPC_MESSAGE_TIMEOUT"),
]


class RawPeer:
    """A plain blocking socket speaking no protocol at all: the hostile peer.

    Its reads block: inside a running loop call them through :func:`off_loop`.
    """

    def __init__(self, address: Any, read: bool = True) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if not read:  # as small a receive buffer as the kernel allows
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(WAIT)
        try:
            self.sock.connect(address)
        except OSError:
            self.sock.close()
            raise

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until_closed(self, timeout: float = WAIT) -> bytes:
        """Everything the other end sent, once it has closed the connection."""
        got = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return bytes(got)
            except TimeoutError:
                raise AssertionError(
                    f"the connection stayed open ({len(got)} bytes read)"
                ) from None
            if not chunk:
                return bytes(got)
            got += chunk

    def read_exactly(self, size: int, timeout: float = WAIT) -> bytes:
        """``size`` bytes (fewer only if the other end closes first)."""
        got = bytearray()
        deadline = time.monotonic() + timeout
        while len(got) < size:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(min(size - len(got), 1 << 20))
            except TimeoutError:
                raise AssertionError(f"{len(got)} of {size} bytes arrived") from None
            if not chunk:
                break
            got += chunk
        return bytes(got)

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------- TLS


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
    """Write a CA, server and client certificates (and a rogue set) as PEM
    files made by trustme (skips the test when trustme is missing)."""
    trustme = pytest.importorskip("trustme")
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


class TLSEchoServer:
    """A TLS server on port 0 answering ``message`` with data + ' world!';
    ``with`` from plain code, ``async with`` in any run mode. Yields
    ``(ipc, recorder, port)``; the recorder also gets ``handshake``
    ``(TLS version, peer certificate)`` at each ``connect``."""

    def __init__(self, tls: Any, host: str = "127.0.0.1", **config: Any) -> None:
        self.ipc = make_ipc(tls=tls, retry=50, **config)
        self.rec = Recorder()
        self.server = self.ipc.serveNet(host, 0)
        rec, server = self.rec, self.server

        def connected(sock: Any) -> None:
            # Recorded at 'connect': the handshake must be complete by now.
            transport = sock._conn.transport
            ssl_object = transport.get_extra_info("ssl_object")
            rec.record(
                "handshake",
                ssl_object.version() if ssl_object else None,
                transport.get_extra_info("peercert"),
            )

        server.on("connect", connected)
        rec.watch(server, "connect", "error", "socket.disconnected", "data")

        @server.on("message")
        def message(data: Any, sock: Any) -> None:
            rec.record("message", data)
            server.emit(sock, "message", f"{data} world!")

    def _opened(self) -> tuple[IPC, Recorder, int]:
        return self.ipc, self.rec, self.server.port  # the port it got for port 0

    def __enter__(self) -> tuple[IPC, Recorder, int]:
        self.server.start()
        return self._opened()

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def __aenter__(self) -> tuple[IPC, Recorder, int]:
        self.server.start()
        try:
            await started(self.server)
        except BaseException:
            self.server.stop()
            raise
        return self._opened()

    async def __aexit__(self, *exc: object) -> None:
        self.server.stop()
        await closed(self.server)


class TLSClient:
    """A TLS client connecting to ``host:port`` as ``ipc.of[id]``, recording
    its lifecycle, ``message`` and ``data``; disconnected on exit, and
    closed before the exit returns. ``with`` or ``async with``, as
    :class:`TLSEchoServer`; yields ``(ipc, recorder)``."""

    def __init__(
        self, tls: Any, port: int, host: str = "127.0.0.1", id: str = "world", **config: Any
    ) -> None:
        self.ipc = make_ipc(tls=tls, retry=50, **config)
        self.rec = Recorder()
        self.args = (id, host, port)

    def _open(self) -> tuple[IPC, Recorder]:
        id, host, port = self.args
        ipc, rec = self.ipc, self.rec

        def registered() -> None:
            rec.watch(ipc.of[id], "connect", "disconnect", "destroy", "error", "message", "data")

        ipc.connectToNet(id, host, port, registered)
        self.client = ipc.of[id]
        return ipc, rec

    def __enter__(self) -> tuple[IPC, Recorder]:
        return self._open()

    def __exit__(self, *exc: object) -> None:
        self.ipc.disconnect(self.args[0])
        block(self.client.wait_closed())

    async def __aenter__(self) -> tuple[IPC, Recorder]:
        return self._open()

    async def __aexit__(self, *exc: object) -> None:
        self.ipc.disconnect(self.args[0])
        await closed(self.client)


# ---------------------------------------------------------------- child processes


def python_env(codec: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a Python child process.

    The child imports fastipc as installed in this interpreter's environment
    (nothing here puts src/ on PYTHONPATH, where no compiled codec is built).
    ``codec`` picks the child's codec: ``python`` sets FASTIPC_NO_EXTENSIONS=1,
    ``cython`` clears it (and skips when the compiled codec is not built),
    ``None`` leaves the parent's choice.
    """
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    if codec == "python":
        env["FASTIPC_NO_EXTENSIONS"] = "1"
    elif codec == "cython":
        load_impl("cython")
        env.pop("FASTIPC_NO_EXTENSIONS", None)
    elif codec is not None:
        raise ValueError(f"unknown codec {codec!r}")
    env.update(extra)
    return env


#: A Python line that prints the codec the process loaded, for
#: :func:`assert_codec`: ``codec cython`` or ``codec python``.
PRINT_CODEC = "import fastipc.framing as _f; print('codec', _f.IMPLEMENTATION, flush=True)"


def assert_codec(line: str, codec: str) -> None:
    """``line`` is what :data:`PRINT_CODEC` printed in a child meant to run ``codec``."""
    assert line.strip() == f"codec {codec}", f"the child should run the {codec} codec: {line!r}"


def codec_params(*roles: str) -> list[Any]:
    """``pytest.param``s of one codec per role, every combination, with ids
    such as ``server-cython-client-python`` (role-codec pairs)."""
    combos: list[tuple[str, ...]] = [()]
    for _ in roles:
        combos = [(*c, codec) for c in combos for codec in CODECS]
    return [
        pytest.param(*c, id="-".join(f"{r}-{k}" for r, k in zip(roles, c, strict=True)))
        for c in combos
    ]


def client_process_script(root: str, id: str) -> str:
    """Python code for a client process that prints its codec
    (:data:`PRINT_CODEC`), connects to ``id`` under ``root``, emits ``bye``
    and disconnects once the server answers ``ok``."""
    return (
        PRINT_CODEC
        + "\n"
        + textwrap.dedent(
            f"""
        from fastipc import IPC
        ipc = IPC()
        ipc.config.silent = True
        ipc.config.socketRoot = {root!r}
        ipc.config.maxRetries = 0
        def connected():
            ipc.of[{id!r}].on("connect", lambda: ipc.of[{id!r}].emit("bye"))
            ipc.of[{id!r}].on("ok", lambda data: ipc.disconnect({id!r}))
        ipc.connectTo({id!r}, connected)
        """
        )
    )


class Process:
    """A child process whose stdout and stderr lines are read as they come.

    Use it as a context manager: on exit the process is killed if still
    running, reaped, and its pipes closed. A Python child gets
    :func:`python_env` unless ``env`` is given.
    """

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env if env is not None else python_env(),
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._lines: dict[str, queue.Queue[str | None]] = {
            "out": queue.Queue(),
            "err": queue.Queue(),
        }
        self._readers = [
            threading.Thread(
                target=self._read, args=(self.proc.stdout, "out", self.out), daemon=True
            ),
            threading.Thread(
                target=self._read, args=(self.proc.stderr, "err", self.err), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: Any, name: str, lines: list[str]) -> None:
        for line in pipe:
            line = line.rstrip("\n")
            lines.append(line)
            self._lines[name].put(line)
        self._lines[name].put(None)

    def expect(self, pattern: str, stream: str = "out", timeout: float = 2 * WAIT) -> re.Match[str]:
        """Wait for the next line of ``stream`` matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines[stream].get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout} s: {self.report()}"
                ) from None
            if line is None:
                self._lines[stream].put(None)
                raise AssertionError(f"{stream} ended before {pattern!r}: {self.report()}")
            match = re.search(pattern, line)
            if match:
                return match

    def wait(self, timeout: float = 2 * WAIT) -> int:
        """Wait for the process to end; then every line has been read."""
        code = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    def signal(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.wait()

    def events(self) -> list[dict[str, Any]]:
        """The JSON lines of stdout (a Node peer also prints "listening")."""
        return [json.loads(line) for line in self.out if line.startswith("{")]

    def report(self) -> str:
        return f"{self.args}\nstdout: {self.out}\nstderr: {self.err}"

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.kill()
            self.wait()
        finally:
            self.proc.stdout.close()  # type: ignore[union-attr]
            self.proc.stderr.close()  # type: ignore[union-attr]


def example(name: str, *args: str) -> Process:
    """``examples/<name>`` run as a child process."""
    return Process([sys.executable, str(EXAMPLES / name), *args])


# ---------------------------------------------------------------- frame tables

#: (id, event type, Python value, the same value as JavaScript source): the
#: frame parity cases, compared with what node-ipc writes.
FRAME_CASES = [
    ("string", "message", "hello", "'hello'"),
    ("omitted", "ping", OMITTED, None),
    ("null", "x", None, "null"),
    ("true", "x", True, "true"),
    ("false", "x", False, "false"),
    ("empty-string", "x", "", "''"),
    ("non-ascii", "x", "héllo wörld ñ 中文 Ελληνικά", "'héllo wörld ñ 中文 Ελληνικά'"),
    ("emoji", "x", "😀🎉👩‍👩‍👧", "'😀🎉👩‍👩‍👧'"),
    (
        "controls",
        "x",
        "".join(map(chr, range(0x20))) + "\x7f\x80\x9f",
        "Array.from({length: 32}, (_, i) => String.fromCharCode(i)).join('') + '\\x7f\\x80\\x9f'",
    ),
    (
        "quotes",
        "x",
        'say "hi" \\ back\\slash / </script>',
        "'say \"hi\" \\\\ back\\\\slash / </script>'",
    ),
    ("delimiter-char", "x", "a\fb\f", "'a\\fb\\f'"),
    ("line-separators", "x", "\u2028\u2029", "'\\u2028\\u2029'"),
    ("lone-high", "x", "\ud800", "'\\ud800'"),
    ("lone-low-mid", "x", "a\udfffb", "'a\\udfffb'"),
    ("reversed-pair", "x", "\udc00\ud800", "'\\udc00\\ud800'"),
    ("pair", "x", "\ud83d\ude00", "'\\ud83d\\ude00'"),
    ("zero", "x", 0, "0"),
    ("negative", "x", -1, "-1"),
    ("int32", "x", 2**31, "2 ** 31"),
    ("max-safe", "x", 2**53, "2 ** 53"),
    ("min-safe", "x", -(2**53), "-(2 ** 53)"),
    ("float-1e21", "x", 1e21, "1e21"),
    ("float-1e-7", "x", 1e-7, "1e-7"),
    ("float-sum", "x", 0.1 + 0.2, "0.1 + 0.2"),
    ("float-neg-zero", "x", -0.0, "-0"),
    ("float-one", "x", 1.0, "1.0"),
    ("float-1e16", "x", 1e16, "1e16"),
    ("float-1e20", "x", 1e20, "1e20"),
    ("float-big-int", "x", 123456789012345680000.0, "123456789012345680000"),
    ("float-1e-6", "x", 1e-6, "1e-6"),
    ("float-1.5e-7", "x", 1.5e-7, "1.5e-7"),
    ("float-tiny", "x", 5e-324, "5e-324"),
    ("float-max", "x", 1.7976931348623157e308, "1.7976931348623157e308"),
    ("float-plain", "x", -123.456, "-123.456"),
    ("nan", "x", float("nan"), "NaN"),
    ("infinity", "x", float("inf"), "Infinity"),
    ("neg-infinity", "x", [float("-inf")], "[-Infinity]"),
    ("empty-list", "x", [], "[]"),
    ("empty-dict", "x", {}, "({})"),
    (
        "nested",
        "x",
        {"a": [1, {"b": None, "c": [True, False, "s"]}], "d": {"e": {"f": 1.5}}},
        "({a: [1, {b: null, c: [true, false, 's']}], d: {e: {f: 1.5}}})",
    ),
    ("tuple", "x", (1, "two", 3.0), "[1, 'two', 3.0]"),
    ("bytes", "x", b"\x00\x01\x7f\x80\xff", "Buffer.from([0, 1, 127, 128, 255])"),
    ("bytes-nested", "x", {"blob": bytearray(b"hi")}, "({blob: Buffer.from('hi')})"),
    ("int-keys", "x", {2: "b", "k": 0, 1: "a"}, "({2: 'b', k: 0, 1: 'a'})"),
    (
        "index-like-keys",
        "x",
        {"b": 1, "10": 2, "01": 3, "3": 4},
        "({b: 1, '10': 2, '01': 3, '3': 4})",
    ),
    ("scalar-keys", "x", {True: 1, None: 2, 1.5: 3}, "({true: 1, null: 2, 1.5: 3})"),
    ("unicode-type", "ünïcödé-😀", "v", "'v'"),
    ("dotted-type", "app.event:v2", [1], "[1]"),
]

#: (frame without its delimiter, the code the fast and guarded profiles report)
BAD_FRAMES = [
    (b"", "ERR_IPC_INVALID_JSON"),
    (b"{", "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":"x"', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":"\xff"}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"\xc3","data":1}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":"\xed\xa0\x80"}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":"tab\there"}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":NaN}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":Infinity}', "ERR_IPC_INVALID_JSON"),
    (b'{"type":"a","data":01}', "ERR_IPC_INVALID_JSON"),
    (b"\xef\xbb\xbf{}", "ERR_IPC_INVALID_JSON"),
    (b"[" * 100000, "ERR_IPC_INVALID_JSON"),
    (b"[1,2]", "ERR_IPC_INVALID_MESSAGE"),
    (b"5", "ERR_IPC_INVALID_MESSAGE"),
    (b'"type"', "ERR_IPC_INVALID_MESSAGE"),
    (b"null", "ERR_IPC_INVALID_MESSAGE"),
    (b"{}", "ERR_IPC_INVALID_EVENT"),
    (b'{"data":1}', "ERR_IPC_INVALID_EVENT"),
    (b'{"type":"","data":1}', "ERR_IPC_INVALID_EVENT"),
    (b'{"type":5,"data":1}', "ERR_IPC_INVALID_EVENT"),
    (b'{"type":null}', "ERR_IPC_INVALID_EVENT"),
    (b'{"type":["a"]}', "ERR_IPC_INVALID_EVENT"),
]
