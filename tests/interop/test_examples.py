"""The examples run as real processes, with real node-ipc as their peer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import pytest

from ..conftest import NODE_DIR, ROOT

pytestmark = pytest.mark.interop


def test_codec_echo_server_answers_node_ipc(node):
    with tempfile.TemporaryDirectory(dir="/tmp") as root:
        path = os.path.join(root, "echo.sock")
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "codec_echo_server.py"), path],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert "echo server on" in server.stdout.readline()
            deadline = time.monotonic() + 10
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.01)
            events = [["hello", "wörld"], ["n", 1.5], ["obj", {"a": [1, None]}]]
            out = subprocess.run(
                [str(node), str(NODE_DIR / "echo_client.mjs"), path, json.dumps(events)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
            assert [json.loads(line) for line in out.stdout.splitlines()] == [d for _, d in events]
        finally:
            server.terminate()
            server.wait(10)
            server.stdout.close()
