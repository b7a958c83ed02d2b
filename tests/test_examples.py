"""Every example in examples/ runs as a real process and says what it should."""

from __future__ import annotations

import os
import re

import pytest

from .helpers import example


def test_local_server_and_client(root):
    with example("local_server.py", "--socket-root", root, "--clients", "2") as server:
        path = server.expect(r"serving 'world' on (.*)$").group(1)
        assert path == os.path.join(root, "app.world")
        with example("local_client.py", "--socket-root", root) as client:
            assert client.wait() == 0, client.report()
        # ipc.disconnect() removes the handlers first, as node-ipc does: the
        # client's own disconnect prints nothing
        assert client.out == [
            "## connected to world ##",
            "got a message from world: 'hello world!'",
        ]
        with example("local_client.py", "--socket-root", root, "--messages", "3") as client:
            assert client.wait() == 0, client.report()
        assert client.out[1:4] == [
            "got a message from world: 'hello world!'",
            "got a message from world: 'hello #2 world!'",
            "got a message from world: 'hello #3 world!'",
        ]
        assert server.wait() == 0, server.report()  # stops by itself after 2 clients
    assert server.out[1:] == [
        "got a message: 'hello'",
        "client False has disconnected!",  # no identifyPeer: node-ipc's false
        "got a message: 'hello'",
        "got a message: 'hello #2'",
        "got a message: 'hello #3'",
        "client False has disconnected!",
        "served enough clients; stopping",
    ]
    assert not os.path.exists(path)


def test_tcp_server_and_client():
    with example("tcp_server.py", "--port", "0", "--clients", "1") as server:
        port = server.expect(r"serving 'world' on 127\.0\.0\.1:(\d+)$").group(1)
        with example("tcp_client.py", "--port", port, "--messages", "2") as client:
            assert client.wait() == 0, client.report()
        assert client.out == [
            f"## connected to world on 127.0.0.1:{port} ##",
            "got a message from world: 'hello world!'",
            "got a message from world: 'hello #2 world!'",
        ]
        assert server.wait() == 0, server.report()
    assert server.out[1:3] == [
        "got a message from 127.0.0.1: 'hello'",
        "got a message from 127.0.0.1: 'hello #2'",
    ]
    assert re.fullmatch(r"client 127\.0\.0\.1:\d+ has disconnected!", server.out[3])
    assert server.out[4] == "served enough clients; stopping"


def test_broadcast_server_and_clients(root):
    names = ["ada", "bob", "cy"]
    with example(
        "broadcast_server.py", "--socket-root", root, "--clients", "3", "--ticks", "3"
    ) as server:
        server.expect("waiting for 3 clients")
        clients = [
            example("broadcast_client.py", "--name", name, "--socket-root", root) for name in names
        ]
        try:
            for client in clients:
                assert client.wait() == 0, client.report()
        finally:
            for client in clients:
                client.__exit__(None, None, None)
        assert server.wait() == 0, server.report()
    for name, client in zip(names, clients, strict=True):
        assert client.out == [
            *(f"{name} got tick {n} (clients: ada, bob, cy)" for n in (1, 2, 3)),
            f"{name} got bye",
        ]
    joined = [line.split()[0] for line in server.out if "joined" in line]
    assert sorted(joined) == names
    assert [line for line in server.out if line.startswith("broadcast")] == [
        f"broadcast tick {n} to 3 clients" for n in (1, 2, 3)
    ]
    assert sorted(line.split()[0] for line in server.out if line.endswith(" left")) == names
    assert server.out[-1] == "stopped"


def test_asyncio_server(root):
    with example("asyncio_server.py", "--socket-root", root, "--count", "3") as run:
        assert run.wait() == 0, run.report()
    assert run.out == [
        f"serving 'world' on {os.path.join(root, 'app.world')} (thread: MainThread)",
        "## connected to world ##",
        "got a message from world: 'hello #1 world!'",
        "got a message from world: 'hello #2 world!'",
        "got a message from world: 'hello #3 world!'",
        "stopped; threads running: 1",  # no loop thread inside asyncio.run
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="pre-fork needs os.fork")
def test_prefork_cluster(root):
    with example(
        "prefork_cluster.py", "--socket-root", root, "--workers", "3", "--requests", "9"
    ) as run:
        assert run.wait() == 0, run.report()
    master = re.fullmatch(r"master \d+ forked workers \[(.*)\]", run.out[0])
    assert master, run.report()
    workers = {int(pid) for pid in master.group(1).split(", ")}
    assert len(workers) == 3
    listening = {
        int(m.group(1))
        for line in run.out
        if (m := re.fullmatch(r"pid (\d+) listening on .*", line))
    }
    assert listening == workers  # every worker served the one socket path
    answered = [
        int(m.group(1))
        for line in run.out
        if (m := re.fullmatch(r"request \d+ answered by worker (\d+)", line))
    ]
    assert len(answered) == 9
    assert set(answered) <= workers
    got = [
        int(m.group(1))
        for line in run.out
        if (m := re.fullmatch(r"pid (\d+) got: \{'message': '.*'\}", line))
    ]
    assert sorted(got) == sorted(answered)
    assert run.out[-1] == "workers stopped"
    assert os.listdir(root) == []
