"""The event emitter behind ``ipc.server.on`` and ``ipc.of[id].on``.

Handlers run in the order they were added. An exception raised by a handler
is caught, logged on the ``fastipc`` logger and delivered to the ``error``
handlers; it never reaches the transport, so one bad handler cannot kill a
connection or the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

__all__ = ["EventEmitter"]

logger = logging.getLogger("fastipc")

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)


class EventEmitter:
    """node-ipc's ``on``/``off`` and the dispatch of events to handlers."""

    __slots__ = ("__weakref__", "_handlers", "_taps")

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._taps: tuple[Handler, ...] = ()

    @overload
    def on(self, event: str) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str, handler: H) -> H: ...

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Call ``handler`` every time ``event`` happens.

        Use it directly, ``on('message', fn)``, or as a decorator,
        ``@on('message')``. Handlers of one event run in the order they were
        added, on the event loop's thread; adding the same function twice
        makes it run twice. An exception a handler raises is logged on the
        ``fastipc`` logger and passed to the ``error`` handlers; the other
        handlers and the connection carry on.

        Args:
            event: the event's name: a lifecycle event (``connect``,
                ``disconnect``, ...) or any name a peer emits.
            handler: what to call. For an event a peer sent, a server's
                handlers get ``(data, socket)`` and a client's ``(data)``;
                a lifecycle event passes what it carries (``error`` the
                exception, ``connect`` on a server the new socket,
                ``disconnect`` on a client nothing). Left out, ``on``
                returns a decorator that registers the function it
                decorates.

        Returns:
            ``handler``; without it, the decorator, which returns the
            function it registers unchanged.

        Raises:
            TypeError: Raised when ``event`` is not a str or ``handler`` is
                not callable.
        """
        if not isinstance(event, str):
            raise TypeError(f"event name must be a str, got {event!r}")
        if handler is None:

            def register(fn: H) -> H:
                self.on(event, fn)
                return fn

            return register
        if not callable(handler):
            raise TypeError(f"handler for {event!r} must be callable, got {handler!r}")
        handlers = self._handlers.get(event)
        if handlers is None:
            self._handlers[event] = [handler]
        else:
            # copy-on-write: a dispatch in progress keeps iterating its list
            self._handlers[event] = [*handlers, handler]
        return handler

    def off(self, event: str, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` for ``event``; without ``handler``, every one.

        A handler added twice is removed once per call, the earliest first.
        Removing a handler that is not registered does nothing. A dispatch
        already under way still calls the handlers it started with.

        Args:
            event: the event's name.
            handler: the function given to ``on``; left out, every handler
                of ``event`` is removed.
        """
        handlers = self._handlers.get(event)
        if not handlers:
            return
        if handler is None:
            del self._handlers[event]
            return
        remaining = list(handlers)
        try:
            remaining.remove(handler)
        except ValueError:
            return
        if remaining:
            self._handlers[event] = remaining
        else:
            del self._handlers[event]

    def listeners(self, event: str) -> list[Handler]:
        """The handlers registered for ``event``, in call order.

        Args:
            event: the event's name.

        Returns:
            A new list (changing it changes nothing registered); empty when
            no handler is registered.
        """
        return list(self._handlers.get(event, ()))

    def on_any(self, handler: H) -> H:
        """Call ``handler(event, *args)`` for every event a peer sends.

        Whatever the event's name, before its own handlers, with the
        arguments they get: ``(event, data, socket)`` on a server,
        ``(event, data)`` on a client. Lifecycle events (``connect``,
        ``disconnect``, ...) are not peer events and do not reach it. A
        fastipc extension (node-ipc has no catch-all); the command line's
        ``serve`` and ``listen`` print every event through it.

        Args:
            handler: what to call. What it raises is logged and passed to
                the ``error`` handlers, as for ``on``.

        Returns:
            ``handler``, so it works as a decorator.

        Raises:
            TypeError: Raised when ``handler`` is not callable.
        """
        if not callable(handler):
            raise TypeError(f"on_any handler must be callable, got {handler!r}")
        self._taps = (*self._taps, handler)
        return handler

    def off_any(self, handler: Handler) -> None:
        """Stop calling ``handler`` added with ``on_any()``.

        Removing a handler that is not registered does nothing.

        Args:
            handler: the function given to ``on_any``; every registration
                of it is removed.
        """
        self._taps = tuple(tap for tap in self._taps if tap is not handler)

    def _dispatch(self, event: str, *args: Any) -> bool:
        """Call every handler of ``event`` with ``args``; report their errors.

        Returns:
            Whether any handler was registered.
        """
        handlers = self._handlers.get(event)
        if not handlers:
            if event == "error" and args:
                # Nothing listens: say so rather than drop it. A refused or
                # lost connection is routine while a client retries.
                if isinstance(args[0], OSError):
                    logger.warning("unhandled fastipc error event: %r", args[0])
                else:
                    logger.error(
                        "unhandled fastipc error event: %r", args[0], exc_info=_exc_info(args[0])
                    )
            return False
        for handler in handlers:
            try:
                handler(*args)
            except Exception as exc:
                self._handler_failed(event, handler, exc)
        return True

    def _deliver(
        self, events: list[tuple[str, Any]], peer: Any = None, identify: bool = False
    ) -> None:
        """Hand events a peer sent to their handlers: the one dispatch path.

        Every owner (a server, a UDP server, a client) delivers decoded
        events here. ``peer`` is what a server's handlers get after the
        data (the socket the events came from); ``None`` on a client, whose
        handlers get the data alone. With ``identify`` (``identifyPeer``), a
        dict payload's ``id`` names the peer before handlers run; the
        ``on_any`` handlers see each event before its own handlers.
        """
        taps = self._taps
        if not taps:
            self._deliver_to_handlers(events, peer, identify)
            return
        for event in events:
            name, data = event
            if identify and type(data) is dict and data.get("id"):
                peer.id = data["id"]
            for tap in taps:
                try:
                    if peer is None:
                        tap(name, data)
                    else:
                        tap(name, data, peer)
                except Exception as exc:
                    self._handler_failed(name, tap, exc)
            self._deliver_to_handlers((event,), peer, False)

    def _deliver_to_handlers(
        self, events: Iterable[tuple[str, Any]], peer: Any, identify: bool
    ) -> None:
        # The per-message path: _dispatch, inlined, for a batch.
        handlers = self._handlers
        for name, data in events:
            if identify and type(data) is dict and data.get("id"):
                peer.id = data["id"]
            todo = handlers.get(name)
            if todo is None:
                if name == "error":
                    # an 'error' event from the peer with no handler: said, not dropped
                    if peer is None:
                        self._dispatch(name, data)
                    else:
                        self._dispatch(name, data, peer)
                continue
            for handler in todo:
                try:
                    if peer is None:
                        handler(data)
                    else:
                        handler(data, peer)
                except Exception as exc:
                    self._handler_failed(name, handler, exc)

    def _handler_failed(self, event: str, handler: Handler, exc: Exception) -> None:
        logger.error(
            "handler %s for event %r raised %r",
            getattr(handler, "__qualname__", handler),
            event,
            exc,
            exc_info=exc,
        )
        if event == "error":
            return  # do not loop: the error handler itself failed
        for error_handler in self._handlers.get("error", ()):
            try:
                error_handler(exc)
            except Exception as inner:
                logger.error("error handler raised %r", inner, exc_info=inner)


def _exc_info(value: Any) -> Any:
    return value if isinstance(value, BaseException) else None
