"""What a timeout costs a request: round trips per second with and without one.

One process, a fastipc server and client on one asyncio loop over a Unix
socket, 64 requests in flight, alternating the two cases twice::

    .venv/bin/python bench/rpc_timeouts.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from fastipc import IPC

N = 40_000
IN_FLIGHT = 64


async def rate(timeout: float | None) -> float:
    root = tempfile.mkdtemp(prefix="fipc-rb", dir="/tmp") + "/"
    server_ipc = IPC()
    server_ipc.config.silent = True
    server_ipc.config.socketRoot = root
    server_ipc.config.id = "bench"
    server = server_ipc.serve()
    server.on_request("echo", lambda data, sock: data)
    server.start()
    await server.wait_started()
    client_ipc = IPC()
    client_ipc.config.silent = True
    client_ipc.config.socketRoot = root
    client = client_ipc.connectTo("bench")
    assert client is not None
    await client.wait_connected()
    payload = {"seq": 1, "text": "x" * 64}

    async def worker() -> None:
        for _ in range(N // IN_FLIGHT):
            await client.request("echo", payload, timeout=timeout)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    client_ipc.disconnect("bench")
    server.stop()
    await server.wait_closed()
    return (N // IN_FLIGHT) * IN_FLIGHT / elapsed


def main() -> None:
    for label, timeout in (("no timeout", None), ("timeout=5", 5.0)) * 2:
        print(f"{label}: {asyncio.run(rate(timeout)):,.0f} round trips/s")


if __name__ == "__main__":
    main()
