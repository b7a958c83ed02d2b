"""Forks fastipc clients and SIGKILLs each in the middle of a burst.

Usage: ``spawner.py <socket path> <count> <pause at>``. fastipc is imported
once here; each iteration forks a child (before any event loop or thread
exists in this process) that connects to the server, bursts numbered
events, and writes one byte to a pipe after a few emits; this process then
SIGKILLs it and reaps it. At most two children live at once. After ``pause at`` kills it
prints ``paused <k>`` (after ``codec <its codec>`` at the start) and waits for a line on stdin; at the end it prints
``done <count>``.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys

from fastipc import IPC
from fastipc.framing import IMPLEMENTATION

READY_AFTER = 5  # emits before the child says it is bursting
MAX_EMITS = 5_000  # a child never killed stops bursting by itself
PAD = "x" * 512
CONCURRENCY = 2  # children alive at once


def child(path: str, ready_fd: int) -> None:
    async def burst() -> None:
        ipc = IPC()
        ipc.config.silent = True
        ipc.config.maxRetries = 0
        connected = asyncio.Event()
        ipc.connectTo("srv", path, lambda: ipc.of.srv.on("connect", connected.set))
        await asyncio.wait_for(connected.wait(), 20)
        client = ipc.of.srv
        for i in range(MAX_EMITS):
            client.emit("n", {"i": i, "pad": PAD})
            if i == READY_AFTER:
                os.write(ready_fd, b"r")
            if i % 16 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(30)

    try:
        asyncio.run(burst())
    finally:
        os._exit(0)


def spawn(path: str) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        child(path, write_fd)
    os.close(write_fd)
    return pid, read_fd


def main() -> None:
    print(f"codec {IMPLEMENTATION}", flush=True)
    path, count, pause_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    started = killed = 0
    running: dict[int, int] = {}  # read end of the readiness pipe -> child pid
    while killed < count:
        # at most CONCURRENCY children at once; none beyond the pause point
        limit = pause_at if killed < pause_at else count
        while len(running) < CONCURRENCY and started < limit:
            pid, read_fd = spawn(path)
            running[read_fd] = pid
            started += 1
        ready, _, _ = select.select(list(running), [], [], 20)
        if not ready:
            print(f"no child signalled readiness within 20 s ({killed} killed)", flush=True)
            for pid in running.values():
                os.kill(pid, signal.SIGKILL)
            sys.exit(1)
        for read_fd in ready:
            pid = running.pop(read_fd)
            got = os.read(read_fd, 1)
            os.close(read_fd)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            if got != b"r":
                print(f"a child ended before it was bursting ({killed} killed)", flush=True)
                sys.exit(1)
            killed += 1
            if killed == pause_at:
                print(f"paused {killed}", flush=True)
                sys.stdin.readline()
    print(f"done {count}", flush=True)


if __name__ == "__main__":
    main()
