"""Request/reply over node-ipc events: correlation ids, timeouts, remote errors.

A layer on ``emit``/``on``; nothing below it knows of requests. On the wire a
request and its answer are two ordinary node-ipc events, so a Node peer
answers or asks with plain node-ipc code:

- ``fastipc.request`` with data ``{"id": n, "type": name, "data": value}``:
  ask the peer to run its handler for ``name`` with ``value``. ``n`` is a
  positive integer, unique among the sender's requests in flight.
- ``fastipc.reply`` with data ``{"id": n, "data": result}`` (the handler's
  return value), or ``{"id": n, "error": {"type": t, "message": m,
  "traceback": tb}}`` when it raised (or when there is no handler).

Many requests may be in flight on one connection; answers may come back in
any order. An answer nobody waits for any more (it came after its timeout,
after a cancel, or names an unknown id) is dropped and counted in
``lateReplies``.
"""

from __future__ import annotations

import abc
import asyncio
import heapq
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from ._constants import OMITTED
from ._emitter import EventEmitter
from ._loop import LoopHandle
from ._wire import Wire
from .errors import IPCError, IPCNotConnectedError, RemoteError, RequestTimeoutError

__all__ = ["REPLY", "REQUEST", "Answering", "Requests"]

logger = logging.getLogger("fastipc")

#: The event a request travels as.
REQUEST = "fastipc.request"
#: The event an answer travels as.
REPLY = "fastipc.reply"

Responder = Callable[..., Any]
#: Answers that are surely not awaitable: checked before inspect.isawaitable,
#: whose ABC check costs more than the rest of answering.
_PLAIN = (str, int, float, dict, list, tuple, type(None))


class Requests:
    """The request/reply state of one server or client, on its loop.

    Args:
        owner: the server or client: its ``on`` takes the two events, its
            ``_send_request(peer, type, data)`` sends one (``peer`` is
            ``None`` on a client), its ``_handle`` is the loop it runs on
            (``None`` when not started or closed for good) and its ``_wire``
            says whether it is in raw mode.
    """

    __slots__ = (
        "_deadlines",
        "_next_id",
        "_owner",
        "_pending",
        "_responders",
        "_timer",
        "_timer_at",
        "late",
    )

    def __init__(self, owner: Answering) -> None:
        self._owner = owner
        self._next_id = 0
        # id -> (the answer's future, the peer asked, type, timeout)
        self._pending: dict[int, tuple[asyncio.Future[Any], Any, str, float | None]] = {}
        # Timeouts: a heap of (deadline, id) and one timer for the earliest.
        # An answered request's entry stays until its deadline passes (or
        # the heap is compacted): cheaper per request than a timer each.
        self._deadlines: list[tuple[float, int]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._responders: dict[str, Responder] = {}
        self.late = 0
        owner.on(REQUEST, self._request_received)
        owner.on(REPLY, self._reply_received)

    # ------------------------------------------------------------ asking

    def ask(self, peer: Any, type: str, data: Any, timeout: float | None) -> Any:
        """Send a request; the answer as an awaitable inside a running loop,
        else wait for it here (at most ``timeout`` seconds) and return it."""
        if not isinstance(type, str) or not type:
            raise TypeError(f"request type must be a non-empty str, got {type!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
        if self._owner._wire.raw:
            raise IPCError(
                f"cannot send request {type!r}: rawBuffer is on, and requests are events"
            )
        handle = self._owner._handle
        if handle is None:
            raise IPCNotConnectedError(
                f"cannot send request {type!r}: not started, or closed for good"
            )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            # plain code: the background loop sends and answers; this thread waits
            future = asyncio.run_coroutine_threadsafe(
                self._ask(peer, type, data, timeout), handle.loop
            )
            return future.result()
        if running is handle.loop:
            # on the owner's loop: sent now, in order with emits made after
            # it; the answer's future itself is the awaitable
            return self._issue(peer, type, data, timeout)
        return handle.awaitable(self._ask(peer, type, data, timeout))

    async def _ask(self, peer: Any, type: str, data: Any, timeout: float | None) -> Any:
        return await self._issue(peer, type, data, timeout)

    def _issue(self, peer: Any, type: str, data: Any, timeout: float | None) -> asyncio.Future[Any]:
        """Send the request (on the loop); the future its answer settles.

        A caller that cancels the future leaves its entry to the answer,
        the timeout or the connection's close, whichever comes first: the
        answer then counts as late.
        """
        self._next_id += 1
        id = self._next_id
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        message: dict[str, Any] = {"id": id, "type": type}
        if data is not OMITTED:
            message["data"] = data
        self._owner._send_request(peer, REQUEST, message)  # raises before anything is pending
        self._pending[id] = (waiter, peer, type, timeout)
        if timeout is not None:
            self._deadline(loop, loop.time() + timeout, id)
        return waiter

    def _deadline(self, loop: asyncio.AbstractEventLoop, deadline: float, id: int) -> None:
        deadlines = self._deadlines
        if len(deadlines) > 2 * len(self._pending) + 1024:
            # mostly answered requests: keep the live ones only
            deadlines[:] = [entry for entry in deadlines if entry[1] in self._pending]
            heapq.heapify(deadlines)
        heapq.heappush(deadlines, (deadline, id))
        if self._timer is None or deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(deadline, self._expire, loop)
            self._timer_at = deadline

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        deadlines = self._deadlines
        now = loop.time() + 1e-6  # asyncio may run a timer a clock tick early
        while deadlines and deadlines[0][0] <= now:
            _, id = heapq.heappop(deadlines)
            entry = self._pending.pop(id, None)
            if entry is None:
                continue  # answered (or failed) before its deadline
            waiter, _, type, timeout = entry
            if not waiter.done():
                waiter.set_exception(
                    RequestTimeoutError(
                        f"no answer to request {type!r} (id {id}) within {timeout:g} s"
                    )
                )
        if deadlines:
            self._timer = loop.call_at(deadlines[0][0], self._expire, loop)
            self._timer_at = deadlines[0][0]

    def _reply_received(self, message: Any, peer: Any = None) -> None:
        id = message.get("id") if isinstance(message, dict) else None
        entry = self._pending.get(id) if _is_id(id) else None  # type: ignore[arg-type]
        if entry is None or entry[1] is not peer:
            self.late += 1
            logger.debug("dropped an unknown reply %r", id)
            return
        del self._pending[id]  # type: ignore[arg-type]
        waiter = entry[0]
        if waiter.done():  # the caller cancelled it
            self.late += 1
            return
        error = message.get("error")
        if error is not None:
            waiter.set_exception(RemoteError.from_wire(error))
        else:
            waiter.set_result(message.get("data"))

    def fail_all(self, peer: Any, reason: str) -> None:
        """Fail every request in flight to ``peer`` (``None``: a client's
        connection)."""
        for id, (waiter, asked, _, _) in list(self._pending.items()):
            if asked is not peer:
                continue
            del self._pending[id]
            if not waiter.done():
                waiter.set_exception(IPCNotConnectedError(f"request {id} failed: {reason}"))

    # ------------------------------------------------------------ answering

    def respond(self, type: str, responder: Responder) -> None:
        """Answer requests of ``type`` with ``responder``."""
        if not isinstance(type, str) or not type:
            raise TypeError(f"request type must be a non-empty str, got {type!r}")
        if not callable(responder):
            raise TypeError(f"responder for {type!r} must be callable, got {responder!r}")
        self._responders[type] = responder

    def _request_received(self, message: Any, peer: Any = None) -> None:
        if not isinstance(message, dict) or not _is_id(message.get("id")):
            logger.warning("dropped a malformed request: %r", message)
            return
        id = message["id"]
        type = message.get("type")
        responder = self._responders.get(type) if isinstance(type, str) else None
        if responder is None:
            self._answer_error(peer, id, LookupError(f"no handler for request type {type!r}"))
            return
        args = (message.get("data"),) if peer is None else (message.get("data"), peer)
        try:
            result = responder(*args)
        except Exception as exc:
            self._answer_error(peer, id, exc)
            return
        if not isinstance(result, _PLAIN) and inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda done: self._answer_later(peer, id, done))
        else:
            self._answer(peer, id, result)

    def _answer_later(self, peer: Any, id: int, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            self._answer_error(peer, id, asyncio.CancelledError("the handler was cancelled"))
        elif task.exception() is not None:
            error = task.exception()
            assert error is not None
            self._answer_error(peer, id, error)
        else:
            self._answer(peer, id, task.result())

    def _answer(self, peer: Any, id: int, result: Any) -> None:
        try:
            self._owner._send_request(peer, REPLY, {"id": id, "data": result})
        except Exception as exc:  # the result has no JSON form: say so to the asker
            self._answer_error(peer, id, exc)

    def _answer_error(self, peer: Any, id: int, error: BaseException) -> None:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        detail = {"type": type(error).__name__, "message": str(error), "traceback": text}
        try:
            self._owner._send_request(peer, REPLY, {"id": id, "error": detail})
        except Exception as exc:  # the connection is gone: nobody to tell
            logger.debug("could not send the error answer to request %d: %r", id, exc)


def _is_id(value: Any) -> bool:
    """A request id: an int, and not a JSON ``true`` (a bool is an int here)."""
    return isinstance(value, int) and not isinstance(value, bool)


class Answering(EventEmitter, abc.ABC):
    """``on_request`` and ``lateReplies``: the side of request/reply a
    server and a client share. A subclass sets ``_requests = None``, has
    the ``_handle`` and ``_wire`` every server and client has, and says how
    one event reaches a peer (``_send_request``)."""

    _requests: Requests | None
    _handle: LoopHandle | None
    _wire: Wire

    @abc.abstractmethod
    def _send_request(self, peer: Any, type: str, data: Any) -> None:
        """Send one event to ``peer`` (``None`` on a client)."""

    def on_request(self, type: str, responder: Any = None) -> Any:
        """Answer the peer's requests of ``type`` with ``responder``.

        A client's responder is called as ``responder(data)``; a server's
        as ``responder(data, socket)``, with the asking client's socket.
        The return value (or, for a coroutine function, the awaited value)
        goes back as the answer; an exception goes back as a
        [`RemoteError`][fastipc.RemoteError] with its type, message and
        traceback. Use it directly or as a decorator,
        ``@client.on_request('add')``. A later registration for the same
        type replaces the earlier one.

        Args:
            type: the request type to answer.
            responder: the function (or coroutine function) that answers.

        Returns:
            ``responder``, so the decorator leaves the function usable.

        Raises:
            TypeError: Raised when ``type`` is not a non-empty str or
                ``responder`` is not callable.
        """
        if responder is None:
            return lambda fn: self.on_request(type, fn)
        self._rpc().respond(type, responder)
        return responder

    @property
    def lateReplies(self) -> int:
        """Answers that came after their request had timed out, was
        cancelled or failed (or that named no request): dropped and counted."""
        return 0 if self._requests is None else self._requests.late

    def _rpc(self) -> Requests:
        if self._requests is None:
            self._requests = Requests(self)
        return self._requests
