"""Connect storms: thousands of clients connecting to one server at once.

On Linux a non-blocking ``connect()`` to a Unix socket whose listen backlog
is full fails with EAGAIN, which asyncio takes for "in progress": it then
reported a socket that never connected as connected, the client fired
``connect``, and what it emitted was lost. These tests fill the backlog on
purpose (a small ``backlog``, many clients at once) and check that every
client sees exactly one ``connect`` and that everything it emits after it
arrives exactly once, in order.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from fastipc import IPC

from .helpers import (
    WAIT,
    Recorder,
    assert_codec,
    closed,
    codec_params,
    make_ipc,
    python_env,
    started,
    stay_quiet,
    use_codec,
)

MESSAGES = 5  # each client emits this many numbered events after 'connect'


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _server(root: str, backlog: int) -> tuple[IPC, dict[int, list[int]], Recorder]:
    """The storm server, what it received per client, and a recorder of
    every 'm' it got (no arguments kept)."""
    ipc = make_ipc(root, id="storm", maxConnections=100_000, backlog=backlog)
    received: dict[int, list[int]] = {}
    changes = Recorder()

    def message(data: Any, socket: Any) -> None:
        received.setdefault(data["c"], []).append(data["i"])
        changes.record("m")

    ipc.serve(lambda: None)
    assert ipc.server is not None
    ipc.server.on("m", message)
    return ipc, received, changes


@pytest.mark.parametrize("backlog", [8, 511])
def test_storm_in_one_process(run, root, backlog):
    """2,000 clients in one process, all started in one loop turn."""
    clients = 2000
    _raise_fd_limit(2 * clients + 256)

    async def body():
        server_ipc, received, changes = _server(root, backlog)
        server_ipc.server.start()
        await started(server_ipc.server)
        connects: dict[int, int] = {}
        errors: list[BaseException] = []
        ipcs = []
        for c in range(clients):
            ipc = make_ipc(root, retry=50)
            ipcs.append(ipc)

            def registered(ipc=ipc, c=c):
                client = ipc.of.storm

                @client.on("connect")
                def connected():
                    connects[c] = connects.get(c, 0) + 1
                    for i in range(MESSAGES):
                        client.emit("m", {"c": c, "i": i})

                client.on("error", errors.append)

            ipc.connectTo("storm", registered)
        await changes.until(
            lambda: len(changes.items) >= clients * MESSAGES,
            10 * WAIT,
            f"{clients * MESSAGES} events",
        )
        # a client that reconnected would emit again: give it time to show
        await stay_quiet()
        for ipc in ipcs:
            ipc.disconnect("storm")
        server_ipc.server.stop()
        await closed(server_ipc.server)
        return connects, received, errors

    connects, received, errors = run(body, 12 * WAIT)
    assert len(connects) == clients
    assert {n for n in connects.values()} == {1}, "a client saw more than one 'connect'"
    wrong = {c: got for c, got in received.items() if got != list(range(MESSAGES))}
    assert not wrong, f"{len(wrong)} clients' events arrived lost, twice or out of order"
    assert len(received) == clients
    # A full backlog is waited out for a while; a client that waited longer
    # than that (a backlog of 8 against 2,000 clients) says so with EAGAIN
    # and retries, and nothing else goes wrong.
    assert all(isinstance(e, BlockingIOError) and e.errno == errno.EAGAIN for e in errors)


_WORKER = textwrap.dedent(
    """
    import sys, threading
    from fastipc import IPC
    import fastipc.framing

    root, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ipcs = []
    done = []
    all_done = threading.Event()

    def bye(data):
        done.append(data)
        if len(done) == count:
            all_done.set()

    print("codec", fastipc.framing.IMPLEMENTATION, flush=True)
    print("ready", flush=True)
    sys.stdin.readline()  # the gate: the test releases every worker at once
    for c in range(first, first + count):
        ipc = IPC()
        ipc.config.silent = True
        ipc.config.socketRoot = root
        ipc.config.retry = 50
        ipcs.append(ipc)

        def registered(ipc=ipc, c=c):
            client = ipc.of.storm
            def connected():
                for i in range(5):
                    client.emit("m", {"c": c, "i": i})
                client.emit("connected", c)
            client.on("connect", connected)
            client.on("bye", bye)
        ipc.connectTo("storm", registered)
    all_done.wait(60)
    for ipc in ipcs:
        ipc.disconnect("storm")
    print(len(done), flush=True)
    """
)


@pytest.mark.parametrize(("server", "workers"), codec_params("server", "workers"))
def test_storm_across_processes(root, monkeypatch, server, workers):
    """A few hundred clients in four processes released at once, against a
    backlog of 8, with the server on the background loop thread."""
    use_codec(monkeypatch, server)
    processes, per_process = 4, 100
    server_ipc, received, _ = _server(root, backlog=8)
    connects: dict[int, int] = {}

    def connected(c: int, socket: Any) -> None:
        connects[c] = connects.get(c, 0) + 1
        socket.emit("bye", c)

    server_ipc.server.on("connected", connected)
    server_ipc.server.start()
    env = python_env(workers)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, root, str(n * per_process), str(per_process)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(processes)
    ]
    try:
        # every interpreter has started and imported fastipc; then release all
        for w in children:
            assert_codec(w.stdout.readline(), workers)  # type: ignore[union-attr]
            assert w.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        for w in children:
            w.stdin.write("go\n")  # type: ignore[union-attr]
            w.stdin.flush()  # type: ignore[union-attr]
        outputs = [w.communicate(timeout=9 * WAIT)[0].strip() for w in children]
    finally:
        for w in children:
            if w.poll() is None:
                w.kill()
                w.wait()
        server_ipc.server.stop()
    assert outputs == [str(per_process)] * processes
    total = processes * per_process
    assert len(connects) == total and set(connects.values()) == {1}
    wrong = {c: got for c, got in received.items() if got != list(range(MESSAGES))}
    assert not wrong and len(received) == total


def test_full_backlog_is_waited_out_then_refused_within_the_retry_policy(run, root):
    """A listener whose backlog stays full never makes a client report
    'connect': each attempt waits (at least 2 s), fails with EAGAIN, and the
    retry policy (here maxRetries=1) then destroys the client."""
    path = root + "full.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    fillers = []
    try:
        while True:  # fill the backlog: connect() fails with EAGAIN once it is full
            filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect(path)
            except BlockingIOError:
                filler.close()
                break
            fillers.append(filler)
            assert len(fillers) < 64

        async def body():
            ipc = make_ipc(retry=100, maxRetries=1)
            events: list[Any] = []
            done = asyncio.get_running_loop().create_future()

            def registered():
                client = ipc.of.full
                for name in ("connect", "disconnect"):
                    client.on(name, lambda name=name: events.append(name))
                client.on("error", lambda exc: events.append(exc))
                client.on("destroy", lambda: done.set_result(None))

            ipc.connectTo("full", path, registered)
            await asyncio.wait_for(done, 2 * WAIT)
            return events

        events = run(body)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    names = [e if isinstance(e, str) else "error" for e in events]
    assert names == ["error", "disconnect", "error", "disconnect"]
    for error in events[0::2]:
        assert isinstance(error, BlockingIOError) and error.errno == errno.EAGAIN
        assert "backlog" in str(error)
