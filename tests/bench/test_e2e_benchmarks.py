"""End-to-end benchmarks of the two codecs: a server and a client in ONE process.

A fastipc server and a fastipc client share one asyncio loop and talk over a
real Unix socket, so every event crosses the kernel, the transport, the codec
and the emitter: ``oneway`` (the client emits 20,000 events, honouring
backpressure with ``drain()``, until the server has counted the last),
``rtt`` (2,000 round trips, 64 in flight, the server echoing each) and
``request`` (2,000 ``await client.request('echo', ..., timeout=60)`` calls,
64 in flight, answered by the server's ``on_request('echo', ...)``). Ids
``cython`` and ``python`` pick the codec both sides use. Every round checks
the count and the last payload, so no benchmark passes vacuously.

The project's ``addopts`` holds ``--benchmark-disable``: in the normal test
run each body runs once, as a plain test. Time them with::

    pytest tests/bench/test_e2e_benchmarks.py --benchmark-enable
    pytest tests/bench --benchmark-enable --benchmark-autosave
    pytest tests/bench --benchmark-enable --benchmark-compare

Timings are never asserted (shared, noisy machines). The process-to-process
comparison with node-ipc 14 is ``bench/e2e/run.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from fastipc import IPC

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
ONEWAY_EVENTS = 20_000
RTT_ROUND_TRIPS = 2_000
WINDOW = 64


def _payload(i: int) -> str:
    head = f"{i:010d}"
    return head + ALPHABET[: 64 - len(head)]


class Pair:
    """A server and a connected client on one loop, over a Unix socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
        self.loop = loop
        self.path = path
        self.server_ipc = IPC()
        self.client_ipc = IPC()
        for ipc in (self.server_ipc, self.client_ipc):
            ipc.config.silent = True
            ipc.config.maxRetries = 0
        self.count = 0
        self.last: Any = None
        self.target = 0
        self.reached: asyncio.Future[None] | None = None

    async def open(self) -> None:
        self.server = self.server_ipc.serve(self.path)
        self.server.on("m", self._on_m)
        self.server.on("echo", self._on_echo)
        self.server.start()
        await self.server.wait_started()
        self.client = self.client_ipc.connectTo("bench", self.path)
        assert self.client is not None
        await self.client.wait_connected()

    def _on_m(self, data: Any, socket: Any) -> None:
        self.count += 1
        if self.count == self.target:
            self.last = data
            assert self.reached is not None
            self.reached.set_result(None)

    def _on_echo(self, data: Any, socket: Any) -> None:
        self.count += 1
        socket.emit("echo", data)

    async def close(self) -> None:
        self.client_ipc.disconnect("bench")
        self.server.stop()
        await self.server.wait_closed()


@pytest.fixture
def pair(codec: ModuleType) -> Iterator[Pair]:
    loop = asyncio.new_event_loop()
    folder = tempfile.mkdtemp(prefix="fipc-bench-", dir="/tmp")  # short: sun_path limit
    p = Pair(loop, f"{folder}/s.sock")
    try:
        loop.run_until_complete(asyncio.wait_for(p.open(), 10))
        # The codec under test is the one both connections really use.
        assert p.client._conn is not None
        assert type(p.client._conn.decoder) is codec.EventDecoder
        assert all(type(s._conn.decoder) is codec.EventDecoder for s in p.server.sockets)
        yield p
    finally:
        try:
            loop.run_until_complete(asyncio.wait_for(p.close(), 10))
        finally:
            loop.close()
            shutil.rmtree(folder, ignore_errors=True)


def test_e2e_oneway(benchmark: Any, pair: Pair) -> None:
    benchmark.group = f"e2e oneway: {ONEWAY_EVENTS} events over a Unix socket"
    data = [_payload(i) for i in range(ONEWAY_EVENTS)]
    rounds: list[int] = []

    async def send() -> None:
        pair.count = 0
        pair.last = None
        pair.target = ONEWAY_EVENTS
        pair.reached = pair.loop.create_future()
        emit, drain = pair.client.emit, pair.client.drain
        for p in data:
            if not emit("m", p):
                await drain()
        await asyncio.wait_for(pair.reached, 60)
        await asyncio.sleep(0)  # a duplicate would be counted by now
        rounds.append(pair.count)
        assert pair.last == data[-1]

    benchmark.pedantic(lambda: pair.loop.run_until_complete(send()), rounds=5, warmup_rounds=1)
    assert rounds and all(c == ONEWAY_EVENTS for c in rounds), rounds


def test_e2e_rtt(benchmark: Any, pair: Pair) -> None:
    benchmark.group = f"e2e rtt: {RTT_ROUND_TRIPS} round trips, {WINDOW} in flight, Unix socket"
    data = [_payload(i) for i in range(RTT_ROUND_TRIPS)]
    rounds: list[tuple[int, int, Any]] = []

    async def trips() -> None:
        pair.count = 0
        st = {"sent": 0, "got": 0, "last": None}
        done = pair.loop.create_future()

        def on_echo(d: Any) -> None:
            st["got"] += 1
            if st["sent"] < RTT_ROUND_TRIPS:
                pair.client.emit("echo", data[st["sent"]])
                st["sent"] += 1
            if st["got"] == RTT_ROUND_TRIPS:
                st["last"] = d
                done.set_result(None)

        pair.client.on("echo", on_echo)
        try:
            for i in range(WINDOW):
                pair.client.emit("echo", data[i])
            st["sent"] = WINDOW
            await asyncio.wait_for(done, 60)
        finally:
            pair.client.off("echo", on_echo)
        rounds.append((st["got"], pair.count, st["last"]))

    benchmark.pedantic(lambda: pair.loop.run_until_complete(trips()), rounds=5, warmup_rounds=1)
    assert rounds
    for got, echoed, last in rounds:
        assert (got, echoed, last) == (RTT_ROUND_TRIPS, RTT_ROUND_TRIPS, data[-1])


def test_e2e_request(benchmark: Any, pair: Pair) -> None:
    benchmark.group = f"e2e request: {RTT_ROUND_TRIPS} requests, {WINDOW} in flight, Unix socket"
    data = [{"seq": i, "text": _payload(i)} for i in range(RTT_ROUND_TRIPS)]
    answered = [0]

    def echo(value: Any, socket: Any) -> Any:
        answered[0] += 1
        return value

    pair.server.on_request("echo", echo)
    rounds: list[tuple[int, int]] = []

    async def trips() -> None:
        answered[0] = 0
        indices = iter(range(RTT_ROUND_TRIPS))
        request = pair.client.request

        async def worker() -> int:
            matched = 0
            for i in indices:  # shared: each of the WINDOW workers takes the next one
                matched += await request("echo", data[i], timeout=60) == data[i]
            return matched

        matched = sum(await asyncio.gather(*(worker() for _ in range(WINDOW))))
        rounds.append((matched, answered[0]))

    benchmark.pedantic(lambda: pair.loop.run_until_complete(trips()), rounds=5, warmup_rounds=1)
    assert rounds
    assert all(r == (RTT_ROUND_TRIPS, RTT_ROUND_TRIPS) for r in rounds), rounds
    assert pair.client.lateReplies == 0
