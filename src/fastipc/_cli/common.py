"""What the commands share: output lines, argument types, config, signals.

Events print on stdout as one compact JSON line each; status lines and
errors go to stderr, prefixed with the program's name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from .. import IPC, OMITTED, Client
from ..errors import IPCError

__all__ = [
    "PROG",
    "Status",
    "client_where",
    "configured_ipc",
    "connect",
    "disconnect",
    "event_line",
    "fail",
    "parse_delimiter",
    "parse_host_port",
    "parse_json",
    "print_event",
    "stop_on_signals",
    "wait_connected",
]

PROG = "fastipc"


# ---------------------------------------------------------------- output


def _json_default(value: Any) -> Any:
    """JSON forms for what ``json`` cannot write: a ``bytes`` prints as a Buffer."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def event_line(type: Any, data: Any, origin: Any) -> str:
    """One received event as the JSON line the command line prints.

    Args:
        type: the event's name.
        data: its data; data the peer left out prints as ``{}``, as node-ipc
            sends it.
        origin: who sent it, printed as ``"from"``.

    Raises:
        TypeError: Raised when ``data`` holds a value with no JSON form.
        ValueError: Raised when ``data`` holds ``NaN`` or an infinity.
    """
    if data is OMITTED:
        data = {}
    return json.dumps(
        {"type": type, "data": data, "from": origin},
        ensure_ascii=False,
        separators=(",", ":"),
        default=_json_default,
        allow_nan=False,
    )


def print_event(type: Any, data: Any, origin: Any) -> None:
    """Print one event on stdout and flush; data with no JSON form prints as its repr."""
    try:
        line = event_line(type, data, origin)
    except (TypeError, ValueError):
        line = event_line(type, repr(data), origin)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Status:
    """Prints status lines on stderr, unless ``--silent``."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent

    def __call__(self, *parts: Any) -> None:
        """Print ``parts`` after the program's name, as ``print`` joins them."""
        if not self.silent:
            print(f"{PROG}:", *parts, file=sys.stderr, flush=True)


def fail(message: str) -> int:
    """Print ``message`` as an error on stderr.

    Returns:
        1, the exit status of a command that failed.
    """
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return 1


# ---------------------------------------------------------------- arguments


def parse_delimiter(text: str) -> str:
    r"""Read ``--delimiter``: backslash escapes allowed (``'\n'``, ``'\x00'``).

    Raises:
        argparse.ArgumentTypeError: Raised when the delimiter is empty.
    """
    if "\\" in text:
        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if not text:
        raise argparse.ArgumentTypeError("the delimiter must not be empty")
    return text


def parse_host_port(text: str) -> tuple[str | None, int]:
    """Read ``--tcp``: ``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT``.

    Returns:
        ``(host, port)``; ``host`` is ``None`` where none was given.

    Raises:
        argparse.ArgumentTypeError: Raised when the text is not one of those
            forms or the port is not in 0..65535.
    """
    host: str | None
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected [IPv6]:PORT, got {text!r}")
    elif ":" in text:
        host, _, port = text.rpartition(":")
    else:
        host, port = None, text
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is not in 0..65535")
    return host or None, number


def parse_json(text: str) -> Any:
    """Read a JSON argument (an event's data).

    Raises:
        argparse.ArgumentTypeError: Raised when ``text`` is not valid JSON.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None


def configured_ipc(args: argparse.Namespace, *, id: str = "fastipc-cli") -> IPC:
    """A new ``IPC`` whose config holds the node-ipc options given.

    ``ipc.log`` lines go to stderr, uncoloured, and only with ``--verbose``.

    Args:
        args: the parsed command line.
        id: ``ipc.config.id``.
    """
    ipc = IPC()
    config = ipc.config
    config.id = id
    if args.socket_root is not None:
        root = args.socket_root
        config.socketRoot = root if root.endswith(os.sep) else root + os.sep
    if args.appspace is not None:
        config.appspace = args.appspace
    if args.delimiter is not None:
        config.delimiter = args.delimiter
    if args.parser is not None:
        config.parser = args.parser
    config.silent = not args.verbose
    config.logInColor = False
    config.logger = lambda line: print(line, file=sys.stderr, flush=True)
    return ipc


# ---------------------------------------------------------------- signals


def stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGINT and SIGTERM.

    Call it inside the running loop.

    Returns:
        A function that removes the handlers again.
    """
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))

    def undo() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return undo


# ---------------------------------------------------------------- clients


def connect(args: argparse.Namespace, ipc: IPC) -> Client:
    """Connect to the server that ``id`` and ``--path`` or ``--tcp`` name.

    Returns:
        ``ipc.of[args.id]``, connecting (it retries as ``ipc.config`` says).
    """
    if args.tcp is not None:
        host, port = args.tcp
        client = ipc.connectToNet(args.id, host or ipc.config.networkHost, port)
    else:
        client = ipc.connectTo(args.id, args.path)
    assert client is not None
    return client


def client_where(client: Client) -> str:
    """Where ``client`` connects, for messages: a path or ``host:port``."""
    return str(client.path) if client.port is None else f"{client.path}:{client.port}"


async def wait_connected(client: Client, timeout: float | None) -> str | None:
    """Wait up to ``timeout`` seconds (``None``: no limit) for the connection.

    Returns:
        ``None`` once connected; else a message saying why not.
    """
    try:
        await asyncio.wait_for(client.wait_connected(), timeout)
    except asyncio.TimeoutError:
        return f"could not connect to {client.id!r} at {client_where(client)} within {timeout:g} s"
    except IPCError as exc:
        return f"could not connect to {client.id!r} at {client_where(client)}: {exc}"
    return None


async def disconnect(ipc: IPC, id: str, timeout: float = 5.0) -> None:
    """``ipc.disconnect(id)``, then wait (up to ``timeout`` s) until it is closed."""
    client = ipc.of.get(id)
    if client is None:
        return
    ipc.disconnect(id)
    try:
        await asyncio.wait_for(client.wait_closed(), timeout)
    except asyncio.TimeoutError:  # pragma: no cover - a wedged transport
        pass
