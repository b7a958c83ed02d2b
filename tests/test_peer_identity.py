"""The OS-verified peer identity beside node-ipc's claimed id, and the
named-pipe transport's refusals where it cannot run (its real tests are the
Windows lane's: tests/windows, run by scripts/windows_lane.sh)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest

from fastipc import IPCError
from fastipc._transports import winpipe

from .test_api import Events, free_port, make_ipc, root, run  # root, run: fixtures

__all__ = ["root", "run"]


def client_process_script(root: str, id: str) -> str:
    """Python code for a client process that connects to ``id`` under
    ``root``, emits ``bye`` and disconnects once the server answers ``ok``."""
    return textwrap.dedent(
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


def test_peer_pid_of_a_unix_socket_client_is_its_process(run, root):
    async def body():
        server_ipc = make_ipc(root, id="pid")
        seen = Events()
        server_ipc.serve(lambda: seen.watch(server_ipc.server, "connect", "socket.disconnected"))
        server_ipc.server.start()
        await server_ipc.server.wait_started()
        server_ipc.server.on("bye", lambda data, sock: sock.emit("ok"))
        script = client_process_script(root, "pid")
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
        try:
            await seen.until(lambda: seen.of("socket.disconnected"), timeout=20)
            assert await asyncio.wait_for(child.wait(), 20) == 0
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        (sock,) = [args[0] for args in seen.of("connect")]
        assert sock.peerPid == child.pid != os.getpid()
        server_ipc.server.stop()
        await server_ipc.server.wait_closed()

    run(body)


def test_peer_pid_is_none_over_tcp(run):
    port = free_port()

    async def body():
        server_ipc = make_ipc("/tmp/")
        seen = Events()
        server_ipc.serveNet("127.0.0.1", port, lambda: seen.watch(server_ipc.server, "connect"))
        server_ipc.server.start()
        await server_ipc.server.wait_started()
        client_ipc = make_ipc("/tmp/")
        client_ipc.connectToNet("srv", "127.0.0.1", port, lambda: None)
        await seen.until(lambda: seen.of("connect"))
        assert seen.of("connect")[0][0].peerPid is None
        client_ipc.disconnect("srv")
        server_ipc.server.stop()
        await server_ipc.server.wait_closed()

    run(body)


def test_named_pipes_refuse_a_loop_without_a_proactor():
    async def body():
        loop = asyncio.get_running_loop()
        with pytest.raises(IPCError, match="ProactorEventLoop") as raised:
            await winpipe.start_pipe_server(loop, asyncio.Protocol, r"\\.\pipe\x")
        assert type(loop).__name__ in str(raised.value)
        with pytest.raises(IPCError, match="ProactorEventLoop"):
            await winpipe.connect_pipe(loop, asyncio.Protocol, r"\\.\pipe\x")

    asyncio.run(body())


def test_missing_shim_is_a_clear_error():
    out = subprocess.run(
        [sys.executable, "-c", "from fastipc._transports import winpipe; winpipe._shim()"],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "fastipc._pipe_win" in out.stderr and "not built" in out.stderr
