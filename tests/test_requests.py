"""Request/reply (fastipc._rpc): both faces, every run mode, both codecs.

A request is awaited inside a running loop and blocks from plain code;
answers are matched by id whatever their order; errors come back as
RemoteError; timeouts, cancels and closed connections fail a request at
once, and an answer that comes too late is dropped and counted.
"""

from __future__ import annotations

import asyncio
import pickle
import random
import socket
import threading
from typing import Any

import pytest

from fastipc import IPCError, IPCNotConnectedError, RemoteError, RequestTimeoutError

from .helpers import (
    QUIET,
    WAIT,
    Pending,
    Recorder,
    ask,
    closed,
    connected,
    make_ipc,
    started,
)


async def pair(root: str, id: str, **config: Any) -> tuple[Any, Any, Any, Any]:
    """A started server and a connected client: (server, server IPC, client, client IPC)."""
    server_ipc = make_ipc(root, id=id, **config)
    server = server_ipc.serve()
    server.start()
    await started(server)
    client_ipc = make_ipc(root, **config)
    client = client_ipc.connectTo(id)
    await connected(client)
    return server, server_ipc, client, client_ipc


async def unpair(server: Any, client_ipc: Any, id: str) -> None:
    client = client_ipc.of.get(id)
    client_ipc.disconnect(id)
    if client is not None:
        await closed(client)
    server.stop()
    await closed(server)


def test_requests_both_ways_with_results_and_errors(mode, root):
    async def body():
        server, _, client, client_ipc = await pair(root, "calc")
        server.on_request("add", lambda data, sock: data["a"] + data["b"])

        @server.on_request("fail")
        def fail(data, sock):
            raise ValueError(f"cannot take {data!r}")

        @server.on_request("later")
        async def later(data, sock):
            await asyncio.sleep(0)
            return {"echo": data}

        @client.on_request("whoami")
        def whoami(data):
            return ["client", data]

        assert await ask(client, "add", {"a": 2, "b": 3}) == 5
        assert await ask(client, "later", [1, "x", None]) == {"echo": [1, "x", None]}
        with pytest.raises(RemoteError) as failed:
            await ask(client, "fail", 7)
        assert failed.value.remote_type == "ValueError"
        assert str(failed.value) == "ValueError: cannot take 7"
        assert "raise ValueError" in failed.value.remote_traceback
        assert failed.value.code == "ERR_IPC_REMOTE_ERROR"
        with pytest.raises(RemoteError) as missing:
            await ask(client, "nobody-handles-this")
        assert missing.value.remote_type == "LookupError"
        # the server asks the client, through the socket or the server
        (sock,) = server.sockets
        assert await ask(sock, "whoami", 1) == ["client", 1]
        assert await ask(server, sock, "whoami", 2) == ["client", 2]
        assert client.lateReplies == 0 and server.lateReplies == 0
        await unpair(server, client_ipc, "calc")

    mode.run(body)


@pytest.mark.loops("asyncio", "uvloop")
def test_many_requests_in_flight_answered_out_of_order(mode, root):
    async def body():
        server, _, client, client_ipc = await pair(root, "shuffle")
        delays = random.Random(11)

        @server.on_request("square")
        async def square(n, sock):
            await asyncio.sleep(delays.random() * 0.01)  # answers leave in another order
            return n * n

        answers = await asyncio.gather(*(client.request("square", n) for n in range(300)))
        assert answers == [n * n for n in range(300)]
        await unpair(server, client_ipc, "shuffle")

    mode.run(body)


@pytest.mark.loops("thread")
def test_requests_from_many_threads_at_once(mode, root):
    async def body():
        server, _, client, client_ipc = await pair(root, "threads")
        server.on_request("twice", lambda n, sock: 2 * n)
        results: dict[int, list[int]] = {}

        def worker(k: int) -> None:
            results[k] = [client.request("twice", 100 * k + i, timeout=WAIT) for i in range(50)]

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert results == {k: [2 * (100 * k + i) for i in range(50)] for k in range(8)}
        await unpair(server, client_ipc, "threads")

    mode.run(body)


def test_a_timeout_fails_the_request_and_the_late_answer_is_counted(mode, root):
    async def body():
        server, _, client, client_ipc = await pair(root, "slow")
        release = threading.Event()
        answered = Recorder()

        @server.on_request("wait")
        async def wait(data, sock):
            await asyncio.get_running_loop().run_in_executor(None, release.wait, WAIT)
            answered.record("answered")
            return "too late"

        with pytest.raises(RequestTimeoutError) as timed_out:
            await ask(client, "wait", timeout=QUIET)
        assert isinstance(timed_out.value, TimeoutError)
        assert timed_out.value.code == "ERR_IPC_REQUEST_TIMEOUT"
        release.set()
        await answered.until(lambda: answered.of("answered"))
        await answered.until(lambda: client.lateReplies == 1)
        # the connection still works
        server.on_request("ping", lambda data, sock: "pong")
        assert await ask(client, "ping") == "pong"
        await unpair(server, client_ipc, "slow")

    mode.run(body)


@pytest.mark.loops("asyncio", "uvloop")
def test_a_cancelled_request_leaves_nothing_behind(mode, root):
    async def body():
        server, _, client, client_ipc = await pair(root, "cancel")
        release = asyncio.Event()
        seen = Recorder()

        @server.on_request("hold")
        async def hold(data, sock):
            seen.record("asked")
            await release.wait()
            return "answer"

        task = asyncio.ensure_future(client.request("hold"))
        await seen.until(lambda: seen.of("asked"))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        await seen.until(lambda: client.lateReplies == 1)
        await unpair(server, client_ipc, "cancel")

    mode.run(body)


def test_requests_in_flight_fail_at_once_when_the_connection_closes(mode, root):
    async def body():
        server, _, client, _client_ipc = await pair(root, "drop", maxRetries=0)
        asked = Recorder()

        @server.on_request("never")
        def never(data, sock):
            asked.record("asked", sock)
            return asyncio.get_running_loop().create_future()  # no answer ever

        @client.on_request("never")
        def client_never(data):
            asked.record("client asked")
            return asyncio.get_running_loop().create_future()

        async def request(target: Any, *args: Any) -> Any:
            return await target.request(*args)  # on a loop: the awaitable face

        # the client's request fails when the server drops its connection
        pending = Pending(lambda: request(client, "never"))
        await asked.until(lambda: asked.of("asked"))
        asked.of("asked")[0][0].destroy()
        with pytest.raises(IPCNotConnectedError):
            await pending.result()
        await closed(client)
        # a server's request fails when that client goes away
        client_ipc2 = make_ipc(root)
        client2 = client_ipc2.connectTo("drop")
        client2.on_request("never", client_never)
        await connected(client2)
        await asked.until(lambda: len(server.sockets) == 1)
        (sock2,) = server.sockets
        pending2 = Pending(lambda: request(server, sock2, "never"))
        await asked.until(lambda: asked.of("client asked"))
        client_ipc2.disconnect("drop")
        with pytest.raises(IPCNotConnectedError):
            await pending2.result()
        await closed(client2)
        server.stop()
        await closed(server)

    mode.run(body)


def test_bad_arguments_are_refused_at_once(root):
    ipc = make_ipc(root)
    client = ipc.connectTo("nobody")
    try:
        with pytest.raises(TypeError):
            client.request(42)
        with pytest.raises(TypeError):
            client.request("")
        with pytest.raises(ValueError):
            client.request("x", timeout=0)
        with pytest.raises(TypeError):
            client.on_request("x", "not callable")
    finally:
        ipc.disconnect("nobody")
    with pytest.raises(IPCNotConnectedError):
        client.request("x", timeout=1)
    raw = make_ipc(root, rawBuffer=True)
    raw_client = raw.connectTo("nobody")
    try:
        with pytest.raises(IPCError, match="rawBuffer"):
            raw_client.request("x")
    finally:
        raw.disconnect("nobody")


def test_stray_and_malformed_messages_from_a_peer_do_not_disturb_requests(root):
    """A raw peer sends replies nobody asked for and requests without an id:
    they are dropped (and counted), the server keeps answering."""
    server_ipc = make_ipc(root, id="stray")
    server = server_ipc.serve()
    server.on_request("echo", lambda data, sock: data)
    server.start()
    try:
        with socket.socket(socket.AF_UNIX) as raw:
            raw.settimeout(WAIT)
            raw.connect(root + "app.stray")
            raw.sendall(
                b'{"type":"fastipc.reply","data":{"id":99,"data":1}}\f'
                b'{"type":"fastipc.reply","data":"junk"}\f'
                b'{"type":"fastipc.request","data":{"type":"echo"}}\f'
                b'{"type":"fastipc.request","data":{"id":5,"type":"echo","data":[1,2]}}\f'
            )
            answer = b""
            while not answer.endswith(b"\f"):
                answer += raw.recv(4096)
        assert answer == b'{"type":"fastipc.reply","data":{"id":5,"data":[1,2]}}\f'
        assert server.lateReplies == 2
    finally:
        server.stop()


def test_remote_errors_pickle_with_what_they_carry():
    error = RemoteError("boom", remote_type="KeyError", remote_traceback="Traceback ...")
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), str(back), back.remote_type, back.remote_traceback, back.code) == (
        RemoteError,
        "KeyError: boom",
        "KeyError",
        "Traceback ...",
        "ERR_IPC_REMOTE_ERROR",
    )
    assert str(RemoteError.from_wire("not a dict")) == "Error: 'not a dict'"


@pytest.mark.loops("asyncio", "uvloop")
def test_timeouts_fire_in_deadline_order_among_thousands_answered(mode, root):
    """Timed requests share one timer over a heap of deadlines: answered ones
    leave stale entries (compacted), a shorter timeout issued later moves the
    timer earlier, and each unanswered request fails at its own deadline."""

    async def body():
        server, _, client, client_ipc = await pair(root, "deadlines")
        server.on_request("fast", lambda n, sock: n)
        server.on_request("never", lambda data, sock: asyncio.get_running_loop().create_future())
        loop = asyncio.get_running_loop()
        assert await asyncio.gather(
            *(client.request("fast", n, timeout=WAIT) for n in range(3000))
        ) == list(range(3000))
        failed: list[tuple[str, float]] = []

        async def timed(name: str, timeout: float) -> None:
            start = loop.time()
            with pytest.raises(RequestTimeoutError):
                await client.request("never", name, timeout=timeout)
            failed.append((name, loop.time() - start))

        # the longest first, so the later, shorter ones move the timer earlier
        await asyncio.gather(
            timed("long", 3 * QUIET), timed("mid", 2 * QUIET), timed("short", QUIET)
        )
        assert [name for name, _ in failed] == ["short", "mid", "long"]
        for (_, took), timeout in zip(failed, (QUIET, 2 * QUIET, 3 * QUIET), strict=True):
            assert took >= timeout - 0.001  # not early (a clock tick aside)
        assert client.lateReplies == 0
        await unpair(server, client_ipc, "deadlines")

    mode.run(body)
