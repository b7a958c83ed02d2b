"""Shared fixtures: the two codec implementations and the Node peer."""

from __future__ import annotations

import importlib
import os
import pathlib
import subprocess
import sys
import time
from types import ModuleType

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
NODE_DIR = ROOT / "tests" / "interop" / "node"

# tests/windows is the Windows lane's (scripts/windows_lane.sh runs it in
# Windows CPython under Wine); it is not this interpreter's to collect.
collect_ignore = ["windows"] if sys.platform != "win32" else []


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def load_impl(name: str) -> ModuleType:
    """Import one codec implementation by its id: ``cython`` or ``python``."""
    if name == "python":
        return importlib.import_module("fastipc._framing_py")
    try:
        return importlib.import_module("fastipc._framing")
    except ImportError as exc:
        if _flag("FASTIPC_REQUIRE_EXTENSION"):
            pytest.fail(f"the compiled codec is required but does not import: {exc}")
        pytest.skip(f"compiled codec not built: {exc}")


@pytest.fixture(params=["cython", "python"])
def framing_impl(request: pytest.FixtureRequest) -> ModuleType:
    """Each codec implementation in turn (multidict's pattern)."""
    return load_impl(request.param)


@pytest.fixture(scope="session")
def node() -> pathlib.Path:
    """Node 22 from npm (``npm ci --ignore-scripts`` puts it in node_modules)."""
    if not NODE.exists():
        if _flag("FASTIPC_REQUIRE_NODE"):
            pytest.fail(f"{NODE} is missing: run scripts/setup.sh (npm ci --ignore-scripts)")
        pytest.skip("Node 22 from npm is not installed (run scripts/setup.sh)")
    out = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("v22."), out.stdout
    return NODE


@pytest.fixture(autouse=True)
def _no_leaked_loop_users():
    """Every test closes what it opens: a server or client left open would
    keep the background loop thread, and so the test process, alive."""
    from fastipc._loop import background_loop

    yield
    deadline = time.monotonic() + 3
    while background_loop.users and time.monotonic() < deadline:
        time.sleep(0.01)
    if background_loop.users:
        leaked = background_loop.users
        background_loop.shutdown()
        pytest.fail(f"{leaked} server(s)/client(s) left open by this test")


def pytest_sessionfinish(session, exitstatus):
    from fastipc._loop import background_loop

    background_loop.shutdown()
