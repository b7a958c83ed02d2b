"""The guarded and assured parser profiles on live connections.

A hostile peer (a plain Python socket here; plain ``node:net`` in
tests/interop/test_modes_interop.py) breaks one rule; the server closes that
connection only, reports an ``error`` event whose ``code`` names the rule,
and a good client of the same server exchanges a counted sequence before,
during and after without losing or reordering anything. A guarded client
facing a hostile server reports the code and does not reconnect, as
node-ipc's ``protocolViolation`` rule says.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from fastipc import IPCConfigError, IPCNotConnectedError, IPCProtocolError, SocketRootError
from fastipc.errors import (
    EventNotAllowedError,
    EventTooLargeError,
    FrameTooLargeError,
    InvalidEventError,
    ReservedEventError,
)

from .helpers import (
    HOSTILE,
    LIMITS,
    QUIET,
    WAIT,
    RawPeer,
    Recorder,
    Session,
    frame,
    make_ipc,
    session,
)

#: LIMITS' messageTimeout in seconds, and a pause well inside it: the test
#: below sends a frame in parts this far apart, and none may time out.
MESSAGE_TIMEOUT = LIMITS["messageTimeout"] / 1000
WITHIN_TIMEOUT = MESSAGE_TIMEOUT * 0.3


# ---------------------------------------------------------------- helpers


class Sequence:
    """A good client's counted exchange: ``seq`` n out, the same n echoed back."""

    def __init__(self, client: Any, got: Recorder) -> None:
        self.client = client
        self.got = got
        self.sent = 0

    def send(self, count: int) -> None:
        for _ in range(count):
            self.client.emit("seq", self.sent)
            self.sent += 1

    def settle(self) -> None:
        self.got.wait(lambda: len(self.got.of("seq")) >= self.sent, what=f"{self.sent} echoes")
        assert [args[0] for args in self.got.of("seq")] == list(range(self.sent))
        assert not self.got.of("error") and not self.got.of("disconnect")


def guarded_server(s: Session, **config: Any) -> tuple[Any, Recorder, list[Any]]:
    """A guarded server echoing ``seq``; returns it, its recorder, and the
    ``(data, socket)`` of every ``seq`` it received."""
    _, server, events = s.server(**{**LIMITS, **config})
    seen: list[Any] = []

    def echo(data: Any, sock: Any) -> None:
        seen.append((data, sock))
        sock.emit("seq", data)

    server.on("seq", echo)
    return server, events, seen


def good_client(s: Session, **config: Any) -> tuple[Sequence, Any]:
    got = Recorder()
    _, client, _ = s.client(setup=lambda c: got.watch(c, "seq", "error", "disconnect"), **config)
    return Sequence(client, got), client


def assert_protocol_error(events: Recorder, code: str) -> IPCProtocolError:
    events.wait(lambda: bool(events.of("error")), what=code)
    error = events.first("error")
    assert isinstance(error, IPCProtocolError), error
    assert error.code == code, (error.code, str(error))
    return error


# ---------------------------------------------------------------- guarded server


@pytest.mark.parametrize(("payload", "code"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_guarded_server_closes_only_the_hostile_connection(codec, root, payload, code):
    with session(root) as s:
        server, events, seen = guarded_server(s)
        good, _ = good_client(s)
        good.send(10)
        good.settle()
        hostile = RawPeer(server.path)
        try:
            events.wait(lambda: len(events.of("connect")) == 2)
            sent = time.monotonic()
            hostile.send(payload)
            good.send(10)  # during
            error = assert_protocol_error(events, code)
            waited = time.monotonic() - sent
            assert hostile.read_until_closed() == b""
            events.wait(lambda: len(events.of("socket.disconnected")) == 1)
            assert events.of("socket.disconnected")[0][0] is events.of("connect")[1][0]
            assert len(events.of("error")) == 1, events.of("error")
            assert str(error)  # a message that says what was wrong
            if code == "ERR_IPC_MESSAGE_TIMEOUT":  # not before messageTimeout
                assert waited >= MESSAGE_TIMEOUT * 0.75, waited
        finally:
            hostile.close()
        good.send(10)  # after
        good.settle()
        assert [data for data, _ in seen] == list(range(30))
        assert len(server.sockets) == 1


def test_good_frames_before_the_bad_one_are_delivered(codec, root):
    """Frames that arrived whole before the bad one, in the same read, are
    dispatched (and answered) before the connection closes."""
    with session(root) as s:
        server, events, seen = guarded_server(s)
        hostile = RawPeer(server.path)
        try:
            hostile.send(frame("seq", "1") + frame("seq", "2") + b"[]\f" + frame("seq", "3"))
            assert hostile.read_until_closed() == frame("seq", "1") + frame("seq", "2")
        finally:
            hostile.close()
        assert_protocol_error(events, "ERR_IPC_INVALID_MESSAGE")
        assert [data for data, _ in seen] == [1, 2]


def test_message_timeout_spares_frames_that_finish_in_time(root):
    """A frame split over reads that finishes within messageTimeout is fine;
    the timer starts with the first unfinished byte and stops when the
    buffer is empty; messageTimeout=0 turns it off."""
    with session(root) as s:
        server, events, seen = guarded_server(s)
        _, lax, lax_events = s.server(id="lax", **{**LIMITS, "messageTimeout": 0})
        lax_seen: list[Any] = []
        lax.on("seq", lambda data, sock: lax_seen.append(data))
        hostile = RawPeer(server.path)
        patient = RawPeer(lax.path)
        try:
            whole = frame("seq", "1")
            for _ in range(3):
                hostile.send(whole[:5])
                time.sleep(WITHIN_TIMEOUT)
                hostile.send(whole[5:])
                time.sleep(WITHIN_TIMEOUT)
            patient.send(whole[:5])
            time.sleep(2 * MESSAGE_TIMEOUT)  # twice the other server's messageTimeout
            patient.send(whole[5:])
            lax_events.wait(lambda: bool(lax_seen))
            assert [data for data, _ in seen] == [1, 1, 1]
            assert not events.of("error") and not lax_events.of("error")
        finally:
            hostile.close()
            patient.close()


@pytest.mark.parametrize("limit", [256 * 1024, None], ids=["256KiB", "default-8MiB"])
def test_reader_that_never_reads_loses_its_connection(root, limit):
    """maxPendingBytes bounds each socket's outbound queue: a client that never
    reads is closed with ERR_IPC_BACKPRESSURE; a broadcast from a producer
    thread does not block on it, and the good client, which the producer
    paces itself on (a window of 8 messages), loses nothing."""
    config = {} if limit is None else {"maxPendingBytes": limit}
    chunk = "x" * 16384
    with session(root) as s:
        server, events, _ = guarded_server(s, maxMessageSize=1 << 20, **config)
        good, _ = good_client(s)
        good_bulk = Recorder().watch(good.client, "bulk")
        hostile = RawPeer(server.path, read=False)
        try:
            events.wait(lambda: len(events.of("connect")) == 2)
            count = 0
            deadline = time.monotonic() + WAIT
            producer_blocked = threading.Event()
            failures: list[AssertionError] = []

            def produce() -> None:
                nonlocal count
                try:
                    while not events.of("error") and time.monotonic() < deadline:
                        server.broadcast("bulk", [count, chunk])
                        count += 1
                        good_bulk.wait(
                            lambda behind=count - 8: len(good_bulk.items) >= behind,
                            max(deadline - time.monotonic(), 0),
                            "the good client within 8 messages",
                        )
                except AssertionError as exc:
                    failures.append(exc)
                finally:
                    producer_blocked.set()

            thread = threading.Thread(target=produce)
            thread.start()
            thread.join(WAIT + 1)
            assert producer_blocked.is_set() and not thread.is_alive()
            assert not failures, failures
            assert_protocol_error(events, "ERR_IPC_BACKPRESSURE")
            assert count * len(chunk) >= (limit or 8 << 20) * 0.9
            events.wait(lambda: bool(events.of("socket.disconnected")))
            assert events.of("socket.disconnected")[0][0] is events.of("connect")[1][0]
            good_bulk.wait(lambda: len(good_bulk.of("bulk")) == count, what=f"{count} bulk")
            assert [args[0][0] for args in good_bulk.of("bulk")] == list(range(count))
        finally:
            hostile.close()
        good.send(5)
        good.settle()


def test_emit_side_rules_raise_at_once(root):
    """What a guarded end would refuse to receive it refuses to send."""
    with session(root) as s:
        server, events, _ = guarded_server(s)
        _, client = good_client(s, **LIMITS)
        sock = events.first("connect")
        cases = [
            (("connect",), ReservedEventError),
            (("e" * 17,), EventTooLargeError),
            (("seq", "x" * 5000), FrameTooLargeError),
            (("",), InvalidEventError),
        ]
        for args, error in cases:
            with pytest.raises(error):
                client.emit(*args)
            with pytest.raises(error):
                server.emit(sock, *args)
            with pytest.raises(error):
                server.broadcast(*args)
        assert client.connected and not events.of("error")


def test_allow_reserved_events(root):
    """guarded with allowReservedEvents=True lets lifecycle names through."""
    with session(root) as s:
        _, server, events = s.server(**LIMITS, allowReservedEvents=True)
        got = Recorder().watch(server, "data")
        hostile = RawPeer(server.path)
        try:
            hostile.send(frame("data", "5"))
            got.wait(lambda: bool(got.of("data")))
            assert got.first("data") == 5
            assert not events.of("error")
        finally:
            hostile.close()


# ---------------------------------------------------------------- guarded client


@contextlib.contextmanager
def hostile_server(path: str, payload: bytes, read: bool = True) -> Iterator[dict[str, Any]]:
    """A plain socket server writing ``payload`` to every connection it accepts
    (in a thread); yields ``{"accepted": n}``."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(0.05)
    state: dict[str, Any] = {"accepted": 0, "conns": []}
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if not read:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            state["accepted"] += 1
            state["conns"].append(conn)
            if payload:
                conn.sendall(payload)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(WAIT)
        listener.close()
        for conn in state["conns"]:
            conn.close()


CLIENT_CASES = [
    c
    for c in HOSTILE
    if c[0]
    in (
        "bad-json",
        "json-array",
        "missing-type",
        "reserved-connect",
        "oversize-unfinished",
        "never-ends",
    )
]


@pytest.mark.parametrize(
    ("payload", "code"), [c[1:] for c in CLIENT_CASES], ids=[c[0] for c in CLIENT_CASES]
)
def test_guarded_client_facing_a_hostile_server(codec, root, payload, code):
    path = root + "hostile"
    with hostile_server(path, payload) as state:
        ipc = make_ipc(root, **LIMITS, retry=20)
        got = Recorder()
        ipc.connectTo(
            "evil",
            path,
            lambda: got.watch(ipc.of.evil, "connect", "error", "disconnect", "destroy"),
        )
        client = ipc.of.evil
        try:
            got.wait(lambda: bool(got.of("destroy")), what="destroy")
            error = got.first("error")
            assert isinstance(error, IPCProtocolError) and error.code == code
            assert got.names() == ["connect", "error", "disconnect", "destroy"]
            assert client.protocolViolation and client.destroyed
            time.sleep(QUIET)  # several retry periods: no reconnect follows
            assert state["accepted"] == 1
        finally:
            ipc.disconnect("evil")


def test_guarded_client_facing_a_server_that_never_reads(root):
    path = root + "deaf"
    with hostile_server(path, b"", read=False) as state:
        ipc = make_ipc(
            root, **{**LIMITS, "maxMessageSize": 1 << 20}, maxPendingBytes=128 * 1024, retry=20
        )
        got = Recorder()
        ipc.connectTo(
            "deaf",
            path,
            lambda: got.watch(ipc.of.deaf, "connect", "error", "disconnect", "destroy"),
        )
        client = ipc.of.deaf
        try:
            got.wait(lambda: bool(got.of("connect")))
            deadline = time.monotonic() + WAIT
            while not got.of("error") and time.monotonic() < deadline:
                try:
                    client.emit("bulk", "x" * 16384)
                except (IPCProtocolError, IPCNotConnectedError):
                    break  # destroyed between the check and the emit
            got.wait(lambda: bool(got.of("destroy")), what="destroy")
            assert got.first("error").code == "ERR_IPC_BACKPRESSURE"
            time.sleep(QUIET)  # several retry periods: no reconnect follows
            assert state["accepted"] == 1
        finally:
            ipc.disconnect("deaf")


# ---------------------------------------------------------------- assured


ASSURED = {"parser": "assured", "allowedEvents": ["seq", "hello"]}


@pytest.mark.parametrize("allowed", [False, [], set()])
def test_assured_requires_allowed_events(root, allowed):
    ipc = make_ipc(root, id="srv", parser="assured", allowedEvents=allowed)
    with pytest.raises(IPCConfigError, match="allowedEvents"):
        ipc.serve()
    with pytest.raises(IPCConfigError, match="allowedEvents"):
        ipc.connectTo("srv")
    assert ipc.server is None and not ipc.of


def test_assured_allow_list_applies_to_sent_and_received(codec, root):
    with session(root) as s:
        _, server, events = s.server(**ASSURED)
        seen: list[Any] = []
        server.on("seq", lambda data, sock: (seen.append(data), sock.emit("seq", data)))
        got = Recorder()
        _, client, _ = s.client(
            **ASSURED, setup=lambda c: got.watch(c, "seq", "error", "disconnect")
        )
        good = Sequence(client, got)
        good.send(5)
        good.settle()
        sock = events.first("connect")
        # sent: refused before anything is written
        for emit in (lambda: client.emit("other", 1), lambda: server.emit(sock, "other", 1)):
            with pytest.raises(EventNotAllowedError) as caught:
                emit()
            assert caught.value.code == "ERR_IPC_EVENT_NOT_ALLOWED"
        with pytest.raises(EventNotAllowedError):
            server.broadcast("other")
        # assured always rejects reserved names, allowed or not
        reserved = make_ipc(
            root, parser="assured", allowedEvents=["error"], allowReservedEvents=True
        )
        with pytest.raises(ReservedEventError):
            reserved.serve(root + "app.x").broadcast("error")
        # received: a peer that sends it loses its connection
        hostile = RawPeer(server.path)
        try:
            hostile.send(frame("seq", "100") + frame("other"))
            assert hostile.read_until_closed() == frame("seq", "100")
        finally:
            hostile.close()
        assert_protocol_error(events, "ERR_IPC_EVENT_NOT_ALLOWED")
        # a fast client sending a name the assured server does not allow
        _, loose, loose_got = s.client()
        loose.emit("hello", 1)
        loose.emit("nope", 2)
        loose_got.wait(lambda: bool(loose_got.of("disconnect")))
        events.wait(lambda: len(events.of("error")) == 2)
        assert events.of("error")[1][0].code == "ERR_IPC_EVENT_NOT_ALLOWED"
        good.send(5)
        good.settle()
        assert seen == [*range(5), 100, *range(5, 10)]


def test_assured_client_refuses_a_server_sending_what_is_not_allowed(root):
    path = root + "wrong"
    with hostile_server(path, frame("hello") + frame("seq", "1")) as state:
        ipc = make_ipc(root, parser="assured", allowedEvents=["hello"], retry=20)
        got = Recorder()
        ipc.connectTo("w", path, lambda: got.watch(ipc.of.w, "hello", "error", "destroy"))
        try:
            got.wait(lambda: bool(got.of("destroy")))
            assert got.of("hello") == [("x",)]  # the allowed event before it was delivered
            assert got.first("error").code == "ERR_IPC_EVENT_NOT_ALLOWED"
            assert state["accepted"] == 1
        finally:
            ipc.disconnect("w")


def test_assured_local_socket_must_sit_in_a_secure_root(root):
    """An assured local server binds only directly inside a secure socketRoot."""
    os.mkdir(root + "sub")
    outside = root.rstrip("/") + "-out"
    cases = [
        ({}, root + "sub/deep"),  # not directly inside
        ({}, outside),  # not inside at all
        ({"secureSocketRoot": False}, None),  # by id, but the root is not secured
    ]
    for extra, path in cases:
        ipc = make_ipc(root, id="srv", **ASSURED, **extra)
        server = ipc.serve(path) if path else ipc.serve()
        with pytest.raises(SocketRootError) as caught:
            server.start()
        assert caught.value.code == "ERR_IPC_SOCKET_ROOT"
        assert not server.listening
        assert not os.path.exists(server.path)
    # directly inside the secure root it serves, and the root is owner-only
    with session(root) as s:
        _, server, _ = s.server(**ASSURED)
        assert server.listening and os.path.dirname(server.path) + "/" == root
        assert os.stat(root).st_mode & 0o077 == 0


def test_assured_over_a_local_socket_end_to_end(root):
    """Both ends assured on a local socket: allowed events flow both ways."""
    with session(root) as s:
        _, server, _ = s.server(**ASSURED)
        server.on("hello", lambda data, sock: sock.emit("hello", data + "!"))
        got = Recorder()
        _, client, _ = s.client(**ASSURED, setup=lambda c: got.watch(c, "hello"))
        client.emit("hello", "hi")
        got.wait(lambda: bool(got.of("hello")))
        assert got.first("hello") == "hi!"
