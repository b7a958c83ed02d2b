"""Request/reply with real node-ipc 14 peers, both ways.

``node/rpc_peer.mjs`` answers and asks with the few lines of plain node-ipc
code the request/reply guide shows: it listens for ``fastipc.request`` and
emits ``fastipc.reply`` with the same id. So these tests check fastipc
against the documented wire form, as a Node program sees it: a fastipc
client asking a node-ipc server (results, error answers, 200 requests
answered out of order, a timeout with its late answer, a connection that
closes), a node-ipc client asking a fastipc server (sync and coroutine
handlers, errors, a missing handler, 200 in flight), and the two roles the
other way round.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from fastipc import IPCNotConnectedError, RemoteError, RequestTimeoutError

from ..helpers import (
    QUIET,
    Endpoint,
    Mode,
    Session,
    ask,
    closed,
    connected,
    loop_running,
    make_ipc,
    off_loop,
    session,
    started,
)
from ._node import NODE_WAIT, NodeProcess

pytestmark = pytest.mark.interop

#: Requests in flight at once in the out-of-order tests.
MANY = 200


class RpcPeer(NodeProcess):
    """One ``rpc_peer.mjs`` process (a node-ipc 14 server or client)."""

    label = "rpc peer"

    def __init__(self, node: os.PathLike[str], spec: dict[str, Any]) -> None:
        super().__init__(node, "rpc_peer.mjs", json.dumps(spec), spec=spec)

    def take(self, ev: str, count: int, timeout: float = NODE_WAIT) -> list[dict[str, Any]]:
        """The next ``count`` lines for ``ev`` (lines for others are passed over)."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            line = self.poll(ev, max(deadline - time.monotonic(), 0))
            if line is None:
                pytest.fail(f"rpc peer: {len(got)} of {count} {ev!r} lines; {self.diagnostics()}")
            got.append(line)
        return got

    def ask(self, type: str, *data: Any) -> dict[str, Any]:
        """Send one request (no ``data``: a request without data) and
        return its reply as Node received it."""
        if data:
            self.send(cmd="request", type=type, data=data[0])
        else:
            self.send(cmd="request", type=type)
        sent = self.wait("sent")
        reply = self.wait("reply")["msg"]
        assert reply["id"] == sent["id"], (sent, reply)
        return reply  # type: ignore[no-any-return]


def peer_spec(root: str, endpoint: Endpoint, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "id": "srv",
        **endpoint.node_spec(),
        "config": {"socketRoot": root, "appspace": "app."},
    }


@contextlib.contextmanager
def rpc_peer(node: os.PathLike[str], spec: dict[str, Any]) -> Iterator[RpcPeer]:
    """A started peer from plain code, closed on exit."""
    peer = RpcPeer(node, spec)
    try:
        peer.wait("ready")
        yield peer
    finally:
        peer.close()


@contextlib.asynccontextmanager
async def rpc_peer_in_body(node: os.PathLike[str], spec: dict[str, Any]) -> AsyncIterator[RpcPeer]:
    """:func:`rpc_peer` inside a test body: waits off the loop in every mode."""
    peer = RpcPeer(node, spec)
    try:
        await off_loop(peer.wait, "ready")
        yield peer
    finally:
        await off_loop(peer.close)


class Asking:
    """``client.request(...)`` started now and finished later: a task inside
    a running loop, a thread making the blocking call from plain code."""

    def __init__(self, client: Any, *args: Any, **kwargs: Any) -> None:
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._future: Any
        if loop_running():
            self._future = asyncio.ensure_future(client.request(*args, **kwargs))
        else:
            self._pool = concurrent.futures.ThreadPoolExecutor(1)
            self._future = self._pool.submit(client.request, *args, **kwargs)

    async def outcome(self) -> Any:
        try:
            if self._pool is None:
                return await asyncio.wait_for(self._future, NODE_WAIT)
            return self._future.result(NODE_WAIT)
        finally:
            if self._pool is not None:
                self._pool.shutdown()


async def connect_client(root: str, endpoint: Endpoint, **config: Any) -> tuple[Any, Any]:
    """A fastipc client of the Node server ``srv``, connected: (ipc, client)."""
    ipc = make_ipc(root, **config)
    client = endpoint.connect(ipc, "srv", lambda: None)
    await connected(client)
    return ipc, client


async def disconnect_client(ipc: Any, client: Any) -> None:
    ipc.disconnect("srv")
    await closed(client)


def without_id(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "id"}


# ---------------------------------------------------------------- a fastipc client asks Node


@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_python_client_asks_node_server(node, root, mode: Mode, transport):
    """Results, a request without data, an error answer and a missing
    handler, from a node-ipc server that answers with plain node-ipc code;
    Node sees the documented request shape."""
    endpoint = Endpoint(transport, root)
    value = {"text": "héllo 😀\f", "list": [1, 2.5, None, True], "nested": {"k": []}}
    with rpc_peer(node, peer_spec(root, endpoint, "server")) as peer:
        peer.wait("start")

        async def body() -> None:
            ipc, client = await connect_client(root, endpoint)
            try:
                assert await ask(client, "add", {"a": 2, "b": 40}) == 42
                assert await ask(client, "echo", value) == value
                # Node answers undefined: its reply has no data key at all
                assert await ask(client, "echo") is None
                with pytest.raises(RemoteError) as failed:
                    await ask(client, "fail", [1])
                error = failed.value
                assert error.remote_type == "TypeError"
                assert str(error) == "TypeError: cannot take [1]"
                assert error.code == "ERR_IPC_REMOTE_ERROR"
                # the Node stack, as the peer sent it
                assert error.remote_traceback.startswith("TypeError: cannot take [1]\n    at ")
                assert "rpc_peer.mjs" in error.remote_traceback
                with pytest.raises(RemoteError) as missing:
                    await ask(client, "nope", 1)
                assert missing.value.remote_type == "LookupError"
                assert missing.value.args[0] == "no handler for nope"
                assert missing.value.remote_traceback == ""
                assert client.lateReplies == 0
            finally:
                await disconnect_client(ipc, client)

        mode.run(body)
        seen = [line["msg"] for line in peer.take("request", 5)]
    ids = [message["id"] for message in seen]
    assert all(isinstance(id, int) and id > 0 for id in ids), ids
    assert len(set(ids)) == len(ids), ids
    assert [without_id(message) for message in seen] == [
        {"type": "add", "data": {"a": 2, "b": 40}},
        {"type": "echo", "data": value},
        {"type": "echo"},  # no data: no data key on the wire
        {"type": "fail", "data": [1]},
        {"type": "nope", "data": 1},
    ]


@pytest.mark.parametrize("order", ["reverse", "random"])
def test_python_client_many_in_flight_answered_out_of_order(node, root, mode: Mode, order):
    """200 requests in flight at once; the Node server answers them in
    reverse order, or each after a random delay; every answer reaches the
    request it belongs to. From plain code each request blocks its own thread."""
    endpoint = Endpoint("unix", root)
    kind = "gather" if order == "reverse" else "jitter"
    expected = [{"i": i, "square": i * i} for i in range(MANY)]
    with rpc_peer(node, peer_spec(root, endpoint, "server")) as peer:
        peer.wait("start")

        async def body() -> None:
            ipc, client = await connect_client(root, endpoint)
            try:
                data = [{"i": i, "total": MANY} for i in range(MANY)]
                if loop_running():
                    asked = [client.request(kind, d, timeout=NODE_WAIT) for d in data]
                    answers = await asyncio.gather(*asked)
                else:
                    with concurrent.futures.ThreadPoolExecutor(MANY) as pool:
                        asked = [
                            pool.submit(client.request, kind, d, timeout=NODE_WAIT) for d in data
                        ]
                        answers = [future.result(NODE_WAIT) for future in asked]
                assert answers == expected
                assert client.lateReplies == 0
            finally:
                await disconnect_client(ipc, client)

        mode.run(body)
        if kind == "gather":  # all 200 were held by Node at once
            (last,) = peer.take("request", 1)
            assert last["msg"]["data"]["total"] == MANY


def test_python_client_timeout_late_answer_and_closed_connection(node, root, mode: Mode):
    """A request Node holds times out; its late answer is dropped and
    counted, never given to the next request; a request in flight when the
    Node server exits fails with IPCNotConnectedError."""
    endpoint = Endpoint("unix", root)
    with rpc_peer(node, peer_spec(root, endpoint, "server")) as peer:
        peer.wait("start")

        async def body() -> None:
            ipc, client = await connect_client(root, endpoint)
            try:
                with pytest.raises(RequestTimeoutError) as timed_out:
                    await ask(client, "hold", "first", timeout=QUIET)
                assert timed_out.value.code == "ERR_IPC_REQUEST_TIMEOUT"
                assert isinstance(timed_out.value, TimeoutError)
                # the next request is in flight when Node answers both, in order
                second = Asking(client, "hold", "second", timeout=NODE_WAIT)
                held = await off_loop(peer.take, "request", 2)
                assert [line["msg"]["data"] for line in held] == ["first", "second"]
                peer.send(cmd="release")
                assert await second.outcome() == "second"
                # the answer to "first" came before, on the same connection
                assert client.lateReplies == 1
                # a request in flight when the connection closes fails at once
                third = Asking(client, "hold", "third")  # no timeout
                await off_loop(peer.wait, "request")
                peer.send(cmd="exit")
                with pytest.raises(IPCNotConnectedError):
                    await third.outcome()
            finally:
                await disconnect_client(ipc, client)

        mode.run(body)


# ---------------------------------------------------------------- Node asks a fastipc server


@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_node_client_asks_python_server(node, root, mode: Mode, transport):
    """A node-ipc client sends ``fastipc.request`` events and checks the
    ``fastipc.reply`` answers: sync and coroutine handlers, handlers that
    raise, a type with no handler, and 200 requests in flight answered in
    reverse order."""
    endpoint = Endpoint(transport, root)

    async def body() -> None:
        ipc = make_ipc(root, id="srv")
        server = endpoint.serve(ipc)
        server.on_request("add", lambda data, sock: data["a"] + data["b"])
        server.on_request("echo", lambda data, sock: data)

        @server.on_request("fail")
        def fail(data, sock):
            raise ValueError(f"cannot take {data!r}")

        @server.on_request("later")
        async def later(data, sock):
            await asyncio.sleep(0)
            return {"later": data}

        @server.on_request("later-fail")
        async def later_fail(data, sock):
            await asyncio.sleep(0)
            raise KeyError(data)

        waiting: list[asyncio.Future[None]] = []

        @server.on_request("gather")
        async def gather(data, sock):
            # hold every request until all are here, then answer in reverse
            waiting.append(asyncio.get_running_loop().create_future())
            mine = waiting[-1]
            if len(waiting) == MANY:
                for future in reversed(waiting):
                    future.set_result(None)
            await mine
            return data * 2

        server.start()
        try:
            await started(server)
            async with rpc_peer_in_body(node, peer_spec(root, endpoint, "client")) as peer:
                await off_loop(peer.wait, "connect")
                reply = await off_loop(peer.ask, "add", {"a": 2, "b": 3})
                assert without_id(reply) == {"data": 5}
                # no data in the request: the handler gets None
                assert without_id(await off_loop(peer.ask, "echo")) == {"data": None}
                assert without_id(await off_loop(peer.ask, "later", [1, "x"])) == {
                    "data": {"later": [1, "x"]}
                }
                for type, arg, name, message in [
                    ("fail", [1], "ValueError", "cannot take [1]"),
                    ("later-fail", "k", "KeyError", "'k'"),
                    ("nope", 1, "LookupError", "no handler for request type 'nope'"),
                ]:
                    reply = await off_loop(peer.ask, type, arg)
                    assert set(reply) == {"id", "error"}, reply
                    error = reply["error"]
                    assert set(error) == {"type", "message", "traceback"}, error
                    assert (error["type"], error["message"]) == (name, message)
                    assert error["traceback"].endswith(f"{name}: {message}\n"), error
                    if type != "nope":
                        assert error["traceback"].startswith("Traceback (most recent call last)")
                # many in flight, answered out of order
                peer.send(cmd="burst", type="gather", count=MANY)
                ids = (await off_loop(peer.wait, "burst-sent"))["ids"]
                replies = [line["msg"] for line in await off_loop(peer.take, "reply", MANY)]
                assert [r["id"] for r in replies] == ids[::-1]
                assert all(r["data"] == 2 * ids.index(r["id"]) for r in replies)
                assert server.lateReplies == 0
        finally:
            server.stop()
            await closed(server)

    mode.run(body)


# ---------------------------------------------------------------- the roles the other way round


@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_python_server_asks_node_client(node, root, codec, transport):
    """``Server.request`` and ``socket.request`` to a node-ipc client that
    answers with plain node-ipc code."""
    with session(root, transport) as s:
        _, server, sockets = s.server()
        with rpc_peer(node, peer_spec(root, s.endpoint, "client")) as peer:
            peer.wait("connect")
            sock = sockets.first("connect")
            assert server.request(sock, "add", {"a": 1, "b": 2}, timeout=NODE_WAIT) == 3
            assert sock.request("echo", ["ü", None], timeout=NODE_WAIT) == ["ü", None]
            with pytest.raises(RemoteError) as failed:
                sock.request("fail", "x", timeout=NODE_WAIT)
            assert failed.value.remote_type == "TypeError"
            assert failed.value.args[0] == 'cannot take "x"'
            assert server.lateReplies == 0
            seen = [line["msg"] for line in peer.take("request", 3)]
        assert [without_id(message) for message in seen] == [
            {"type": "add", "data": {"a": 1, "b": 2}},
            {"type": "echo", "data": ["ü", None]},
            {"type": "fail", "data": "x"},
        ]


@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_node_server_asks_python_client(node, root, codec, transport):
    """A node-ipc server asks a fastipc client's ``on_request`` handlers."""
    endpoint = Endpoint(transport, root)
    with rpc_peer(node, peer_spec(root, endpoint, "server")) as peer:
        peer.wait("start")
        with contextlib.closing(Session(root, endpoint)) as s:

            def setup(client: Any) -> None:
                client.on_request("twice", lambda data: data * 2)

                @client.on_request("fail")
                def fail(data):
                    raise RuntimeError("no")

            s.client(setup=setup)
            peer.wait("connect")
            assert without_id(peer.ask("twice", 21)) == {"data": 42}
            error = peer.ask("fail", None)["error"]
            assert (error["type"], error["message"]) == ("RuntimeError", "no")
            error = peer.ask("missing", None)["error"]
            assert error["type"] == "LookupError"
