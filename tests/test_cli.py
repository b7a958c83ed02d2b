"""``python -m fastipc``: every subcommand as a real process, also against
node-ipc 14 peers on Node 22."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from fastipc import IPC
from fastipc.__main__ import event_line, main

from .helpers import ROOT, WAIT, Process, free_port, python_env

CLI_NODE = ROOT / "tests" / "cli_node"


def fastipc(*args: str) -> Process:
    return Process([sys.executable, "-m", "fastipc", *args])


def run_fastipc(*args: str, timeout: float = 2 * WAIT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastipc", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=python_env(),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- unit


def test_event_line_is_compact_utf8_json_with_buffers():
    assert (
        event_line("m", "wörld 🌍", "local#1") == '{"type":"m","data":"wörld 🌍","from":"local#1"}'
    )
    line = event_line("b", {"raw": b"\x00\xff"}, "x")
    assert json.loads(line)["data"] == {"raw": {"type": "Buffer", "data": [0, 255]}}


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["emit"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["emit", "world", "message", "{not json"])
    assert exc.value.code == 2
    assert "not valid JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["serve"])
    assert "needs an ID" in capsys.readouterr().err


def test_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["scripts"]["fastipc"] == "fastipc.__main__:main"


# ---------------------------------------------------------------- serve / emit


def test_serve_by_id_prints_what_emit_sends(root):
    with fastipc("serve", "world", "--socket-root", root) as server:
        path = server.expect(r"serving on (.*)$", "err").group(1)
        assert path == os.path.join(root, "app.world")
        for args in (
            ["message", '"hello wörld 🌍"'],
            ["ping"],
            ["obj", '{"id":"bob","n":[1,null,1e3]}'],
        ):
            done = run_fastipc("emit", "world", *args, "--socket-root", root)
            assert done.returncode == 0, done.stderr
            server.expect(args[0])
        assert server.signal(signal.SIGINT) == 0
        assert not os.path.exists(path)  # stopped cleanly: the socket is gone
    assert server.events() == [
        {"type": "message", "data": "hello wörld 🌍", "from": "local#1"},
        {"type": "ping", "data": {}, "from": "local#2"},  # omitted data is {}
        {
            "type": "obj",
            "data": {"id": "bob", "n": [1, None, 1000.0]},
            "from": "bob",
        },  # identifyPeer
    ]


def test_serve_tcp_names_peer_addresses_and_stops_on_sigterm():
    with fastipc("serve", "--tcp", "127.0.0.1:0") as server:
        port = int(server.expect(r"serving on 127\.0\.0\.1:(\d+)$", "err").group(1))
        done = run_fastipc("emit", "x", "message", "[1,2]", "--tcp", f"127.0.0.1:{port}")
        assert done.returncode == 0, done.stderr
        server.expect("message")
        assert server.signal(signal.SIGTERM) == 0
    [event] = server.events()
    assert event["type"] == "message" and event["data"] == [1, 2]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", event["from"])


def test_serve_and_emit_with_custom_delimiter_appspace_and_parser(root):
    common = [
        "--socket-root",
        root,
        "--appspace",
        "my.",
        "--delimiter",
        r"\n",
        "--parser",
        "guarded",
    ]
    with fastipc("serve", "svc", *common) as server:
        server.expect("serving on .*/my.svc$", "err")
        done = run_fastipc("emit", "svc", "hi", '"x\\fy"', *common)
        assert done.returncode == 0, done.stderr
        server.expect("hi")
        assert server.signal(signal.SIGINT) == 0
    assert server.events()[0]["data"] == "x\fy"


def test_serve_with_explicit_path(root):
    path = os.path.join(root, "explicit.sock")
    with fastipc("serve", "--path", path) as server:
        server.expect("serving on", "err")
        assert run_fastipc("emit", "any", "e", "null", "--path", path).returncode == 0
        server.expect('"e"')
        assert server.signal(signal.SIGINT) == 0
    assert server.events() == [{"type": "e", "data": None, "from": "local#1"}]


def test_serve_reports_a_path_that_is_not_a_socket(root):
    path = os.path.join(root, "file")
    open(path, "w").close()
    done = run_fastipc("serve", "--path", path)
    assert done.returncode == 1
    assert "not a socket" in done.stderr


def test_emit_fails_clearly_when_nobody_listens(root):
    done = run_fastipc("emit", "nobody", "message", "--socket-root", root, "--timeout", "0.5")
    assert done.returncode == 1
    assert "could not connect to 'nobody'" in done.stderr
    assert "within 0.5 s" in done.stderr


def test_emit_waits_for_a_server_that_starts_late(root):
    with fastipc(
        "emit",
        "late",
        "message",
        '"on time"',
        "--socket-root",
        root,
        "--timeout",
        "10",
        "--verbose",
    ) as emit:
        emit.expect("client socket error", "err")  # a first attempt failed: it retries now
        assert emit.proc.poll() is None
        with fastipc("serve", "late", "--socket-root", root) as server:
            server.expect("serving on", "err")
            assert emit.wait() == 0, emit.report()
            server.expect("on time")
            assert server.signal(signal.SIGINT) == 0


# ---------------------------------------------------------------- listen


def test_listen_prints_what_a_server_sends(root):
    world = IPC()
    world.config.id = "world"
    world.config.silent = True
    world.config.socketRoot = root
    server = world.serve()

    @server.on("hello")
    def hello(data, sock):
        server.emit(sock, "reply", {"got": data})
        server.emit(sock, "raw", b"\x01\x02".decode())

    server.start()
    try:
        with fastipc(
            "listen", "world", "--socket-root", root, "--send", "hello", '"hi"', "--count", "2"
        ) as listen:
            assert listen.wait() == 0, listen.report()
        assert listen.events() == [
            {"type": "reply", "data": {"got": "hi"}, "from": "world"},
            {"type": "raw", "data": "\x01\x02", "from": "world"},
        ]
        assert "connected to world" in listen.err[0]
    finally:
        server.stop()


def test_listen_exits_cleanly_on_sigint_while_retrying(root):
    with fastipc("listen", "absent", "--socket-root", root) as listen:
        # the first failed attempt: by then the signal handlers are in place
        listen.expect("error:", stream="err")
        assert listen.signal(signal.SIGINT) == 0
    assert listen.out == []
    # one "disconnected" per failed attempt; Ctrl-C is a disconnect the user
    # asked for and adds none of its own (it used to add one)
    errors = [line for line in listen.err if "error:" in line]
    disconnects = [line for line in listen.err if "disconnected" in line]
    assert errors and len(disconnects) == len(errors), listen.report()


def test_listen_timeout(root):
    done = run_fastipc("listen", "absent", "--socket-root", root, "--timeout", "0.3")
    assert done.returncode == 1
    assert "could not connect" in done.stderr


# ---------------------------------------------------------------- demo


def test_demo_reports_messages_per_second():
    done = run_fastipc("demo", "--workers", "2", "--seconds", "1", timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "starting 2 worker processes" in lines[0]
    assert any(re.search(r"\[\s*1s\]\s+[\d,]+ msg/s", line) for line in lines), lines
    total = re.search(r"total: ([\d,]+) messages in [\d.]+ s = ([\d,]+) msg/s", lines[-1])
    assert total, lines
    assert int(total.group(1).replace(",", "")) > 100


def test_demo_with_a_socket_root_and_sigint(root):
    with fastipc("demo", "--workers", "1", "--seconds", "30", "--socket-root", root) as demo:
        demo.expect("exchanging request/reply")
        demo.expect(r"msg/s")
        assert demo.signal(signal.SIGINT) == 0
    assert demo.out[-1].startswith("total:")
    assert os.listdir(root) == []  # the server removed its socket


# ---------------------------------------------------------------- node-ipc 14 peers


def node_peer(node, script: str, *args: str) -> Process:
    env = dict(os.environ)
    return Process([str(node), str(CLI_NODE / script), *args], env=env)


@pytest.mark.interop
def test_emit_to_a_node_ipc_server(node, root):
    path = os.path.join(root, "node.sock")
    greet = json.dumps([["message", "welcome"]])  # the server writes first: emit must cope
    with node_peer(node, "server.mjs", "path", path, greet) as server:
        server.expect("listening")
        for args in (["message", '"hé 🌍"'], ["ping"], ["obj", '{"a":[1,null,{"b":true}]}']):
            done = run_fastipc("emit", "node", *args, "--path", path)
            assert done.returncode == 0, done.stderr
            server.expect(f'"type":"{args[0]}"')
        assert server.signal(signal.SIGTERM) == 0
    assert server.events() == [
        {"type": "message", "data": "hé 🌍"},
        {"type": "ping", "data": {}},
        {"type": "obj", "data": {"a": [1, None, {"b": True}]}},
    ]


@pytest.mark.interop
def test_emit_to_a_node_ipc_tcp_server(node):
    port = free_port()
    with node_peer(node, "server.mjs", "tcp", str(port), "[]") as server:
        server.expect("listening")
        done = run_fastipc("emit", "node", "message", '"over tcp"', "--tcp", f"127.0.0.1:{port}")
        assert done.returncode == 0, done.stderr
        server.expect("over tcp")
        assert server.signal(signal.SIGTERM) == 0


@pytest.mark.interop
@pytest.mark.parametrize("transport", ["path", "tcp"])
def test_listen_to_a_node_ipc_server(node, root, transport):
    if transport == "path":
        where = os.path.join(root, "node.sock")
        to = ["--path", where]
    else:
        where = str(free_port())
        to = ["--tcp", f"127.0.0.1:{where}"]
    greet = json.dumps(
        [
            ["message", "hi from node"],
            ["obj", {"n": 2**53 - 1, "s": "ü"}],
            ["buf", None],
            ["buffer", [0, 1, 255]],
        ]
    )
    with node_peer(node, "server.mjs", transport, where, greet) as server:
        server.expect("listening")
        with fastipc(
            "listen", "node", *to, "--count", "4", "--send", "hello", '{"id":"py"}'
        ) as listen:
            assert listen.wait() == 0, listen.report()
        server.expect('"type":"hello"')
        assert server.signal(signal.SIGTERM) == 0
    # a Node Buffer travels in its JSON form, and prints as it came
    assert listen.events() == [
        {"type": "message", "data": "hi from node", "from": "node"},
        {"type": "obj", "data": {"n": 2**53 - 1, "s": "ü"}, "from": "node"},
        {"type": "buf", "data": None, "from": "node"},
        {"type": "buffer", "data": {"type": "Buffer", "data": [0, 1, 255]}, "from": "node"},
    ]
    assert server.events() == [{"type": "hello", "data": {"id": "py"}}]


@pytest.mark.interop
@pytest.mark.parametrize("transport", ["path", "tcp"])
def test_serve_prints_what_a_node_ipc_client_sends(node, root, transport):
    if transport == "path":
        where = os.path.join(root, "py.sock")
        serve = fastipc("serve", "--path", where)
    else:
        serve = fastipc("serve", "--tcp", "127.0.0.1:0")
    with serve as server:
        ready = server.expect(r"serving on (.*)$", "err").group(1)
        if transport == "tcp":
            where = ready.rpartition(":")[2]
        events = [["message", "from node"], ["ping"], ["obj", {"id": "node-1", "x": "ü"}]]
        client = subprocess.run(
            [str(node), str(CLI_NODE / "client.mjs"), transport, where, json.dumps(events)],
            capture_output=True,
            text=True,
            timeout=2 * WAIT,
        )
        assert client.returncode == 0, client.stderr
        server.expect('"type":"obj"')
        assert server.signal(signal.SIGINT) == 0
    got = server.events()
    assert [(e["type"], e["data"]) for e in got] == [
        ("message", "from node"),
        ("ping", {}),  # node-ipc sends undefined data as {}
        ("obj", {"id": "node-1", "x": "ü"}),
    ]
    assert got[2]["from"] == "node-1"
    if transport == "tcp":
        assert re.fullmatch(r"127\.0\.0\.1:\d+", got[0]["from"])
    else:
        assert got[0]["from"] == "local#1"
