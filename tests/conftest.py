"""Shared fixtures: the two codec implementations and the Node peer."""

from __future__ import annotations

import importlib
import logging
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


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest):
    """Run an async test body on plain asyncio or on uvloop (30 s at most)."""
    import asyncio

    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        return lambda body: uvloop.run(asyncio.wait_for(body(), 30))
    return lambda body: asyncio.run(asyncio.wait_for(body(), 30))


@pytest.fixture
def root():
    """A short private socket root (Unix socket paths are limited to 107 bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fipc", dir="/tmp") as path:
        yield path + "/"


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


class _LoopErrors(logging.Handler):
    """Collects what an event loop's exception handler logged.

    asyncio's default exception handler (plain asyncio, uvloop, and the
    background loop thread alike) reports an exception raised in a callback
    or a task nobody awaited by logging it at ERROR on the ``asyncio``
    logger; that is the only place such an exception would show. fastipc
    must deliver every exception to its caller or an ``error`` event, so a
    record here fails the test.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _no_unhandled_loop_exceptions():
    """Fail any test during which an event loop logged an unhandled exception."""
    handler = _LoopErrors()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    try:
        yield handler
    finally:
        asyncio_logger.removeHandler(handler)
    if handler.records:
        text = "\n".join(
            handler.format(r) + ("\n" + "".join(_format_exc(r)) if r.exc_info else "")
            for r in handler.records
        )
        pytest.fail(f"an event loop logged {len(handler.records)} unhandled exception(s):\n{text}")


def _format_exc(record: logging.LogRecord) -> list[str]:
    import traceback

    assert record.exc_info is not None
    return traceback.format_exception(*record.exc_info)


def pytest_sessionfinish(session, exitstatus):
    from fastipc._loop import background_loop

    background_loop.shutdown()
