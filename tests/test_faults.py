"""Faults with real processes and real sockets (issue 10).

Each test runs fastipc peers in child processes (``tests/fault_peers``) and
breaks something for real: a server SIGKILLed mid-burst, a thousand clients
SIGKILLed mid-burst, file descriptors exhausted at accept, a peer that stops
reading (SIGSTOP), and bad TLS clients. Every wait is bounded by a count and
a generous timeout, so each test stops by itself; nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import pytest

from fastipc import IPC, IPCProtocolError

from .helpers import (
    ROOT,
    WAIT,
    Recorder,
    TLSClient,
    TLSEchoServer,
    assert_codec,
    closed,
    codec_params,
    connected,
    make_ipc,
    make_pki,
    python_env,
    run_body,
    server_tls,
    started,
    stay_quiet,
    use_codec,
)

PEERS = ROOT / "tests" / "fault_peers"


# ---------------------------------------------------------------- helpers


class Child:
    """A Python child process running a peer script with the codec ``codec``;
    its stdout lines are collected by a thread, its stderr kept in a file
    for failure messages."""

    def __init__(self, script: str, *args: object, codec: str | None = None) -> None:
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, str(PEERS / script), *map(str, args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            cwd=ROOT,
            env=python_env(codec),
        )
        self.out = Recorder()  # "line" for each line, "eof" at the end
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.record("line", line.rstrip("\n"))
        self.out.record("eof")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def snapshot(self) -> list[str]:
        return [args[0] for args in self.out.of("line")]

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def describe(self) -> str:
        return f"stdout tail: {self.snapshot()[-20:]}\nstderr:\n{self.stderr()[-3000:]}"

    async def until(
        self, predicate: Callable[[list[str]], bool], what: str, timeout: float = 2 * WAIT
    ) -> None:
        """Wait until ``predicate(lines)`` holds; fail, naming ``what``, after
        ``timeout`` or once the child has ended without it."""
        with contextlib.suppress(AssertionError):
            await self.out.until(
                lambda: predicate(self.snapshot()) or bool(self.out.of("eof")), timeout, what
            )
        if not predicate(self.snapshot()):
            raise AssertionError(
                f"waiting for {what}: gave up (rc={self.proc.poll()})\n{self.describe()}"
            )

    async def check_codec(self, codec: str) -> None:
        """The child printed that it runs ``codec`` (its first line)."""
        await self.until(lambda lines: bool(lines), "the codec line")
        assert_codec(self.snapshot()[0], codec)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """Close stdin (the peer's cue to stop), then make sure it is gone."""
        with contextlib.suppress(OSError):
            os.kill(self.proc.pid, signal.SIGCONT)
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(WAIT)
        self._reader.join(WAIT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


@contextlib.contextmanager
def child(script: str, *args: object, codec: str | None = None) -> Iterator[Child]:
    peer = Child(script, *args, codec=codec)
    try:
        yield peer
    finally:
        peer.close()


def open_fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/<pid>/status")


# ---------------------------------------------------------------- 1. server SIGKILLed

#: A pause (seconds) after every few emits of a burst: it keeps the burst a
#: steady stream the loop can carry rather than a flood; nothing waits on it.
PACE = 0.001


class Burst:
    """One client's side of test 1: what it emitted, and when."""

    def __init__(self, number: int, ipc: IPC, changes: Recorder) -> None:
        self.number = number
        self.ipc = ipc
        self.changes = changes  # records every connect and disconnect
        self.next = 0  # the next number to emit
        self.connects = 0
        self.disconnects = 0
        self.errors: list[BaseException] = []
        self.at_disconnect: int | None = None  # self.next at the first 'disconnect'
        self.at_reconnect: int | None = None  # self.next at the second 'connect'
        self.end: int | None = None
        self.client: Any = None

    def watch(self) -> None:
        client = self.client = self.ipc.of.srv
        client.on("connect", self._connected)
        client.on("disconnect", self._disconnected)
        client.on("error", self.errors.append)

    def _connected(self) -> None:
        self.connects += 1
        if self.connects == 2:
            self.at_reconnect = self.next
        self.changes.record("connect", self.number)

    def _disconnected(self) -> None:
        self.disconnects += 1
        if self.at_disconnect is None:
            self.at_disconnect = self.next
        self.changes.record("disconnect", self.number)

    async def run(self, after_reconnect: int) -> None:
        """Emit numbered events until the second ``connect``, then
        ``after_reconnect`` more and an ``end`` marker (bounded by count and time)."""
        client = self.ipc.of.srv
        await connected(client)
        deadline = time.monotonic() + 2 * WAIT
        while self.at_reconnect is None:
            assert self.next < 500_000 and time.monotonic() < deadline, (
                f"client {self.number} never reconnected: connects={self.connects}, "
                f"disconnects={self.disconnects}, errors={self.errors[-3:]}"
            )
            client.emit("n", {"c": self.number, "i": self.next})
            self.next += 1
            if self.next % 10 == 0:
                await asyncio.sleep(PACE)
        for _ in range(after_reconnect):
            if not client.emit("n", {"c": self.number, "i": self.next}):
                await client.drain()
            self.next += 1
            if self.next % 10 == 0:
                await asyncio.sleep(0)  # let the loop run the transports
        self.end = self.next
        client.emit("end", {"c": self.number, "i": self.next})


def numbers(lines: list[str], client: int) -> list[int]:
    prefix = f"{client} "
    return [int(line.split()[1]) for line in lines if line.startswith(prefix)]


@pytest.mark.parametrize(("server", "clients"), codec_params("server", "clients"))
def test_server_sigkill_mid_burst_clients_reconnect_to_a_restarted_server(
    root, monkeypatch, server, clients
):
    """A server SIGKILLed in the middle of a burst from three clients: each
    client sees ``disconnect``, retries every 50 ms, and connects again to a
    new server process on the same path (``unlink`` removes the dead one's
    socket file). Everything a client emits from its first ``disconnect`` on
    (held while it is disconnected, then what follows its second
    ``connect``) reaches the new server exactly once and in order.

    Frames in flight at the kill (written before the client saw the
    connection close) are lost: node-ipc has no acknowledgements, and
    neither does fastipc. The old server's report must be a gap-free prefix
    of what each client sent; how many frames were lost is printed and
    kept in the assertion messages, never asserted.
    """
    use_codec(monkeypatch, clients)
    path = root + "srv"
    count = 3
    after_reconnect = 500

    async def body() -> None:
        bursts: list[Burst] = []
        changes = Recorder()
        with child("record_server.py", path, codec=server) as old:
            await old.check_codec(server)
            await old.until(lambda lines: "ready" in lines, "the first server")
            for number in range(count):
                ipc = make_ipc(retry=50)
                burst = Burst(number, ipc, changes)
                ipc.connectTo("srv", path, burst.watch)
                bursts.append(burst)
            tasks = [asyncio.ensure_future(b.run(after_reconnect)) for b in bursts]
            try:
                # kill once every client's events are flowing
                await old.until(
                    lambda lines: all(len(numbers(lines, c)) >= 200 for c in range(count)),
                    "200 events from each client at the first server",
                )
                os.kill(old.pid, signal.SIGKILL)
                old.proc.wait(WAIT)
                await changes.until(
                    lambda: all(b.disconnects for b in bursts), what="every client's disconnect"
                )
                old_lines = old.snapshot()
                with child("record_server.py", path, codec=server) as new:
                    await new.check_codec(server)
                    await new.until(lambda lines: "ready" in lines, "the restarted server")
                    await asyncio.wait_for(asyncio.gather(*tasks), 2 * WAIT)
                    await new.until(
                        lambda lines: sum(line.startswith("end ") for line in lines) == count,
                        "every client's end marker at the restarted server",
                    )
                    new_lines = new.snapshot()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for burst in bursts:
                    burst.ipc.disconnect("srv")
                for burst in bursts:
                    await closed(burst.client)

        lost = {}
        for burst in bursts:
            c = burst.number
            assert burst.at_disconnect is not None and burst.at_reconnect is not None
            assert burst.end is not None
            before = numbers(old_lines, c)
            lost[c] = burst.at_disconnect - len(before)
            assert before == list(range(len(before))), (
                f"client {c}: the old server's report has gaps"
            )
            after = numbers(new_lines, c)
            expected = list(range(burst.at_disconnect, burst.end))
            assert after == expected, (
                f"client {c}: the restarted server got {len(after)} events "
                f"(first {after[:3]}, last {after[-3:]}), expected {burst.at_disconnect}.."
                f"{burst.end - 1} once each in order; in flight at the kill and lost: {lost[c]}"
            )
            assert after[-after_reconnect:] == list(range(burst.at_reconnect, burst.end))
            assert burst.connects == 2, burst.connects
            assert f"end {c} {burst.end}" in new_lines
        held = {b.number: (b.at_reconnect or 0) - (b.at_disconnect or 0) for b in bursts}
        print(
            f"\nserver SIGKILL: frames in flight at the kill and lost, per client: {lost}; "
            f"held while disconnected, then delivered: {held}"
        )

    run_body("asyncio", body, 12 * WAIT)


# ---------------------------------------------------------------- 2. clients SIGKILLed


@pytest.mark.parametrize(
    ("server", "clients"),
    [p for p in codec_params("server", "clients") if p.values[0] != p.values[1]],
)
def test_a_thousand_clients_sigkilled_mid_burst(root, monkeypatch, server, clients):
    """1,000 clients, each SIGKILLed in the middle of a burst (a spawner
    process forks them one at a time): the server emits
    ``socket.disconnected`` once for each, holds no socket afterwards, and
    its open file descriptors and memory stay flat: between kill 100 and
    kill 1,000 the descriptor count may grow by at most 2 and RSS by less
    than 16 MiB. (Each codec on each side once: the two mixed pairs.)"""
    use_codec(monkeypatch, server)
    path = root + "srv"
    kills, measure_at = 1000, 100

    async def body() -> None:
        ipc = make_ipc()
        server = ipc.serve(path)
        counts = {"connect": 0, "socket.disconnected": 0, "n": 0}
        changes = Recorder()  # one "gone" per socket.disconnected (nothing kept)
        errors: list[BaseException] = []

        def count(name: str) -> Callable[..., None]:
            def handler(*_args: Any) -> None:
                counts[name] += 1

            return handler

        for name in counts:
            server.on(name, count(name))
        server.on("socket.disconnected", lambda *_args: changes.record("gone"))
        server.on("error", errors.append)
        server.start()
        await started(server)
        try:
            with child("spawner.py", path, kills, measure_at, codec=clients) as spawner:
                await spawner.check_codec(clients)
                await spawner.until(
                    lambda lines: f"paused {measure_at}" in lines, "100 kills", 6 * WAIT
                )
                await changes.until(
                    lambda: counts["socket.disconnected"] == measure_at, what="100 disconnects"
                )
                assert server.sockets == []
                gc.collect()
                fds_100, rss_100 = open_fds(), rss_bytes()
                spawner.send("go")
                await spawner.until(lambda lines: f"done {kills}" in lines, "1000 kills", 12 * WAIT)
                await changes.until(
                    lambda: counts["socket.disconnected"] == kills, what="1000 disconnects"
                )
                await stay_quiet()  # a late, extra event would show here
                assert server.sockets == []
                gc.collect()
                fds_end, rss_end = open_fds(), rss_bytes()
        finally:
            server.stop()
            await closed(server)
        assert counts["socket.disconnected"] == kills, counts
        assert counts["connect"] == kills, counts
        assert counts["n"] >= kills * 5, counts  # every child was bursting when killed
        print(
            f"\n1000 client kills: fds {fds_100} -> {fds_end}, RSS {rss_100 / 2**20:.1f} -> "
            f"{rss_end / 2**20:.1f} MiB, events received {counts['n']}, errors {len(errors)}"
        )
        assert fds_end <= fds_100 + 2, (fds_100, fds_end)
        assert rss_end - rss_100 < 16 * 2**20, (rss_100, rss_end)

    run_body("asyncio", body, 24 * WAIT)


# ---------------------------------------------------------------- 3. EMFILE at accept


class PingClient:
    """A fastipc client in this process that pings and counts pongs."""

    def __init__(self, path: str, name: str) -> None:
        self.name = name
        self.ipc = make_ipc(retry=50)
        self.got = Recorder()
        self.ipc.connectTo("srv", path, self._watch)
        self.client: Any = self.ipc.of.srv

    def _watch(self) -> None:
        self.got.watch(self.ipc.of.srv, "pong", "connect")

    @property
    def pongs(self) -> list[Any]:
        return [args[0] for args in self.got.of("pong")]

    async def ping(self, data: str) -> None:
        self.client.emit("ping", data)
        await self.answered(data)

    async def answered(self, data: str) -> None:
        await self.got.until(lambda: data in self.pongs, what=f"{self.name}: pong {data!r}")

    async def ping_sent(self, data: str) -> None:
        """Ping once connected (the kernel may queue the connection unaccepted)."""
        await connected(self.client)
        self.client.emit("ping", data)

    async def close(self) -> None:
        self.ipc.disconnect("srv")
        await closed(self.client)


@pytest.mark.parametrize(("server", "clients"), codec_params("server", "clients"))
def test_emfile_at_accept_is_reported_and_the_server_recovers(root, monkeypatch, server, clients):
    """A server child with three free descriptors and two clients; more
    clients connect (the kernel queues them) until its accept() fails with
    EMFILE. Wanted: the server emits an ``error`` event whose errno is
    EMFILE and logs it once as a WARNING on the ``fastipc`` logger (not
    asyncio's "socket.accept() out of system resource" ERROR), keeps its
    clients (they still exchange messages), and once descriptors are free
    again accepts the queued clients and a new one."""
    use_codec(monkeypatch, clients)
    path = root + "srv"

    async def body() -> None:
        ping_clients: list[PingClient] = []
        with child("emfile_server.py", path, 3, codec=server) as peer:
            try:
                await peer.check_codec(server)
                await peer.until(lambda lines: any(x.startswith("ready") for x in lines), "server")
                for k in range(2):
                    ping_clients.append(PingClient(path, f"client {k}"))
                    await ping_clients[-1].ping(f"hello {k}")
                await peer.until(lambda lines: lines.count("connect") == 2, "2 accepted")

                def accept_failed(lines: list[str]) -> bool:
                    return any(
                        x.startswith("error ") or (x.startswith("log ") and "accept" in x)
                        for x in lines
                    )

                # more clients (the kernel queues them) until accept() fails
                queued: list[PingClient] = []
                while not accept_failed(peer.snapshot()):
                    assert len(queued) < 8, "accept() never failed:\n" + peer.describe()
                    queued.append(PingClient(path, f"queued {len(queued)}"))
                    ping_clients.append(queued[-1])
                    await queued[-1].ping_sent(f"queued {len(queued) - 1}")
                    with contextlib.suppress(AssertionError):
                        await peer.until(accept_failed, "EMFILE", timeout=WAIT / 10)
                for k in range(2):
                    await ping_clients[k].ping(f"still here {k}")
                peer.send("release")
                await peer.until(lambda lines: "released" in lines, "descriptors released")
                for k, client in enumerate(queued):
                    await client.answered(f"queued {k}")
                late = PingClient(path, "late")
                ping_clients.append(late)
                await late.ping("after release")
                await peer.until(
                    lambda lines: lines.count("connect") == len(ping_clients),
                    "every client accepted",
                )
            finally:
                for client in ping_clients:
                    await client.close()
            lines = peer.snapshot()

        errors = [x for x in lines if x.startswith("error ")]
        warnings = [x for x in lines if x.startswith("log fastipc WARNING")]
        asyncio_logs = [x for x in lines if x.startswith("log asyncio") and "DEBUG" not in x]
        said = [x for x in lines if x.startswith(("error ", "log fastipc WARNING", "log asyncio"))]
        print("\nEMFILE at accept, the server said:\n" + "\n".join(said))
        report = "server said:\n" + "\n".join(x for x in lines if not x.startswith("ping "))
        assert asyncio_logs == [], "asyncio, not fastipc, logged the EMFILE:\n" + report
        assert errors and errors[0].startswith(f"error {errno.EMFILE} "), (
            "no 'error' event with errno EMFILE:\n" + report
        )
        emfile = os.strerror(errno.EMFILE)
        failure_warnings = [x for x in warnings if emfile in x or "EMFILE" in x]
        assert len(failure_warnings) == 1, "expected one fastipc WARNING for the EMFILE:\n" + report

    run_body("asyncio", body, 12 * WAIT)


# ---------------------------------------------------------------- 4. a peer that stops reading


async def start_server(path: str, **config: Any) -> tuple[IPC, Recorder]:
    """A started server recording connect, error and socket.disconnected."""
    ipc = make_ipc(**config)
    server = ipc.serve(path)
    seen = Recorder().watch(server, "connect", "error", "socket.disconnected")
    server.start()
    await started(server)
    return ipc, seen


def sockets(seen: Recorder, event: str) -> list[Any]:
    """The socket of each ``event`` (``connect`` or ``socket.disconnected``)."""
    return [args[0] for args in seen.of(event)]


PAD = "y" * 16384


@pytest.mark.parametrize(("server", "reader"), codec_params("server", "reader"))
def test_guarded_server_cuts_a_stopped_reader_with_backpressure(root, monkeypatch, server, reader):
    """Guarded profile, maxPendingBytes 256 KiB: a client process that is
    SIGSTOPped stops reading; the server's emits to it pile up until the
    server cuts it with ``ERR_IPC_BACKPRESSURE`` (an ``error`` event, then
    ``socket.disconnected``), and keeps serving its other client and a new
    one."""
    use_codec(monkeypatch, server)
    path = root + "srv"

    async def body() -> None:
        ipc, seen = await start_server(path, parser="guarded", maxPendingBytes=256 * 1024)
        srv = ipc.server
        good = make_ipc(retry=50)
        got = Recorder()
        try:
            with child("reader.py", path, codec=reader) as stopped:
                await stopped.check_codec(reader)
                await stopped.until(lambda lines: "ready" in lines, "the reader connected")
                await seen.until(
                    lambda: len(seen.of("connect")) == 1, what="the reader at the server"
                )
                victim = sockets(seen, "connect")[0]
                good.connectTo("srv", path, lambda: got.watch(good.of.srv, "n"))
                await seen.until(
                    lambda: len(seen.of("connect")) == 2, what="the good client at the server"
                )
                other = sockets(seen, "connect")[1]
                os.kill(stopped.pid, signal.SIGSTOP)
                try:
                    sent = 0
                    while not seen.of("error") and sent < 2000:  # 2000 x 16 KiB at most
                        srv.emit(victim, "n", {"i": sent, "pad": PAD})
                        sent += 1
                        if sent % 4 == 0:
                            await asyncio.sleep(PACE)
                    await seen.until(
                        lambda: victim in sockets(seen, "socket.disconnected"),
                        what="the reader cut",
                    )
                finally:
                    os.kill(stopped.pid, signal.SIGCONT)
            ((error,),) = seen.of("error")
            assert isinstance(error, IPCProtocolError), repr(error)
            assert error.code == "ERR_IPC_BACKPRESSURE", error.code
            assert "maxPendingBytes" in str(error)
            assert sent * len(PAD) < 4 * 2**20, f"cut only after {sent} frames"
            assert victim.destroyed and not other.destroyed
            for i in range(10):
                assert srv.emit(other, "n", {"i": i})
            await got.until(lambda: len(got.of("n")) == 10, what="the good client's 10 events")
            assert [args[0]["i"] for args in got.of("n")] == list(range(10))
            late = make_ipc(retry=50)
            pongs = Recorder()
            srv.on("ping", lambda data, sock: srv.emit(sock, "pong", data))
            late.connectTo("srv", path, lambda: pongs.watch(late.of.srv, "pong"))
            late.of.srv.emit("ping", "new")
            assert await pongs.arrived("pong") == [("new",)]
            late.disconnect("srv")
        finally:
            good.disconnect("srv")
            srv.stop()
            await closed(srv)

    run_body("asyncio", body, 12 * WAIT)


@pytest.mark.parametrize(("server", "reader"), codec_params("server", "reader"))
def test_fast_server_shows_a_stopped_reader_and_loses_nothing(root, monkeypatch, server, reader):
    """Fast profile (default): to a SIGSTOPped client process, ``emit``
    returns False once the peer is behind and ``await socket.drain()``
    waits; after SIGCONT the drain finishes and the client receives every
    event, none lost, repeated or reordered."""
    use_codec(monkeypatch, server)
    path = root + "srv"

    async def body() -> None:
        ipc, seen = await start_server(path)
        srv = ipc.server
        try:
            with child("reader.py", path, codec=reader) as peer:
                await peer.check_codec(reader)
                await peer.until(lambda lines: "ready" in lines, "the reader connected")
                sock = (await seen.arrived("connect"))[0][0]
                os.kill(peer.pid, signal.SIGSTOP)
                try:
                    sent, accepted = 0, True
                    while accepted and sent < 2000:  # 2000 x 16 KiB at most
                        accepted = srv.emit(sock, "n", {"i": sent, "pad": PAD})
                        sent += 1
                        if sent % 4 == 0:
                            await asyncio.sleep(PACE)
                    assert not accepted, f"emit still True after {sent} frames to a stopped peer"
                    drained = asyncio.ensure_future(sock.drain())
                    await stay_quiet()
                    assert not drained.done(), "drain() finished while the peer was stopped"
                finally:
                    os.kill(peer.pid, signal.SIGCONT)
                await asyncio.wait_for(drained, 2 * WAIT)
                total = sent + 200
                while sent < total:
                    if not srv.emit(sock, "n", {"i": sent, "pad": PAD}):
                        await sock.drain()
                    sent += 1
                srv.emit(sock, "end")
                await peer.until(
                    lambda lines: any(x.startswith("got ") for x in lines), "the count"
                )
                assert f"got {total} True" in peer.snapshot(), peer.describe()
            assert seen.of("error") == []
        finally:
            srv.stop()
            await closed(srv)

    run_body("asyncio", body, 12 * WAIT)


# ---------------------------------------------------------------- 5. TLS refusals


@pytest.fixture(scope="module")
def pki():
    pytest.importorskip("trustme")
    with tempfile.TemporaryDirectory(prefix="fipc-faults-tls-", dir="/tmp") as directory:
        yield make_pki(directory)


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "fastipc" and r.levelno >= logging.WARNING]


class Warned(logging.Handler):
    """Sets ``event`` when a WARNING (or worse) reaches the logger it is on."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.event.set()


def _garbage(port: int) -> bytes:
    """Write bytes that are not a ClientHello; return what came back before EOF."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=2 * WAIT) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4)
        while chunk := raw.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("bad", ["plaintext-client", "untrusted-ca", "garbage"])
def test_tls_server_refuses_bad_clients_and_keeps_serving(pki, bad, caplog):
    """A TLS server refuses (a) a plaintext fastipc client, (b) a client
    that does not trust the server's CA, and (c) raw bytes that are not a
    ClientHello. The server logs one clear WARNING on the ``fastipc``
    logger per refusal (no asyncio traceback), never reports them as
    connected, and a good TLS client exchanges messages before and after."""
    caplog.set_level(logging.DEBUG, logger="fastipc")
    caplog.set_level(logging.WARNING, logger="asyncio")
    with TLSEchoServer(server_tls(pki)) as (_, srv, port):
        with TLSClient({"trustedConnections": pki.ca}, port) as (good_ipc, good):
            good.wait_for("connect")
            good_ipc.of.world.emit("message", "before")
            good.wait_for("message", 1)
            warned = Warned()
            logging.getLogger("fastipc").addHandler(warned)
            before = len(refusals(caplog))
            if bad == "garbage":
                answer = _garbage(port)
                # at most a TLS alert record came back (content type 21), then EOF
                assert answer == b"" or answer[:1] == b"\x15", answer[:40]
            else:
                tls = False if bad == "plaintext-client" else {"trustedConnections": pki.rogue_ca}
                with TLSClient(tls, port, maxRetries=0) as (bad_ipc, rec):
                    with contextlib.suppress(Exception):
                        bad_ipc.of.world.emit("message", "let me in")
                    rec.wait_for("destroy")
                assert rec.of("message") == []
                if bad == "untrusted-ca":
                    # the client is the side that can see why: its 'error' event
                    assert rec.of("connect") == []
                    (error,), *_ = rec.of("error")
                    assert "certificate verify failed" in str(error), repr(error)
            # the server's log line comes from its loop thread: wait for it
            try:
                warned.event.wait(2 * WAIT)
            finally:
                logging.getLogger("fastipc").removeHandler(warned)
            good_ipc.of.world.emit("message", "after")
            assert good.wait_for("message", 2) == [("before world!",), ("after world!",)]
            assert len(srv.of("connect")) == 1
            assert srv.of("message") == [("before",), ("after",)]
    assert srv.of("error") == []
    new = refusals(caplog)[before:]
    text = [r.getMessage() for r in new]
    assert len(new) == 1, text
    if bad == "untrusted-ca":
        # The client gives up on the handshake (it can see why: its 'error'
        # event above); the server sees either the client's TLS alert or
        # the connection reset in the middle of the handshake.
        assert "handshake failed" in text[0] or "failed during set-up" in text[0], text
    else:
        assert "TLS" in text[0] and "handshake failed" in text[0], text
    if "127.0.0.1:" in text[0]:
        assert f"127.0.0.1:{port}" in text[0], f"the log names the wrong port: {text}"
    assert "Exception in callback" not in text[0] and new[0].exc_info is None, text
    assert [r for r in caplog.records if r.name == "asyncio"] == []
    print(f"\n{bad}: the server logged: {text[0]}")
