"""Which event loop fastipc runs on.

Called from inside a running asyncio loop (asyncio or uvloop), fastipc uses
that loop and starts no thread. Called from plain synchronous code, it runs
one loop in a background thread, as Node runs its own: the thread is not a
daemon, so it keeps the process alive while a server or client is open, and
it ends once the last one is closed, so the process can exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

# Imported now, not on first use: asyncio's getaddrinfo (a host name to
# connect to) starts this thread pool lazily, and importing it once the main
# thread has returned (the loop thread keeps the process alive) fails with
# "can't register atexit after shutdown".
import concurrent.futures.thread
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopHandle", "acquire_loop", "background_loop"]

T = TypeVar("T")


class _BackgroundLoop:
    """The one shared loop thread for synchronous callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._users = 0

    def acquire(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            self._users += 1
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()
                self._loop = loop

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    try:
                        loop.run_forever()
                    finally:
                        try:
                            loop.run_until_complete(loop.shutdown_asyncgens())
                        finally:
                            loop.close()

                self._thread = threading.Thread(target=run, name="fastipc-loop", daemon=False)
                self._thread.start()
                ready.wait()
            return self._loop

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._loop is None:
                return
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def users(self) -> int:
        """Servers and clients holding the loop thread open."""
        return self._users

    def shutdown(self) -> None:
        """Stop the loop thread whoever still holds it (tests, interpreter exit)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
            self._users = 0
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


background_loop = _BackgroundLoop()


class LoopHandle:
    """The loop one server or client lives on, and how to reach it.

    Holds the background thread open from ``acquire`` until
    ``release``, when it is the background loop.
    """

    __slots__ = ("_released", "background", "loop", "thread_id")

    def __init__(self, loop: asyncio.AbstractEventLoop, background: bool) -> None:
        self.loop = loop
        self.background = background
        self.thread_id: int | None = None
        self._released = False
        if background:
            # learn the loop thread's id once, for in_loop_thread()
            fut: concurrent.futures.Future[int] = concurrent.futures.Future()
            loop.call_soon_threadsafe(lambda: fut.set_result(threading.get_ident()))
            self.thread_id = fut.result()
        else:
            self.thread_id = threading.get_ident()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self.thread_id

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop: now if already there, else soon."""
        if threading.get_ident() == self.thread_id:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def submit(
        self, coro: Coroutine[Any, Any, T]
    ) -> concurrent.futures.Future[T] | asyncio.Task[T]:
        """Start ``coro`` on the loop from any thread."""
        if threading.get_ident() == self.thread_id:
            return self.loop.create_task(coro)
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def awaitable(self, coro: Coroutine[Any, Any, T]) -> Awaitable[T]:
        """``coro`` run on this loop, awaitable from the caller's loop."""
        try:
            caller = asyncio.get_running_loop()
        except RuntimeError:
            caller = None
        if caller is self.loop:
            return coro
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return asyncio.wrap_future(future)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self.background:
            background_loop.release()


def acquire_loop() -> LoopHandle:
    """The running loop if there is one, else the background loop thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return LoopHandle(background_loop.acquire(), background=True)
    return LoopHandle(loop, background=False)
