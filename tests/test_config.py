"""ipc.config: every node-ipc 14 key, its default, checked when set."""

from __future__ import annotations

import math
import os
import socket

import pytest

from fastipc import IPC, Config, IPCConfigError
from fastipc._config import CONFIG_KEYS, default_socket_root, pipe_path

NODE_IPC_14_KEYS = {
    "appspace",
    "socketRoot",
    "id",
    "networkHost",
    "networkPort",
    "IPType",
    "tls",
    "readableAll",
    "writableAll",
    "secureSocketRoot",
    "encoding",
    "rawBuffer",
    "parser",
    "identifyPeer",
    "delimiter",
    "sync",
    "silent",
    "logInColor",
    "logDepth",
    "logger",
    "logPayloads",
    "maxConnections",
    "maxMessageSize",
    "maxPendingBytes",
    "maxEventNameLength",
    "messageTimeout",
    "allowReservedEvents",
    "allowedEvents",
    "retry",
    "maxRetries",
    "stopRetrying",
    "unlink",
    "interface",
}

#: fastipc's own keys, beside node-ipc's (documented as extensions)
FASTIPC_KEYS = {"backlog"}


def test_every_key_and_default():
    config = Config()
    assert set(CONFIG_KEYS) == NODE_IPC_14_KEYS | FASTIPC_KEYS
    expected = {
        "appspace": "app.",
        "id": socket.gethostname(),
        "encoding": "utf8",
        "rawBuffer": False,
        "parser": "fast",
        "sync": False,
        "unlink": True,
        "identifyPeer": False,
        "delimiter": "\f",
        "maxMessageSize": 1024 * 1024,
        "maxPendingBytes": 8 * 1024 * 1024,
        "maxEventNameLength": 256,
        "messageTimeout": 30000,
        "allowReservedEvents": False,
        "allowedEvents": False,
        "silent": False,
        "logPayloads": False,
        "logDepth": 5,
        "logInColor": True,
        "maxConnections": 100,
        "backlog": 511,
        "retry": 500,
        "maxRetries": math.inf,
        "stopRetrying": False,
        "IPType": "IPv4",
        "tls": False,
        "networkHost": "127.0.0.1",
        "networkPort": 8000,
        "readableAll": False,
        "writableAll": False,
        "secureSocketRoot": True,
        "interface": {
            "localAddress": False,
            "localPort": False,
            "family": False,
            "hints": False,
            "lookup": False,
        },
    }
    for key, value in expected.items():
        assert config[key] == value, key
        assert getattr(config, key) == value, key
    assert config.socketRoot == default_socket_root()
    assert callable(config.logger)


def test_default_socket_root_matches_node_ipc(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1234")
    assert default_socket_root() == "/run/user/1234/node-ipc/"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", "/var/tmp/")
    assert default_socket_root() == f"/var/tmp/node-ipc-{os.getuid()}/"
    monkeypatch.delenv("TMPDIR")
    assert default_socket_root() == f"/tmp/node-ipc-{os.getuid()}/"


@pytest.mark.parametrize(
    ("path", "pipe"),
    [
        ("/tmp/app.world", "\\\\.\\pipe\\tmp-app.world"),
        ("/node-ipc-bob/app.world", "\\\\.\\pipe\\node-ipc-bob-app.world"),
        ("relative/name", "\\\\.\\pipe\\relative-name"),
        ("\\\\.\\pipe\\already", "\\\\.\\pipe\\already"),
    ],
)
def test_windows_pipe_path(path, pipe):
    assert pipe_path(path) == pipe


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("retry", "fast"),
        ("retry", -1),
        ("retry", math.nan),
        ("maxRetries", -1),
        ("maxRetries", 1.5),
        ("stopRetrying", 1),
        ("silent", "no"),
        ("networkPort", 70000),
        ("networkPort", "8000"),
        ("parser", "paranoid"),
        ("encoding", "klingon"),
        ("delimiter", ""),
        ("delimiter", 12),
        ("maxMessageSize", 0),
        ("maxConnections", True),
        ("IPType", "IPv5"),
        ("allowedEvents", "job"),
        ("tls", "yes"),
        ("tls", {"kee": "x"}),
        ("interface", {"localAdress": "1.2.3.4"}),
        ("interface", {"family": 5}),
        ("logger", "print"),
        ("logDepth", -1),
        ("id", ""),
        ("appspace", None),
    ],
)
def test_wrong_value_raises_naming_the_key(key, value):
    config = Config()
    before = config[key]
    with pytest.raises(IPCConfigError) as info:
        setattr(config, key, value)
    assert key.split(".")[0] in str(info.value)
    assert repr(value)[:20] in str(info.value) or key == "tls" or key == "interface"
    assert config[key] == before  # nothing changed


def test_unknown_key_raises():
    config = IPC().config
    with pytest.raises(IPCConfigError, match="retries"):
        config.retries = 3
    with pytest.raises(IPCConfigError, match="nope"):
        config["nope"] = 1
    with pytest.raises(AttributeError):
        config.nope  # noqa: B018


def test_values_accepted():
    config = Config()
    config.retry = 1500
    config.maxRetries = 3
    config.maxMessageSize = math.inf
    config.allowedEvents = ["a", "b"]
    config.tls = {"key": "k.pem", "cert": "c.pem"}
    config.interface = {"localAddress": "127.0.0.1"}
    assert config.interface["localAddress"] == "127.0.0.1"
    assert config.interface["family"] is False
    config.interfaces = {"family": 4}  # node-ipc's README spelling
    assert config.interface["family"] == 4
    config.IPType = "IPv6"
    assert config.networkHost == "::1"
    config.networkHost = "localhost"
    config.IPType = "IPv4"
    assert config.networkHost == "localhost"
    assert "interfaces" in config and "retry" in config


def test_instances_are_independent():
    a, b = IPC(), IPC()
    a.config.id = "a"
    assert b.config.id != "a"
    snapshot = a.config.copy()
    a.config.id = "changed"
    assert snapshot.id == "a"
