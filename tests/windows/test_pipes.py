r"""fastipc over Windows named pipes, Python to Python, in Windows CPython.

Every test serves a real ``\\.\pipe\`` name made from a socket root of its
own, on asyncio's Proactor loop (or the background loop thread), with the
same Protocol, codec and events as the Unix transport.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from fastipc import IPC, IPCProtocolError, framing
from fastipc._config import default_socket_root, pipe_path
from fastipc._transports import winpipe

from ..helpers import Recorder, client_process_script, make_ipc

PAYLOADS = [
    "hello",
    "",
    "ünïcødé ✓ 𝄞",
    None,
    0,
    -1.5,
    10**15,
    True,
    [1, "two", None, [3]],
    {"nested": {"list": [1, 2, {"deep": "x"}], "empty": {}}},
    "x" * 200_000,
]


def test_the_lane_is_windows_with_the_shim(shim):
    assert sys.platform == "win32"
    assert os.name == "nt"
    assert shim.__file__.endswith(".pyd")
    # the Wine lane says which codec each pass runs (FASTIPC_LANE_CODEC); a
    # wheel's test run requires the compiled one
    if os.environ.get("FASTIPC_LANE_CODEC"):
        expected = os.environ["FASTIPC_LANE_CODEC"]
    elif os.environ.get("FASTIPC_REQUIRE_EXTENSION") == "1":
        expected = "cython"
    else:
        pytest.fail(
            "set FASTIPC_REQUIRE_EXTENSION=1 or FASTIPC_LANE_CODEC to say which codec to expect"
        )
    assert framing.IMPLEMENTATION == expected
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, asyncio.ProactorEventLoop)
    finally:
        loop.close()


def test_pipe_names_are_node_ipcs():
    assert pipe_path("/tmp/app.world") == r"\\.\pipe\tmp-app.world"
    assert pipe_path(r"\\.\pipe\already") == r"\\.\pipe\already"
    user = os.environ.get("USERNAME", "user")
    assert default_socket_root() == f"/node-ipc-{user}/"
    ipc = IPC()
    ipc.config.id = "world"
    server = ipc.serve(lambda: None)
    assert pipe_path(server.path) == rf"\\.\pipe\node-ipc-{user}-app.world"


async def _serve(ipc: IPC, started: Any = None) -> Any:
    server = ipc.serve(started) if started is not None else ipc.serve()
    server.start()
    await server.wait_started()
    return server


async def _stop(ipc: IPC) -> None:
    ipc.server.stop()
    await ipc.server.wait_closed()


def test_hello_world_by_id_over_a_named_pipe(run, root):
    async def body():
        server_ipc = make_ipc(root, id="world")
        seen = Recorder()

        def started():
            seen.watch(server_ipc.server, "connect", "socket.disconnected")

            @server_ipc.server.on("message")
            def message(data, sock):
                server_ipc.server.emit(sock, "message", data + " world!")

        await _serve(server_ipc, started)
        assert isinstance(server_ipc.server._serving, winpipe.PipeServer)
        assert server_ipc.server._serving.address == pipe_path(root + "app.world")

        client_ipc = make_ipc(root, id="hello")
        got = Recorder()

        def connecting():
            got.watch(client_ipc.of.world, "connect", "message")
            client_ipc.of.world.on("connect", lambda: client_ipc.of.world.emit("message", "hello"))

        client_ipc.connectTo("world", connecting)
        await client_ipc.of.world.wait_connected()
        await got.until(lambda: got.of("message"))
        assert got.of("message") == [("hello world!",)]
        assert got.names()[0] == "connect"
        # the OS-verified identity: this very process
        (sock,) = [args[0] for args in seen.of("connect")]
        assert sock.peerPid == os.getpid()
        assert client_ipc.of.world.peerPid == os.getpid()
        client_ipc.disconnect("world")
        await seen.until(lambda: seen.of("socket.disconnected"))
        await _stop(server_ipc)

    run(body)


def test_tcp_on_the_proactor_loop(run):
    """serveNet on Windows: asyncio's server accepts (the Proactor loop has
    no add_reader for fastipc's own accept loop); port 0 reports its port."""

    async def body():
        server_ipc = make_ipc("/node-ipc-tcp/", id="world")
        server = server_ipc.serveNet("127.0.0.1", 0)

        @server.on("message")
        def message(data, sock):
            server.emit(sock, "message", data + " world!")

        server.start()
        await server.wait_started()
        assert server.port != 0
        client_ipc = make_ipc("/node-ipc-tcp/", id="hello")
        got = Recorder()
        client_ipc.connectToNet(
            "world", "127.0.0.1", server.port, lambda: got.watch(client_ipc.of.world, "message")
        )
        await client_ipc.of.world.wait_connected()
        client_ipc.of.world.emit("message", "hello")
        await got.until(lambda: got.of("message"))
        assert got.of("message") == [("hello world!",)]
        client = client_ipc.of.world
        client_ipc.disconnect("world")
        await client.wait_closed()
        server.stop()
        await server.wait_closed()

    run(body)


def test_payloads_both_ways(run, root):
    async def body():
        server_ipc = make_ipc(root, id="echo")

        def started():
            @server_ipc.server.on("echo")
            def echo(data, sock):
                sock.emit("echoed", data)

            @server_ipc.server.on("nodata")
            def nodata(data, sock):
                sock.emit("nodata-seen", data)

        await _serve(server_ipc, started)
        client_ipc = make_ipc(root)
        got = Recorder()
        client_ipc.connectTo("echo", lambda: got.watch(client_ipc.of.echo, "echoed", "nodata-seen"))
        for value in PAYLOADS:
            client_ipc.of.echo.emit("echo", value)
        client_ipc.of.echo.emit("nodata")
        await got.until(lambda: len(got.of("echoed")) == len(PAYLOADS) and got.of("nodata-seen"))
        assert [args[0] for args in got.of("echoed")] == PAYLOADS
        assert got.of("nodata-seen") == [({},)]  # emit(type) sends data {} as node-ipc does
        client_ipc.disconnect("echo")
        await _stop(server_ipc)

    run(body)


def test_burst_of_10000_in_order_both_ways(run, root):
    count = 10_000

    async def body():
        server_ipc = make_ipc(root, id="burst")
        received: list[int] = []

        def started():
            @server_ipc.server.on("n")
            def n(data, sock):
                received.append(data)
                if data == count - 1:
                    for i in range(count):
                        sock.emit("m", i)

        await _serve(server_ipc, started)
        client_ipc = make_ipc(root)
        back = Recorder()
        client_ipc.connectTo("burst", lambda: back.watch(client_ipc.of.burst, "m"))
        await client_ipc.of.burst.wait_connected()
        for i in range(count):
            client_ipc.of.burst.emit("n", i)
        await back.until(lambda: len(back.of("m")) >= count, timeout=40)
        assert received == list(range(count))
        assert [args[0] for args in back.of("m")] == list(range(count))
        client_ipc.disconnect("burst")
        await _stop(server_ipc)

    run(body)


def test_broadcast_reaches_every_client(run, root):
    async def body():
        server_ipc = make_ipc(root, id="hub")
        seen = Recorder()
        await _serve(server_ipc, lambda: seen.watch(server_ipc.server, "connect"))
        clients = []
        got = Recorder()
        for n in range(4):
            ipc = make_ipc(root)
            ipc.connectTo("hub", lambda ipc=ipc, n=n: ipc.of.hub.on("news", got.handler(f"c{n}")))
            clients.append(ipc)
        await seen.until(lambda: len(seen.of("connect")) == 4)
        assert server_ipc.server.broadcast("news", {"n": 1})
        await got.until(lambda: len(got.items) == 4)
        assert sorted(got.names()) == ["c0", "c1", "c2", "c3"]
        assert [args for _, args in got.items] == [({"n": 1},)] * 4
        for ipc in clients:
            ipc.disconnect("hub")
        await _stop(server_ipc)

    run(body)


def test_socket_disconnected_names_the_client(run, root):
    async def body():
        server_ipc = make_ipc(root, id="srv", identifyPeer=True)
        seen = Recorder()
        await _serve(
            server_ipc,
            lambda: seen.watch(server_ipc.server, "connect", "socket.disconnected", "hi"),
        )
        client_ipc = make_ipc(root, id="leaver")
        client_ipc.connectTo("srv", lambda: None)
        await client_ipc.of.srv.wait_connected()
        client_ipc.of.srv.emit("hi", {"id": "leaver"})
        await seen.until(lambda: seen.of("hi"))  # identifyPeer has named the socket
        client_ipc.disconnect("srv")
        await seen.until(lambda: seen.of("socket.disconnected"))
        (sock, destroyed_id) = seen.of("socket.disconnected")[0]
        assert destroyed_id == "leaver"
        assert sock.destroyed
        assert server_ipc.server.sockets == []
        await _stop(server_ipc)

    run(body)


def test_client_reconnects_after_a_server_restart(run, root):
    async def body():
        server_ipc = make_ipc(root, id="phoenix")
        await _serve(
            server_ipc, lambda: server_ipc.server.on("ping", lambda d, s: s.emit("pong", d))
        )
        client_ipc = make_ipc(root, retry=50)
        got = Recorder()
        client_ipc.connectTo(
            "phoenix", lambda: got.watch(client_ipc.of.phoenix, "connect", "disconnect", "pong")
        )
        await got.until(lambda: got.of("connect"))
        client_ipc.of.phoenix.emit("ping", 1)
        await got.until(lambda: got.of("pong"))
        await _stop(server_ipc)
        # a retry against the missing pipe fails (a second disconnect) first
        await got.until(lambda: len(got.of("disconnect")) >= 2)
        server_ipc = make_ipc(root, id="phoenix")
        await _serve(
            server_ipc, lambda: server_ipc.server.on("ping", lambda d, s: s.emit("pong", d))
        )
        await got.until(lambda: len(got.of("connect")) == 2)
        client_ipc.of.phoenix.emit("ping", 2)
        await got.until(lambda: len(got.of("pong")) == 2)
        assert got.of("pong") == [(1,), (2,)]
        assert not client_ipc.of.phoenix.destroyed
        client_ipc.disconnect("phoenix")
        await _stop(server_ipc)

    run(body)


def test_max_connections_refuses_the_extra_client(run, root):
    async def body():
        server_ipc = make_ipc(root, id="small", maxConnections=1)
        seen = Recorder()
        await _serve(server_ipc, lambda: seen.watch(server_ipc.server, "connect"))
        first = make_ipc(root, maxRetries=0)
        first.connectTo("small", lambda: None)
        await first.of.small.wait_connected()
        await seen.until(lambda: seen.of("connect"))
        second = make_ipc(root, maxRetries=0)
        lost = Recorder()
        second.connectTo("small", lambda: lost.watch(second.of.small, "disconnect", "destroy"))
        await lost.until(lambda: lost.of("destroy"))
        assert len(server_ipc.server.sockets) == 1
        assert first.of.small.connected
        first.disconnect("small")
        await _stop(server_ipc)

    run(body)


def test_raw_mode_over_a_pipe(run, root):
    async def body():
        server_ipc = make_ipc(root, id="raw", rawBuffer=True)

        def started():
            @server_ipc.server.on("data")
            def data(chunk, sock):
                server_ipc.server.emit(sock, bytes(chunk).upper())

        await _serve(server_ipc, started)
        client_ipc = make_ipc(root, rawBuffer=True, encoding="utf8")
        got = bytearray()
        client_ipc.connectTo("raw", lambda: client_ipc.of.raw.on("data", got.extend))
        await client_ipc.of.raw.wait_connected()
        client_ipc.of.raw.emit(b"abc\x00\xff")
        client_ipc.of.raw.emit("def")
        await Recorder().until(lambda: len(got) >= 8)
        assert bytes(got) == b"ABC\x00\xffDEF"
        client_ipc.disconnect("raw")
        await _stop(server_ipc)

    run(body)


async def _send_and_wait_closed(address: str, data: bytes) -> None:
    """Connect a plain pipe client, write ``data`` and wait for the server to close it."""
    loop = asyncio.get_running_loop()
    closed = loop.create_future()

    class Hostile(asyncio.Protocol):
        def connection_made(self, transport):
            transport.write(data)

        def connection_lost(self, exc):
            closed.set_result(exc)

    await loop.create_pipe_connection(Hostile, address)
    await asyncio.wait_for(closed, 20)


def test_guarded_profile_closes_only_the_offending_pipe(run, root):
    async def body():
        server_ipc = make_ipc(
            root, id="guard", parser="guarded", maxMessageSize=1000, messageTimeout=300
        )
        errors = Recorder()

        def started():
            errors.watch(server_ipc.server, "error")
            server_ipc.server.on("ping", lambda d, s: s.emit("pong", d))

        await _serve(server_ipc, started)
        good = make_ipc(root, parser="guarded")
        got = Recorder()
        good.connectTo("guard", lambda: got.watch(good.of.guard, "pong"))
        await good.of.guard.wait_connected()

        address = pipe_path(root + "app.guard")
        await _send_and_wait_closed(address, b'{"type":"ping","data":1}\f{not json}\f')
        await errors.until(lambda: errors.of("error"))
        (error,) = errors.of("error")[0]
        assert isinstance(error, IPCProtocolError)
        assert error.code == "ERR_IPC_INVALID_JSON"
        # too large a frame: ERR_IPC_FRAME_TOO_LARGE, the good client unharmed
        await _send_and_wait_closed(address, b'{"type":"ping","data":"' + b"x" * 5000)
        await errors.until(lambda: len(errors.of("error")) == 2)
        assert errors.of("error")[1][0].code == "ERR_IPC_FRAME_TOO_LARGE"
        # an unfinished frame outstays messageTimeout: ERR_IPC_MESSAGE_TIMEOUT
        await _send_and_wait_closed(address, b'{"type":"ping","da')
        await errors.until(lambda: len(errors.of("error")) == 3)
        assert errors.of("error")[2][0].code == "ERR_IPC_MESSAGE_TIMEOUT"

        good.of.guard.emit("ping", "still here")
        await got.until(lambda: got.of("pong"))
        assert got.of("pong") == [("still here",)]
        assert len(server_ipc.server.sockets) == 1
        good.disconnect("guard")
        await _stop(server_ipc)

    run(body)


def test_second_server_cannot_take_over_a_served_name(run, root):
    async def body():
        first = make_ipc(root, id="taken")
        await _serve(first, lambda: first.server.on("who", lambda d, s: s.emit("me", "first")))
        second = make_ipc(root, id="taken")
        second.serve(lambda: None)
        second.server.start()
        with pytest.raises(PermissionError, match="already served"):
            await second.server.wait_started()
        second.server.stop()
        client = make_ipc(root)
        got = Recorder()
        client.connectTo("taken", lambda: got.watch(client.of.taken, "me"))
        client.of.taken.emit("who")
        await got.until(lambda: got.of("me"))
        assert got.of("me") == [("first",)]
        client.disconnect("taken")
        await _stop(first)

    run(body)


async def _client_process(script: str, seen: Recorder, **env: str) -> int:
    """Run ``script`` in a Python child process until the server has seen it
    leave (``socket.disconnected``) and it has exited 0; return its pid."""
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.DEVNULL, env={**os.environ, **env}
    )
    try:
        await seen.until(lambda: seen.of("socket.disconnected"), timeout=30)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    return child.pid


def test_peer_pid_is_the_client_process(run, root):
    """A client in another process: socket.peerPid is that process's id."""

    async def body():
        server_ipc = make_ipc(root, id="pids")
        seen = Recorder()
        await _serve(
            server_ipc, lambda: seen.watch(server_ipc.server, "connect", "socket.disconnected")
        )
        script = client_process_script(root, "pids")
        server_ipc.server.on("bye", lambda data, sock: sock.emit("ok"))
        child_pid = await _client_process(script, seen)
        (sock,) = [args[0] for args in seen.of("connect")]
        assert sock.peerPid == child_pid != os.getpid()
        await _stop(server_ipc)

    run(body)


def test_background_loop_thread_serves_and_connects(root):
    """From plain code: the loop thread runs a Proactor loop."""
    server_ipc = make_ipc(root, id="sync")
    seen = Recorder()

    def started():
        server_ipc.server.on("ping", lambda d, s: s.emit("pong", d * 2))

    server_ipc.serve(started)
    server_ipc.server.start()
    client_ipc = make_ipc(root)
    client_ipc.connectTo("sync", lambda: seen.watch(client_ipc.of.sync, "connect", "pong"))
    seen.wait(lambda: seen.of("connect"), timeout=20)
    for i in range(100):
        client_ipc.of.sync.emit("ping", i)
    seen.wait(lambda: len(seen.of("pong")) == 100, timeout=20)
    assert [args[0] for args in seen.of("pong")] == [i * 2 for i in range(100)]
    client_ipc.disconnect("sync")
    server_ipc.server.stop()


def test_assured_refuses_a_widened_pipe(root):
    from fastipc.errors import AssuredTransportError

    ipc = make_ipc(
        root,
        id="strict",
        parser="assured",
        allowedEvents=["x"],
        secureSocketRoot=True,
        readableAll=True,
    )
    ipc.serve(lambda: None)
    with pytest.raises(AssuredTransportError, match="owner-only"):
        ipc.server.start()


def test_both_json_engines_over_a_pipe(run, root):
    """The lane's orjson (a Windows wheel) on the server, the stdlib fallback
    (FASTIPC_JSON=json) in a client process: the same values both ways."""

    async def body():
        from fastipc import _json

        assert _json.ENGINE == "orjson"
        server_ipc = make_ipc(root, id="engines")
        seen = Recorder()

        def started():
            seen.watch(server_ipc.server, "got", "socket.disconnected")
            server_ipc.server.on("hello", lambda data, sock: sock.emit("values", PAYLOADS))

        await _serve(server_ipc, started)
        script = textwrap.dedent(
            f"""
            from fastipc import IPC, _json
            assert _json.ENGINE == "json", _json.ENGINE
            ipc = IPC()
            ipc.config.silent = True
            ipc.config.socketRoot = {root!r}
            ipc.config.maxRetries = 0
            def echo(values):
                ipc.of.engines.emit("got", values)
                ipc.disconnect("engines")
            def connected():
                ipc.of.engines.on("connect", lambda: ipc.of.engines.emit("hello"))
                ipc.of.engines.on("values", echo)
            ipc.connectTo("engines", connected)
            """
        )
        await _client_process(script, seen, FASTIPC_JSON="json")
        assert seen.of("got")[0][0] == PAYLOADS
        await _stop(server_ipc)

    run(body)


def test_sync_keeps_one_message_in_flight_over_a_pipe(run, root):
    from ..helpers import DelayedAnswers

    count = 200

    async def body():
        server_ipc = make_ipc(root, id="onebyone")
        behaviours: list[DelayedAnswers] = []
        await _serve(server_ipc, lambda: behaviours.append(DelayedAnswers(server_ipc.server)))
        client_ipc = make_ipc(root, sync=True)
        got = Recorder()
        client_ipc.connectTo("onebyone", lambda: got.watch(client_ipc.of.onebyone, "ack"))
        for i in range(count):
            assert client_ipc.of.onebyone.emit("req", i) is True
        await got.until(lambda: len(got.of("ack")) == count, timeout=40)
        (answers,) = behaviours
        assert answers.received == list(range(count))
        assert [args[0] for args in got.of("ack")] == list(range(count))
        assert answers.max_in_flight == 1
        client_ipc.disconnect("onebyone")
        # the control: without sync the same server sees requests overlap
        plain = make_ipc(root)
        more = Recorder()
        plain.connectTo("onebyone", lambda: more.watch(plain.of.onebyone, "ack"))
        for i in range(50):
            plain.of.onebyone.emit("req", i)
        await more.until(lambda: len(more.of("ack")) == 50)
        assert answers.max_in_flight > 1
        plain.disconnect("onebyone")
        await _stop(server_ipc)

    run(body)


def test_assured_serves_an_owner_only_pipe(run, root):
    async def body():
        strict = {"parser": "assured", "allowedEvents": ["x"], "secureSocketRoot": True}
        server_ipc = make_ipc(root, id="owner", **strict)
        seen = Recorder()
        await _serve(server_ipc, lambda: seen.watch(server_ipc.server, "x"))
        client_ipc = make_ipc(root, **strict)
        client_ipc.connectTo("owner", lambda: None)
        client_ipc.of.owner.emit("x", {"ok": True})
        await seen.until(lambda: seen.of("x"))
        assert seen.of("x")[0][0] == {"ok": True}
        client_ipc.disconnect("owner")
        await _stop(server_ipc)

    run(body)
