"""The event emitter behind ``server.on`` and ``client.on``: registration,
removal, and where a handler's exception goes."""

from __future__ import annotations

import logging

import pytest

from fastipc._emitter import EventEmitter


def test_on_directly_and_as_a_decorator_in_order():
    emitter = EventEmitter()
    calls: list[str] = []

    def first(data: object) -> None:
        calls.append(f"first {data}")

    assert emitter.on("m", first) is first

    @emitter.on("m")
    def second(data: object) -> None:
        calls.append(f"second {data}")

    assert second.__name__ == "second"  # the decorator leaves the function usable
    assert emitter.listeners("m") == [first, second]
    assert emitter._dispatch("m", 1) is True
    assert calls == ["first 1", "second 1"]
    assert emitter._dispatch("other", 1) is False


def test_on_refuses_what_cannot_be_an_event_or_a_handler():
    emitter = EventEmitter()
    with pytest.raises(TypeError, match="event name must be a str"):
        emitter.on(3, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be callable"):
        emitter.on("m", "not a function")  # type: ignore[arg-type]


def test_off_one_handler_all_handlers_and_unknown_ones():
    emitter = EventEmitter()

    def a() -> None: ...

    def b() -> None: ...

    emitter.on("m", a)
    emitter.on("m", b)
    emitter.off("m", print)  # never registered: nothing changes
    emitter.off("nothing", a)  # no such event: nothing happens
    assert emitter.listeners("m") == [a, b]
    emitter.off("m", a)
    assert emitter.listeners("m") == [b]
    emitter.off("m", b)
    assert emitter.listeners("m") == [] and "m" not in emitter._handlers
    emitter.on("m", a)
    emitter.on("m", b)
    emitter.off("m")  # without a handler: every one
    assert emitter.listeners("m") == []


def test_a_handler_removed_during_dispatch_still_runs_this_time():
    emitter = EventEmitter()
    calls: list[str] = []

    def a() -> None:
        calls.append("a")
        emitter.off("m", b)

    def b() -> None:
        calls.append("b")

    emitter.on("m", a)
    emitter.on("m", b)
    emitter._dispatch("m")
    emitter._dispatch("m")
    assert calls == ["a", "b", "a"]


def test_a_failing_handler_goes_to_the_error_handlers_and_the_log(caplog):
    emitter = EventEmitter()
    seen: list[BaseException] = []
    later: list[str] = []

    def bad(data: object) -> None:
        raise ValueError(f"bad {data}")

    emitter.on("m", bad)
    emitter.on("m", lambda data: later.append("still called"))
    emitter.on("error", seen.append)
    with caplog.at_level(logging.ERROR, logger="fastipc"):
        emitter._dispatch("m", 7)
    assert [str(e) for e in seen] == ["bad 7"]
    assert later == ["still called"]  # one bad handler does not stop the others
    assert "raised ValueError('bad 7')" in caplog.text


def test_a_failing_error_handler_is_logged_not_looped(caplog):
    emitter = EventEmitter()

    def bad(data: object) -> None:
        raise ValueError("first")

    def bad_error_handler(exc: BaseException) -> None:
        raise RuntimeError("second")

    emitter.on("m", bad)
    emitter.on("error", bad_error_handler)
    with caplog.at_level(logging.ERROR, logger="fastipc"):
        emitter._dispatch("m", 1)
        emitter._dispatch("error", ValueError("direct"))
    messages = [r.getMessage() for r in caplog.records]
    assert any("error handler raised RuntimeError('second')" in m for m in messages)
    assert any("for event 'error' raised RuntimeError('second')" in m for m in messages)


def test_an_unhandled_error_event_is_logged(caplog):
    emitter = EventEmitter()
    with caplog.at_level(logging.WARNING, logger="fastipc"):
        assert emitter._dispatch("error", ConnectionRefusedError(111, "refused")) is False
        assert emitter._dispatch("error", ValueError("not an OSError")) is False
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels[0][0] == logging.WARNING and "refused" in levels[0][1]
    assert levels[1][0] == logging.ERROR and "not an OSError" in levels[1][1]
