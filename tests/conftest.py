"""Fixtures: the two codecs, the run modes, a socket root, the Node peer;
and two checks every test gets (nothing left open, no unhandled loop error).

Everything else the tests share is in helpers.py.
"""

from __future__ import annotations

import logging
import pathlib
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

import pytest

from .helpers import CODECS, LOOPS, NODE, WAIT, Mode, flag, load_impl, run_body, use_codec

# tests/windows is the Windows lane's (scripts/windows_lane.sh runs it in
# Windows CPython under Wine); it is not this interpreter's to collect.
collect_ignore = ["windows"] if sys.platform != "win32" else []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loops(*names): run the test's `mode` fixture on these loops only "
        "(asyncio, uvloop, thread), each with both codecs",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``mode``: every loop (or those of a ``loops`` marker) x both codecs,
    with ids such as ``asyncio-cython`` and ``thread-python``."""
    if "mode" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("loops")
        loops = marker.args if marker else LOOPS
        params = [f"{loop}-{codec}" for loop in loops for codec in CODECS]
        metafunc.parametrize("mode", params, indirect=True)


@pytest.fixture
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Mode:
    """A run mode: the loop the test body runs on (``mode.run(body)``, see
    helpers.run_body) and the codec its servers and clients use."""
    loop, codec = request.param.split("-")
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    use_codec(monkeypatch, codec)
    return Mode(loop, codec)


@pytest.fixture(params=CODECS)
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Each codec in turn for the servers and clients the test makes (in
    this process); the implementation module is the value."""
    return use_codec(monkeypatch, request.param)


@pytest.fixture(params=CODECS)
def framing_impl(request: pytest.FixtureRequest) -> ModuleType:
    """Each codec implementation module in turn, to call directly (multidict's pattern)."""
    return load_impl(request.param)


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``run(body, timeout=...)``: an async test body inside a running loop,
    plain asyncio or uvloop (the codec is the default one)."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")

    def runner(body: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 3 * WAIT) -> Any:
        return run_body(request.param, body, timeout)

    return runner


@pytest.fixture
def root() -> Iterator[str]:
    """A private socket root of the test's own, ending in '/': short, since
    Unix socket paths are limited to 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="fipc", dir="/tmp") as path:
        yield path + "/"


@pytest.fixture(scope="session")
def node() -> pathlib.Path:
    """Node 22 from npm (``npm ci --ignore-scripts`` puts it in node_modules)."""
    if not NODE.exists():
        if flag("FASTIPC_REQUIRE_NODE"):
            pytest.fail(f"{NODE} is missing: run scripts/setup.sh (npm ci --ignore-scripts)")
        pytest.skip("Node 22 from npm is not installed (run scripts/setup.sh)")
    out = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("v22."), out.stdout
    return NODE


@pytest.fixture(autouse=True)
def _no_leaked_loop_users() -> Iterator[None]:
    """Every test closes what it opens: a server or client left open would
    keep the background loop thread, and so the test process, alive."""
    from fastipc._loop import background_loop

    yield
    # A client closes on the loop thread after disconnect() returned, and
    # nothing announces it: look again for up to 3 seconds.
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
def _no_unhandled_loop_exceptions() -> Iterator[_LoopErrors]:
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
            handler.format(r)
            + ("\n" + "".join(traceback.format_exception(*r.exc_info)) if r.exc_info else "")
            for r in handler.records
        )
        pytest.fail(f"an event loop logged {len(handler.records)} unhandled exception(s):\n{text}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from fastipc._loop import background_loop

    background_loop.shutdown()
