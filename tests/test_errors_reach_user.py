"""Every failure reaches the caller or an ``error`` event, never only asyncio's log.

Also: the conftest hook that fails a test whose event loop logged an
unhandled exception really catches one; an outage is logged once, not on
every retry.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from fastipc import BackpressureError
from fastipc._loop import acquire_loop

from .helpers import WAIT, make_ipc


def test_backlog_overflow_from_plain_code_raises_to_the_caller(root):
    """Not connected yet, from the main thread (the loop runs in its own
    thread): the emit that would pass maxPendingBytes raises
    BackpressureError at the call, and nothing was queued for it."""
    ipc = make_ipc(root, retry=60_000, maxPendingBytes=1000)
    errors: list[BaseException] = []
    ipc.connectTo("absent", lambda: ipc.of.absent.on("error", errors.append))
    client = ipc.of.absent
    try:
        assert client.emit("m", "x" * 400) is True
        assert client.emit("m", "x" * 400) is True
        with pytest.raises(BackpressureError, match="maxPendingBytes is 1000"):
            client.emit("m", "x" * 400)
        # the refused frame was not held: a small one still fits
        assert client.emit("m", "y") is True
    finally:
        ipc.disconnect("absent")
    # only the connection error reached the handler; the overflow went to the caller
    assert all(isinstance(e, OSError) for e in errors)


def test_backlog_overflow_from_another_thread_raises_there(root):
    ipc = make_ipc(root, retry=60_000, maxPendingBytes=1000)
    ipc.connectTo("absent", lambda: ipc.of.absent.on("error", lambda e: None))
    client = ipc.of.absent
    raised: list[BaseException] = []

    def producer() -> None:
        try:
            for _ in range(10):
                client.emit("m", "x" * 400)
        except BackpressureError as exc:
            raised.append(exc)

    thread = threading.Thread(target=producer)
    thread.start()
    thread.join(10)
    ipc.disconnect("absent")
    assert len(raised) == 1


def test_sync_backlog_overflow_from_another_thread_is_an_error_event(root):
    """sync=True queues on the loop thread, after emit() has returned: there
    the overflow has no caller left and becomes an 'error' event."""
    ipc = make_ipc(root, retry=60_000, maxPendingBytes=1000, sync=True)
    errors: list[BaseException] = []
    got = threading.Event()

    def registered() -> None:
        def error(exc: BaseException) -> None:
            errors.append(exc)
            if isinstance(exc, BackpressureError):
                got.set()

        ipc.of.absent.on("error", error)

    ipc.connectTo("absent", registered)
    client = ipc.of.absent
    try:
        # sync holds one frame for the connection and queues the rest until
        # an answer comes; frames over the bound are refused when they reach
        # the connection's backlog
        assert client.emit("m", "x" * 2000) is True
        assert got.wait(WAIT), errors
    finally:
        ipc.disconnect("absent")
    assert any(isinstance(e, BackpressureError) for e in errors)


def test_the_loop_error_hook_sees_an_exception_in_a_callback(_no_unhandled_loop_exceptions):
    """The conftest hook (which fails the test) sees what asyncio's exception
    handler logs, on a loop of the test's own and on the background loop."""
    hook = _no_unhandled_loop_exceptions

    def boom() -> None:
        raise RuntimeError("only the loop's log sees this")

    async def own_loop() -> None:
        loop = asyncio.get_running_loop()
        # callbacks run in order: once 'after' is done, boom's failure is logged
        after = loop.create_future()
        loop.call_soon(boom)
        loop.call_soon(after.set_result, None)
        await after

    asyncio.run(own_loop())
    handle = acquire_loop()  # the background loop thread
    logged = threading.Event()
    try:
        # callbacks run in order: once 'logged' is set, boom's failure is logged
        handle.loop.call_soon_threadsafe(boom)
        handle.loop.call_soon_threadsafe(logged.set)
        assert logged.wait(WAIT)
    finally:
        handle.release()
    seen = [r.exc_info[1] for r in hook.records if r.exc_info]
    assert [str(e) for e in seen] == ["only the loop's log sees this"] * 2
    hook.records.clear()  # seen on purpose: do not fail this test


def test_an_outage_is_logged_once_then_at_debug(root, caplog):
    """A client retrying against a missing server, with no error handler:
    one WARNING for the outage, DEBUG for each further failure."""
    caplog.set_level(logging.DEBUG, logger="fastipc")
    ipc = make_ipc(root, retry=20, maxRetries=5)
    done = threading.Event()
    ipc.connectTo("absent", lambda: ipc.of.absent.on("destroy", done.set))
    assert done.wait(WAIT)
    records = [r for r in caplog.records if r.name == "fastipc" and "absent" in r.getMessage()]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    again = [r for r in records if r.levelno == logging.DEBUG and "failed again" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "retrying every 20 ms" in warnings[0].getMessage()
    assert len(again) == 5  # the five retries


def test_an_error_handler_takes_the_place_of_the_log(root, caplog):
    caplog.set_level(logging.DEBUG, logger="fastipc")
    ipc = make_ipc(root, retry=20, maxRetries=2)
    done = threading.Event()
    errors: list[BaseException] = []

    def registered() -> None:
        ipc.of.absent.on("error", errors.append)
        ipc.of.absent.on("destroy", done.set)

    ipc.connectTo("absent", registered)
    assert done.wait(WAIT)
    assert len(errors) == 3
    assert not [r for r in caplog.records if r.name == "fastipc" and r.levelno >= logging.WARNING]


def test_a_failure_with_no_retry_left_says_so(root, caplog):
    caplog.set_level(logging.WARNING, logger="fastipc")
    ipc = make_ipc(root, maxRetries=0)
    done = threading.Event()
    ipc.connectTo("absent", lambda: ipc.of.absent.on("destroy", done.set))
    assert done.wait(WAIT)
    (warning,) = [r.getMessage() for r in caplog.records if "absent" in r.getMessage()]
    assert warning.endswith("no retry follows")
