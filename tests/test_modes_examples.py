"""The raw-buffer and sync examples run as real processes and say what they should."""

from __future__ import annotations

import os

import pytest

from .helpers import example


@pytest.mark.parametrize("encoding", ["utf8", "hex"])
def test_raw_buffer_server_and_client(root, encoding):
    with example(
        "raw_buffer_server.py", "--socket-root", root, "--encoding", encoding, "--clients", "1"
    ) as server:
        path = server.expect(rf"serving raw 'world' on (.*) \(encoding {encoding}\)$").group(1)
        assert path == os.path.join(root, "app.world")
        with example(
            "raw_buffer_client.py", "--socket-root", root, "--encoding", encoding
        ) as client:
            assert client.wait() == 0, client.report()
        assert server.wait() == 0, server.report()
    assert client.out == [
        "## connected to world ##",
        "got data from world: b'hello'",
        "got data from world: b'\\x05m\\\\'",
        "got data from world: b'\\x05m\\\\'",
    ]
    assert server.out[1:] == [
        "got data: 67 6f 6f 64 62 79 65",  # 'goodbye', whichever the encoding
        "got data: 00 02 00 ff ee cc",
        "client has disconnected!",
    ]
    assert not os.path.exists(path)


def test_sync_server_and_client(root):
    with example(
        "sync_server.py", "--socket-root", root, "--delay", "0.05", "--clients", "1"
    ) as server:
        server.expect(r"serving 'world' on ")
        with example("sync_client.py", "--socket-root", root, "--messages", "4") as client:
            assert client.wait() == 0, client.report()
        assert server.wait() == 0, server.report()
    assert client.out == [
        "## connected to world ##",
        "queued 4 messages",
        *(f"got a message from world: 'hello #{n} world!'" for n in range(1, 5)),
    ]
    assert server.out[1:] == [
        *(f"got 'hello #{n}' from hello (waiting for an answer: 1)" for n in range(1, 5)),
        "client has disconnected!",
    ]
