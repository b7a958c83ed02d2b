"""The OS-verified peer identity beside node-ipc's claimed id, and the
named-pipe transport's refusals where it cannot run (its real tests are the
Windows lane's: tests/windows, run by scripts/windows_lane.sh)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from fastipc import IPCError
from fastipc._transports import winpipe

from .helpers import (
    WAIT,
    Recorder,
    assert_codec,
    client_process_script,
    closed,
    codec_params,
    free_port,
    make_ipc,
    off_loop,
    python_env,
    started,
)


@pytest.mark.parametrize("child", codec_params("client"))
def test_peer_pid_of_a_unix_socket_client_is_its_process(mode, root, child):
    """A client in a child process (running the codec its id names): the
    server's socket reports that process's pid."""

    async def body():
        server_ipc = make_ipc(root, id="pid")
        seen = Recorder()
        server = server_ipc.serve(
            lambda: seen.watch(server_ipc.server, "connect", "socket.disconnected")
        )
        server.start()
        await started(server)
        server.on("bye", lambda data, sock: sock.emit("ok"))
        script = client_process_script(root, "pid")
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            text=True,
            env=python_env(child),
        )
        try:
            assert_codec(await off_loop(process.stdout.readline), child)
            await seen.until(lambda: seen.of("socket.disconnected"), 2 * WAIT)
            assert await off_loop(process.wait, 2 * WAIT) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        (sock,) = [args[0] for args in seen.of("connect")]
        assert sock.peerPid == process.pid != os.getpid()
        server.stop()
        await closed(server)

    mode.run(body)


def test_peer_pid_is_none_over_tcp(mode):
    port = free_port()

    async def body():
        server_ipc = make_ipc()
        seen = Recorder()
        server = server_ipc.serveNet(
            "127.0.0.1", port, lambda: seen.watch(server_ipc.server, "connect")
        )
        server.start()
        await started(server)
        client_ipc = make_ipc()
        client = client_ipc.connectToNet("srv", "127.0.0.1", port, lambda: None)
        (sock,) = (await seen.arrived("connect"))[0]
        assert sock.peerPid is None
        client_ipc.disconnect("srv")
        server.stop()
        await closed(client)
        await closed(server)

    mode.run(body)


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
        env=python_env(),
    )
    assert out.returncode != 0
    assert "fastipc._pipe_win" in out.stderr and "not built" in out.stderr
