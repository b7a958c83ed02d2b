"""``fastipc demo``: a server and worker processes; messages per second.

The demo serves the id ``demo`` and starts ``--workers`` processes of
``python -m fastipc demo-worker`` (``worker``). Once every worker said
``ready``, it broadcasts ``go``, answers each ``request`` with a ``reply``,
prints the rate every second for ``--seconds``, then broadcasts ``stop`` and
prints the total.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import IPCSocket
from .common import configured_ipc, fail, stop_on_signals

__all__ = ["run"]

#: Seconds the workers have to connect and say ``ready``.
READY_TIMEOUT = 30.0
#: Seconds the workers have to exit after ``stop`` before they are killed.
EXIT_TIMEOUT = 5.0

Workers = list[asyncio.subprocess.Process]


async def run(args: argparse.Namespace) -> int:
    """Run the demo; SIGINT or SIGTERM ends it early, with the total so far.

    Returns:
        0, or 1 when ``--workers`` is below 1 or the workers did not connect.
    """
    if args.workers < 1:
        return fail("--workers must be at least 1")
    made_root = args.socket_root is None
    if made_root:
        args.socket_root = tempfile.mkdtemp(prefix="fastipc-demo-")
    ipc = configured_ipc(args, id="demo")
    server = ipc.serve()
    ready: list[IPCSocket] = []
    all_ready = asyncio.Event()
    counted = 0

    @server.on("ready")
    def on_ready(data: Any, sock: IPCSocket) -> None:
        ready.append(sock)
        if len(ready) == args.workers:
            all_ready.set()

    @server.on("request")
    def on_request(data: Any, sock: IPCSocket) -> None:
        nonlocal counted
        counted += 2  # the request and its reply
        server.emit(sock, "reply", data)

    stop = asyncio.Event()
    undo = stop_on_signals(stop)
    workers: Workers = []
    try:
        server.start()
        await server.wait_started()
        print(
            f"server {server.path}: starting {args.workers} worker processes "
            f"({args.window} requests in flight each)",
            flush=True,
        )
        await start_workers(args, workers)
        await either(all_ready, stop, READY_TIMEOUT)
        if not all_ready.is_set():
            if stop.is_set():
                return 0  # stopped by a signal
            return fail(
                f"only {len(ready)} of {args.workers} workers connected within {READY_TIMEOUT:g} s"
            )
        print(
            f"{args.workers} workers connected; exchanging request/reply for {args.seconds:g} s",
            flush=True,
        )
        server.broadcast("go")
        elapsed = await print_rates(args.seconds, stop, lambda: counted)
        total = counted
        print(
            f"total: {total:,} messages in {elapsed:.2f} s = {total / elapsed:,.0f} msg/s "
            f"({args.workers} worker{'s' if args.workers != 1 else ''}; "
            "each message a request or a reply)",
            flush=True,
        )
    finally:
        undo()
        if server.listening:
            server.broadcast("stop")  # connected workers disconnect and exit
        # workers that never all connected get no grace: the run is over
        await reap(workers, EXIT_TIMEOUT if all_ready.is_set() else 0.0)
        server.stop()
        await server.wait_closed()
        if made_root:
            shutil.rmtree(args.socket_root, ignore_errors=True)
    return 0


async def start_workers(args: argparse.Namespace, workers: Workers) -> None:
    """Start ``args.workers`` worker processes, adding each to ``workers``.

    They get the demo's node-ipc options, and import this same fastipc.
    """
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "fastipc", "demo-worker", "demo", "--window", str(args.window)]
    for option, value in (
        ("--socket-root", args.socket_root),
        ("--appspace", args.appspace),
        ("--delimiter", escape(args.delimiter) if args.delimiter is not None else None),
        ("--parser", args.parser),
    ):
        if value is not None:
            command.append(f"{option}={value}")
    for n in range(args.workers):
        workers.append(
            await asyncio.create_subprocess_exec(*command, "--name", f"worker-{n + 1}", env=env)
        )


def escape(text: str) -> str:
    """``text`` with backslash escapes, as ``--delimiter`` reads it back."""
    return text.encode("unicode_escape").decode("ascii")


async def either(first: asyncio.Event, second: asyncio.Event, timeout: float) -> None:
    """Wait up to ``timeout`` s until ``first`` or ``second`` is set."""
    waits = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()


async def print_rates(seconds: float, stop: asyncio.Event, count: Callable[[], int]) -> float:
    """Print the messages per second of every full second until ``seconds`` or ``stop``.

    Args:
        seconds: how long to run.
        stop: ends the run early when set.
        count: the number of messages so far.

    Returns:
        The seconds the run took.
    """
    start = time.perf_counter()
    last, last_count, second = start, 0, 0
    end = start + seconds
    while not stop.is_set():
        now = time.perf_counter()
        if now >= end:
            break
        try:
            await asyncio.wait_for(stop.wait(), min(1.0 - (now - last), end - now))
        except asyncio.TimeoutError:
            pass
        now = time.perf_counter()
        if now - last >= 0.999 or now >= end:
            second += 1
            counted = count()
            rate = (counted - last_count) / (now - last)
            print(f"[{second:>3}s] {rate:>12,.0f} msg/s", flush=True)
            last, last_count = now, counted
    return time.perf_counter() - start


async def reap(workers: Workers, timeout: float) -> None:
    """Wait up to ``timeout`` s for ``workers`` to exit; kill the ones still running."""
    if not workers:
        return
    exits = [asyncio.ensure_future(proc.wait()) for proc in workers]
    await asyncio.wait(exits, timeout=timeout)
    for proc in workers:
        if proc.returncode is None:
            proc.kill()
    await asyncio.gather(*exits)
