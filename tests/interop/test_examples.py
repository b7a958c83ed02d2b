"""The examples run as real processes, with real node-ipc as their peer."""

from __future__ import annotations

import json
import os
import sys
import tempfile

import pytest

from ..helpers import EXAMPLES, NODE_DIR, WAIT, Process, python_env

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("codec", ["cython", "python"], ids=["server-cython", "server-python"])
def test_codec_echo_server_answers_node_ipc(node, codec):
    with tempfile.TemporaryDirectory(dir="/tmp") as root:
        path = os.path.join(root, "echo.sock")
        with Process(
            [sys.executable, str(EXAMPLES / "codec_echo_server.py"), path], env=python_env(codec)
        ) as server:
            # printed once the socket listens
            ready = server.expect(r"^echo server on (.*) \(codec: (\w+)\)$")
            assert ready.groups() == (path, codec)
            events = [["hello", "wörld"], ["n", 1.5], ["obj", {"a": [1, None]}]]
            with Process(
                [str(node), str(NODE_DIR / "echo_client.mjs"), path, json.dumps(events)],
                env=dict(os.environ),
            ) as client:
                assert client.wait(6 * WAIT) == 0, client.report()
            assert [json.loads(line) for line in client.out] == [d for _, d in events]
