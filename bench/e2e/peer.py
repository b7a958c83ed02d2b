#!/usr/bin/env python3
"""One process of the end-to-end benchmark: a server or a client (Python side).

Implementations (``--impl``):

* ``fastipc``: the library, inside its own asyncio (``--loop asyncio``) or
  uvloop (``--loop uvloop``) loop, or from plain threads (``--loop thread``:
  the background loop thread, the main thread emitting); the codec is
  whatever ``fastipc.framing`` loaded (``FASTIPC_NO_EXTENSIONS=1`` for the
  pure-Python twin) and must match ``--codec``;
* ``proto``: a hand-written asyncio Protocol speaking node-ipc's wire format
  with orjson, what a Python user would write by hand (split on ``\\f``,
  ``orjson.loads`` per frame, one ``transport.write`` per message, asyncio's
  pause/resume_writing for backpressure);
* ``--role conns``: a plain asyncio opener of many idle connections (the
  client of the ``connections`` workload, the same for every server).

The runner (bench/e2e/run.py) starts these; the protocol with it is JSON
lines on stdout: a server prints ``{"ready": true}`` once it listens, and
every process prints one result line at the end (counts, checks, timestamps
from CLOCK_MONOTONIC, which Node's ``process.hrtime`` reads too, and CPU
seconds of the process).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
MIB = 1024 * 1024
WINDOW = 64  # requests in flight for rtt
FANOUT_CLIENTS = 4


def small_payload(i: int) -> str:
    head = f"{i:010d}"
    return head + ALPHABET[: 64 - len(head)]


def large_payload(i: int) -> str:
    head = f"{i:010d}"
    return head + "y" * (MIB - len(head))


def payloads(workload: str, n: int) -> list[str]:
    make = large_payload if workload == "large" else small_payload
    return [make(i) for i in range(n)]


def last_payload(workload: str, n: int) -> str:
    return large_payload(n - 1) if workload == "large" else small_payload(n - 1)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def say(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def now() -> int:
    return time.monotonic_ns()


# --------------------------------------------------------------------------
# adapters: a server and a client with the same small surface for both
# implementations (for fastipc the surface IS the library's bound methods)


class FastipcServer:
    def __init__(self, args: argparse.Namespace) -> None:
        from fastipc import IPC

        self.ipc = ipc = IPC()
        ipc.config.silent = True
        ipc.config.id = "bench"
        ipc.config.maxConnections = 100_000
        if args.transport == "unix":
            self.server = ipc.serve(args.addr)
        else:
            self.server = ipc.serveNet("127.0.0.1", int(args.addr))
        self.on = self.server.on
        self.emit = self.server.emit
        self.broadcast = self.server.broadcast

    async def start(self) -> None:
        self.server.start()
        await self.server.wait_started()

    async def drain_all(self) -> None:
        for sock in list(self.server.sockets):
            await sock.drain()


class FastipcClient:
    def __init__(self, args: argparse.Namespace) -> None:
        from fastipc import IPC

        self.ipc = ipc = IPC()
        ipc.config.silent = True
        ipc.config.id = f"client{os.getpid()}"
        ipc.config.maxRetries = 0
        self.args = args
        self.handlers: list[tuple[str, Callable[..., Any]]] = []

    def on(self, event: str, fn: Callable[..., Any]) -> None:
        self.handlers.append((event, fn))  # registered in connectTo's callback

    async def connect(self) -> None:
        def setup() -> None:
            for event, fn in self.handlers:
                self.ipc.of.bench.on(event, fn)

        if self.args.transport == "unix":
            self.client = self.ipc.connectTo("bench", self.args.addr, setup)
        else:
            self.client = self.ipc.connectToNet("bench", "127.0.0.1", int(self.args.addr), setup)
        self.emit = self.client.emit
        self.drain = self.client.drain
        await self.client.wait_connected()

    def close(self) -> None:
        self.ipc.disconnect("bench")


class _Conn(asyncio.Protocol):
    """A hand-written node-ipc stream connection with orjson."""

    def __init__(self, on_event: Callable[[str, Any, _Conn], None]) -> None:
        self.on_event = on_event
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.waiters: list[asyncio.Future[None]] = []
        self.made: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        frames = buf.split(b"\f")
        self.buf = frames.pop()
        loads, on_event = orjson.loads, self.on_event
        for frame in frames:
            msg = loads(frame)
            on_event(msg["type"], msg["data"], self)

    def emit(self, type: str, data: Any) -> bool:
        assert self.transport is not None
        self.transport.write(orjson.dumps({"type": type, "data": data}) + b"\f")
        return not self.paused

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def drain(self) -> None:
        if self.paused:
            w = asyncio.get_running_loop().create_future()
            self.waiters.append(w)
            await w


class _Handlers:
    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Any]] = {}

    def on(self, event: str, fn: Callable[..., Any]) -> None:
        self.handlers[event] = fn


class ProtoServer(_Handlers):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args
        self.conns: list[_Conn] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handlers = self.handlers

        def on_event(type: str, data: Any, conn: _Conn) -> None:
            fn = handlers.get(type)
            if fn is not None:
                fn(data, conn)

        def factory() -> _Conn:
            conn = _Conn(on_event)
            self.conns.append(conn)
            fn = handlers.get("connect")
            if fn is not None:
                loop.call_soon(fn, conn)
            return conn

        if self.args.transport == "unix":
            if os.path.exists(self.args.addr):
                os.unlink(self.args.addr)
            self.server = await loop.create_unix_server(factory, self.args.addr)
        else:
            self.server = await loop.create_server(factory, "127.0.0.1", int(self.args.addr))

    def emit(self, conn: _Conn, type: str, data: Any) -> bool:
        return conn.emit(type, data)

    def broadcast(self, type: str, data: Any) -> bool:
        frame = orjson.dumps({"type": type, "data": data}) + b"\f"
        ok = True
        for conn in self.conns:
            assert conn.transport is not None
            conn.transport.write(frame)
            ok = ok and not conn.paused
        return ok

    async def drain_all(self) -> None:
        for conn in self.conns:
            await conn.drain()


class ProtoClient(_Handlers):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        handlers = self.handlers

        def on_event(type: str, data: Any, conn: _Conn) -> None:
            fn = handlers.get(type)
            if fn is not None:
                fn(data)

        if self.args.transport == "unix":
            _, conn = await loop.create_unix_connection(lambda: _Conn(on_event), self.args.addr)
        else:
            _, conn = await loop.create_connection(
                lambda: _Conn(on_event), "127.0.0.1", int(self.args.addr)
            )
        self.conn = conn
        self.emit = conn.emit
        self.drain = conn.drain

    def close(self) -> None:
        if self.conn.transport is not None:
            self.conn.transport.close()


# --------------------------------------------------------------------------
# workloads, async (fastipc on asyncio/uvloop, and the hand-written protocol)


async def run_server(args: argparse.Namespace) -> None:
    srv: Any = FastipcServer(args) if args.impl == "fastipc" else ProtoServer(args)
    n, workload = args.n, args.workload
    loop = asyncio.get_running_loop()
    finished = loop.create_future()
    state: dict[str, Any] = {"count": 0}

    if workload in ("oneway", "large"):
        want = last_payload(workload, n)
        count = 0

        def on_m(data: Any, sock: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                t_last = now()
                say(
                    {
                        "role": "server",
                        "count": count,
                        "last_ok": data == want,
                        "t_last": t_last,
                        "cpu": cpu_seconds(),
                    }
                )
                srv.emit(sock, "done", count)

        srv.on("m", on_m)
    elif workload in ("rtt", "latency"):
        count = 0

        def on_echo(data: Any, sock: Any) -> None:
            nonlocal count
            count += 1
            srv.emit(sock, "m", data)

        def on_fin(data: Any, sock: Any) -> None:
            say({"role": "server", "count": count, "cpu": cpu_seconds()})
            srv.emit(sock, "done", count)

        srv.on("m", on_echo)
        srv.on("fin", on_fin)
    elif workload == "fanout":
        hellos = 0
        fins = 0

        async def blast() -> None:
            data = payloads("fanout", n)
            state["t_start"] = now()
            broadcast = srv.broadcast
            for p in data:
                if not broadcast("m", p):
                    await srv.drain_all()

        def on_hello(data: Any, sock: Any) -> None:
            nonlocal hellos
            hellos += 1
            if hellos == args.clients:
                state["task"] = loop.create_task(blast())

        def on_fin(data: Any, sock: Any) -> None:
            nonlocal fins
            fins += 1
            if fins == args.clients:
                say({"role": "server", "t_start": state["t_start"], "cpu": cpu_seconds()})

        srv.on("hello", on_hello)
        srv.on("fin", on_fin)
    elif workload == "connections":
        held = 0

        def on_hello(data: Any, sock: Any) -> None:
            nonlocal held
            held += 1
            if held == n:
                say({"role": "server", "count": held, "cpu": cpu_seconds()})

        srv.on("hello", on_hello)
    else:
        raise SystemExit(f"unknown workload {workload}")

    await srv.start()
    say({"ready": True, "pid": os.getpid()})
    await finished  # the runner kills the server


async def run_client(args: argparse.Namespace) -> None:
    cli: Any = FastipcClient(args) if args.impl == "fastipc" else ProtoClient(args)
    n, workload = args.n, args.workload
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def on_done(data: Any) -> None:
        if not done.done():
            done.set_result(data)

    if workload in ("oneway", "large"):
        data = payloads(workload, n)
        cli.on("done", on_done)
        await cli.connect()
        emit, drain = cli.emit, cli.drain
        t_start = now()
        for p in data:
            if not emit("m", p):
                await drain()
        await done
        say({"role": "client", "t_start": t_start, "cpu": cpu_seconds()})
    elif workload == "rtt":
        data = payloads(workload, n)
        want = data[-1]
        st = {"sent": 0, "got": 0}
        finished = loop.create_future()

        def on_m(d: Any) -> None:
            st["got"] += 1
            got = st["got"]
            sent = st["sent"]
            if sent < n:
                cli.emit("m", data[sent])
                st["sent"] = sent + 1
            if got == n:
                finished.set_result((now(), d == want))

        cli.on("m", on_m)
        cli.on("done", on_done)
        await cli.connect()
        t_start = now()
        first = min(WINDOW, n)
        for i in range(first):
            cli.emit("m", data[i])
        st["sent"] = first
        t_end, last_ok = await finished
        cpu = cpu_seconds()
        cli.emit("fin", None)
        await done
        say(
            {
                "role": "client",
                "count": st["got"],
                "last_ok": last_ok,
                "t_start": t_start,
                "t_end": t_end,
                "cpu": cpu,
            }
        )
    elif workload == "latency":
        data = payloads(workload, n + args.warmup)
        box: list[asyncio.Future[Any]] = []

        def on_m(d: Any) -> None:
            box[0].set_result(d)

        cli.on("m", on_m)
        cli.on("done", on_done)
        await cli.connect()
        samples = []
        ok = 0
        emit = cli.emit
        for p in data:
            fut = loop.create_future()
            box[:] = [fut]
            t0 = time.perf_counter_ns()
            emit("m", p)
            d = await fut
            samples.append(time.perf_counter_ns() - t0)
            ok += d == p
        cpu = cpu_seconds()
        cli.emit("fin", None)
        await done
        say(
            {
                "role": "client",
                "count": len(samples),
                "matched": ok,
                "samples_ns": samples[args.warmup :],
                "cpu": cpu,
            }
        )
    elif workload == "fanout":
        want = last_payload("fanout", n)
        finished = loop.create_future()
        count = 0

        def on_m(d: Any) -> None:
            nonlocal count
            count += 1
            if count == n:
                finished.set_result((now(), d == want))

        cli.on("m", on_m)
        await cli.connect()
        cli.emit("hello", None)
        t_last, last_ok = await finished
        cpu = cpu_seconds()
        cli.emit("fin", None)
        say({"role": "client", "count": count, "last_ok": last_ok, "t_last": t_last, "cpu": cpu})
        await asyncio.sleep(0.05)
    else:
        raise SystemExit(f"unknown workload {workload}")
    cli.close()


# --------------------------------------------------------------------------
# fastipc from plain threads: server and client with the synchronous API
# (the background loop thread); the main thread emits


def run_thread_server(args: argparse.Namespace) -> None:
    srv = FastipcServer(args)
    n, workload = args.n, args.workload
    if workload != "oneway" and workload not in ("rtt", "latency"):
        raise SystemExit(f"thread mode: no {workload}")
    count = 0
    want = last_payload(workload, n)

    def on_m(data: Any, sock: Any) -> None:
        nonlocal count
        count += 1
        if workload == "oneway":
            if count == n:
                say(
                    {
                        "role": "server",
                        "count": count,
                        "last_ok": data == want,
                        "t_last": now(),
                        "cpu": cpu_seconds(),
                    }
                )
                srv.emit(sock, "done", count)
        else:
            srv.emit(sock, "m", data)

    def on_fin(data: Any, sock: Any) -> None:
        say({"role": "server", "count": count, "cpu": cpu_seconds()})
        srv.emit(sock, "done", count)

    srv.on("m", on_m)
    srv.on("fin", on_fin)
    srv.server.start()  # returns once listening
    say({"ready": True, "pid": os.getpid()})
    threading.Event().wait()


def run_thread_client(args: argparse.Namespace) -> None:
    from fastipc import IPC

    n, workload = args.n, args.workload
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.id = f"client{os.getpid()}"
    ipc.config.maxRetries = 0
    done = threading.Event()
    connected = threading.Event()
    reply = threading.Event()
    box: list[Any] = [None]

    def setup() -> None:
        c = ipc.of.bench
        c.on("connect", lambda: connected.set())
        c.on("done", lambda d: done.set())

        def on_m(d: Any) -> None:
            box[0] = d
            reply.set()

        c.on("m", on_m)

    if args.transport == "unix":
        ipc.connectTo("bench", args.addr, setup)
    else:
        ipc.connectToNet("bench", "127.0.0.1", int(args.addr), setup)
    if not connected.wait(10):
        raise SystemExit("thread client: no connection")
    client = ipc.of.bench
    emit = client.emit
    if workload == "oneway":
        data = payloads(workload, n)
        t_start = now()
        for p in data:
            emit("m", p)  # blocks while the connection is paused
        done.wait(120)
        say({"role": "client", "t_start": t_start, "cpu": cpu_seconds()})
    elif workload == "latency":
        data = payloads(workload, n + args.warmup)
        samples = []
        ok = 0
        for p in data:
            reply.clear()
            t0 = time.perf_counter_ns()
            emit("m", p)
            reply.wait(10)
            samples.append(time.perf_counter_ns() - t0)
            ok += box[0] == p
        cpu = cpu_seconds()
        emit("fin", None)
        done.wait(10)
        say(
            {
                "role": "client",
                "count": len(samples),
                "matched": ok,
                "samples_ns": samples[args.warmup :],
                "cpu": cpu,
            }
        )
    else:
        raise SystemExit(f"thread mode: no {workload} client")
    ipc.disconnect("bench")


# --------------------------------------------------------------------------
# the connections workload's client: many idle sockets, one hello each


async def run_conns(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    hello = b'{"type":"hello","data":null}\f'
    held = []
    for _ in range(args.n):
        # A blocking connect, then hand the socket to asyncio: a non-blocking
        # AF_UNIX connect to a full backlog fails with EAGAIN, which asyncio
        # waits on for writability that never comes (a hang, seen here when
        # the opener outran the server's accepts).
        if args.transport == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(True)  # no timeout: the runner bounds this process
            sock.connect(args.addr)
            sock.setblocking(False)
            _, w = await asyncio.open_unix_connection(sock=sock)
        else:
            sock = socket.create_connection(("127.0.0.1", int(args.addr)), timeout=30)
            sock.setblocking(False)
            _, w = await asyncio.open_connection(sock=sock)
        w.write(hello)
        held.append(w)
    say({"role": "conns", "count": len(held), "cpu": cpu_seconds()})
    await loop.create_future()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--impl", choices=["fastipc", "proto"], default="fastipc")
    p.add_argument("--role", choices=["server", "client", "conns"], required=True)
    p.add_argument("--workload", required=True)
    p.add_argument("--transport", choices=["unix", "tcp"], required=True)
    p.add_argument("--addr", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--clients", type=int, default=FANOUT_CLIENTS)
    p.add_argument("--loop", choices=["asyncio", "uvloop", "thread"], default="asyncio")
    p.add_argument("--codec", choices=["cython", "python", "any"], default="any")
    args = p.parse_args()

    if args.impl == "fastipc" and args.role != "conns":
        from fastipc import framing

        if args.codec != "any" and framing.IMPLEMENTATION != args.codec:
            say({"error": f"codec is {framing.IMPLEMENTATION}, wanted {args.codec}"})
            sys.exit(3)
    if args.role == "conns":
        asyncio.run(run_conns(args))
    elif args.loop == "thread":
        (run_thread_server if args.role == "server" else run_thread_client)(args)
    else:
        coro = run_server(args) if args.role == "server" else run_client(args)
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)


if __name__ == "__main__":
    main()
