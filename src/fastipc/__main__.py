"""The ``fastipc`` command line: watch, poke and benchmark node-ipc services.

``python -m fastipc`` (or the ``fastipc`` script) speaks node-ipc's protocol,
so every subcommand works against Node node-ipc services as well as fastipc
ones::

    fastipc serve world               # print every event sent to ipc id 'world'
    fastipc serve --tcp 127.0.0.1:8000
    fastipc listen world              # connect to 'world', print what it sends
    fastipc emit world message '"hello"'
    fastipc demo --workers 4          # a server and worker processes, msg/s

Events print on stdout as JSON lines, ``{"type": ..., "data": ..., "from":
...}``, flushed one by one; ``bytes`` print as node-ipc prints a Buffer,
``{"type": "Buffer", "data": [...]}``. Status lines go to stderr (``--silent``
drops them); ``--verbose`` adds fastipc's own ``ipc.log`` lines there too.
SIGINT and SIGTERM stop a server or close a client cleanly and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from ._client import Client
from ._constants import OMITTED, PROFILES
from ._ipc import IPC
from ._server import IPCSocket, Server
from .errors import IPCError

__all__ = ["main"]

PROG = "fastipc"


# ---------------------------------------------------------------- output


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def event_line(type: Any, data: Any, origin: Any) -> str:
    """One received event as the JSON line the command line prints."""
    if data is OMITTED:
        data = {}
    return json.dumps(
        {"type": type, "data": data, "from": origin},
        ensure_ascii=False,
        separators=(",", ":"),
        default=_json_default,
        allow_nan=False,
    )


def _print_event(type: Any, data: Any, origin: Any) -> None:
    try:
        line = event_line(type, data, origin)
    except (TypeError, ValueError):
        line = event_line(type, repr(data), origin)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _Status:
    """Status lines on stderr, unless ``--silent``."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent

    def __call__(self, *parts: Any) -> None:
        if not self.silent:
            print(f"{PROG}:", *parts, file=sys.stderr, flush=True)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return 1


# ---------------------------------------------------------------- arguments


def _delimiter(text: str) -> str:
    r"""``--delimiter``: backslash escapes allowed (``'\n'``, ``'\x00'``)."""
    if "\\" in text:
        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if not text:
        raise argparse.ArgumentTypeError("the delimiter must not be empty")
    return text


def _host_port(text: str) -> tuple[str | None, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT``."""
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


def _json_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("node-ipc config")
    group.add_argument("--socket-root", help="ipc.config.socketRoot (default: node-ipc's)")
    group.add_argument("--appspace", help="ipc.config.appspace (default: 'app.')")
    group.add_argument(
        "--delimiter",
        type=_delimiter,
        help=r"ipc.config.delimiter, escapes allowed (default: '\f')",
    )
    group.add_argument(
        "--parser", choices=[p for p in PROFILES if p != "raw"], help="ipc.config.parser"
    )
    loud = group.add_mutually_exclusive_group()
    loud.add_argument("--silent", action="store_true", help="no status lines on stderr")
    loud.add_argument("--verbose", action="store_true", help="also print ipc.log lines on stderr")

    def where(id_help: str, optional: bool) -> argparse.ArgumentParser:
        parent = argparse.ArgumentParser(add_help=False)
        place = parent.add_argument_group("where")
        place.add_argument("id", nargs="?" if optional else None, help=id_help)
        place.add_argument(
            "--path", help="the local socket path (default: socket root + appspace + id)"
        )
        place.add_argument(
            "--tcp", type=_host_port, metavar="HOST:PORT", help="TCP instead of a local socket"
        )
        return parent

    served = where("the server's id, for its path (or give --path or --tcp)", optional=True)
    target = where("the server's id (the key in ipc.of)", optional=False)

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="node-ipc from the command line: serve, listen, emit, and a throughput demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        parents=[served, common],
        help="serve an id, path or TCP address and print every event received",
        description="Serve and print every event received as a JSON line "
        '{"type", "data", "from"}; "from" is the peer\'s id (identifyPeer), '
        "its TCP address, or local#N for the Nth local connection.",
    )
    serve.set_defaults(run=_serve)

    listen = sub.add_parser(
        "listen",
        parents=[target, common],
        help="connect as a client and print every event received",
    )
    listen.add_argument(
        "--send",
        nargs="+",
        action="append",
        metavar=("TYPE", "JSON"),
        help="emit TYPE [JSON] on every connect (repeatable)",
    )
    listen.add_argument("--count", type=int, help="exit after this many events")
    listen.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the connection"
    )
    listen.set_defaults(run=_listen)

    emit = sub.add_parser(
        "emit", parents=[target, common], help="connect, send one event, disconnect"
    )
    emit.add_argument("type", help="the event type")
    emit.add_argument(
        "data", nargs="?", type=_json_arg, default=OMITTED, help="JSON data (omitted: none)"
    )
    emit.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for the connection (5)"
    )
    emit.set_defaults(run=_emit)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="a server and worker processes exchanging events; messages per second",
    )
    demo.add_argument("--workers", type=int, default=4, help="worker processes (4)")
    demo.add_argument("--seconds", type=float, default=3.0, help="how long to run (3)")
    demo.add_argument("--window", type=int, default=64, help="requests in flight per worker (64)")
    demo.set_defaults(run=_demo)

    worker = sub.add_parser("demo-worker", parents=[common])  # spawned by demo
    worker.add_argument("id")
    worker.add_argument("--name", required=True)
    worker.add_argument("--window", type=int, default=64)
    worker.set_defaults(run=_demo_worker)
    return parser


def _configure(args: argparse.Namespace, ipc: IPC, *, id: str = "fastipc-cli") -> IPC:
    config = ipc.config
    config.id = id
    if args.socket_root is not None:
        config.socketRoot = (
            args.socket_root if args.socket_root.endswith(os.sep) else args.socket_root + os.sep
        )
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


def _target(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.path is not None and args.tcp is not None:
        parser.error("give --path or --tcp, not both")
    if args.command == "serve" and args.id is None and args.path is None and args.tcp is None:
        parser.error("serve needs an ID, --path or --tcp")


# ---------------------------------------------------------------- signals


def _stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set ``stop`` on SIGINT/SIGTERM; returns the undo."""
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


def _until_destroyed(client: Client) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def destroyed() -> None:
        if not future.done():
            future.set_result(None)

    client.on("destroy", destroyed)
    if client.destroyed:
        destroyed()
    return future


def _tap(owner: Server | Client, tap: Callable[[Any, list[tuple[str, Any]]], None]) -> None:
    """See every event a peer sends, whatever its name, before handlers do."""
    received = owner._events_received

    def events_received(conn: Any, events: list[tuple[str, Any]]) -> None:
        tap(conn, events)
        received(conn, events)

    owner._events_received = events_received  # type: ignore[method-assign]


async def _disconnect(ipc: IPC, id: str) -> None:
    client = ipc.of.get(id)
    if client is None:
        return
    ipc.disconnect(id)
    try:
        await asyncio.wait_for(client.wait_closed(), 5)
    except asyncio.TimeoutError:  # pragma: no cover - a wedged transport
        pass


# ---------------------------------------------------------------- serve


async def _serve(args: argparse.Namespace) -> int:
    status = _Status(args.silent)
    ipc = _configure(args, IPC(), id=args.id or "fastipc-cli")
    ipc.config.identifyPeer = True
    if args.tcp is not None:
        host, port = args.tcp
        server = ipc.serveNet(host or ipc.config.networkHost, port)
    else:
        server = ipc.serve(args.path)
    numbers: dict[IPCSocket, str] = {}

    @server.on("connect")
    def connected(sock: IPCSocket) -> None:
        numbers[sock] = f"local#{len(numbers) + 1}"
        status("connected:", _origin(sock, numbers))

    @server.on("socket.disconnected")
    def disconnected(sock: IPCSocket, id: Any) -> None:
        status("disconnected:", _origin(sock, numbers))

    @server.on("error")
    def error(exc: BaseException) -> None:
        status("error:", exc)

    def tap(conn: Any, events: list[tuple[str, Any]]) -> None:
        sock = server._by_conn.get(conn)
        if sock is None:
            return
        for name, data in events:
            if type(data) is dict and data.get("id") and server.config.identifyPeer:
                sock.id = data["id"]
            _print_event(name, data, _origin(sock, numbers))

    _tap(server, tap)
    stop = asyncio.Event()
    undo = _stop_on_signals(stop)
    try:
        server.start()
        try:
            await server.wait_started()
        except OSError as exc:
            return _fail(f"cannot serve on {_where(server)}: {exc}")
        status("serving on", _where(server))
        await stop.wait()
        status("stopping")
    finally:
        undo()
        server.stop()
        await server.wait_closed()
    return 0


def _origin(sock: IPCSocket, numbers: dict[IPCSocket, str]) -> Any:
    if sock.id:
        return sock.id
    if sock.remoteAddress is not None:
        host = sock.remoteAddress
        return f"[{host}]:{sock.remotePort}" if ":" in host else f"{host}:{sock.remotePort}"
    return numbers.get(sock, "local")


def _where(server: Server) -> str:
    if server.port is None:
        return str(server.path)
    port = server.port  # port 0 was resolved to the one it got by start()
    host = str(server.path)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ---------------------------------------------------------------- clients


def _connect(args: argparse.Namespace, ipc: IPC) -> Client:
    if args.tcp is not None:
        host, port = args.tcp
        client = ipc.connectToNet(args.id, host or ipc.config.networkHost, port)
    else:
        client = ipc.connectTo(args.id, args.path)
    assert client is not None
    return client


def _client_where(client: Client) -> str:
    return str(client.path) if client.port is None else f"{client.path}:{client.port}"


async def _wait_connected(client: Client, timeout: float | None) -> str | None:
    """``None`` once connected, else why not."""
    try:
        await asyncio.wait_for(client.wait_connected(), timeout)
    except asyncio.TimeoutError:
        return f"could not connect to {client.id!r} at {_client_where(client)} within {timeout:g} s"
    except IPCError as exc:
        return f"could not connect to {client.id!r} at {_client_where(client)}: {exc}"
    return None


async def _emit(args: argparse.Namespace) -> int:
    ipc = _configure(args, IPC())
    client = _connect(args, ipc)
    last_error: list[BaseException] = []
    client.on("error", last_error.append)
    try:
        problem = await _wait_connected(client, args.timeout)
        if problem is not None:
            if last_error:
                problem += f" (last error: {last_error[-1]})"
            return _fail(problem)
        try:
            client.emit(args.type, args.data)
        except IPCError as exc:
            return _fail(f"cannot send {args.type!r}: {exc}")
        await client.drain()
        await _close_gracefully(client)
    finally:
        await _disconnect(ipc, args.id)
    return 0


async def _close_gracefully(client: Client, linger: float = 1.0) -> None:
    """Half-close, then wait (up to ``linger`` s) for the peer to close.

    Closing at once would race a server that writes to new connections (a
    greeting): its write would hit a closed socket, and node-ipc drops the
    connection on that error before it reads the event we sent. After our
    end-of-file, node-ipc (and fastipc) read everything, then close.
    """
    conn = client.socket
    transport = getattr(conn, "transport", None)
    if conn is None or conn.closed or transport is None or not transport.can_write_eof():
        return
    client.config.stopRetrying = True  # the peer's close ends it; no retry
    gone = _until_destroyed(client)
    await client.drain()
    transport.write_eof()  # after the buffered bytes
    try:
        await asyncio.wait_for(gone, linger)
    except asyncio.TimeoutError:
        pass


async def _listen(args: argparse.Namespace) -> int:
    status = _Status(args.silent)
    ipc = _configure(args, IPC())
    sends = []
    for item in args.send or ():
        if len(item) > 2:
            return _fail(f"--send takes TYPE [JSON], got {' '.join(item)}")
        try:
            sends.append((item[0], json.loads(item[1]) if len(item) == 2 else OMITTED))
        except json.JSONDecodeError as exc:
            return _fail(f"--send {item[0]}: not valid JSON ({exc}): {item[1]!r}")
    stop = asyncio.Event()
    seen = 0
    client = _connect(args, ipc)
    origin = args.id

    def tap(conn: Any, events: list[tuple[str, Any]]) -> None:
        nonlocal seen
        if conn is not client.socket:
            return
        for name, data in events:
            if args.count is not None and seen >= args.count:
                return
            _print_event(name, data, origin)
            seen += 1
            if args.count is not None and seen >= args.count:
                stop.set()

    @client.on("connect")
    def connected() -> None:
        status("connected to", args.id, "at", _client_where(client))
        for name, data in sends:
            client.emit(name, data)

    @client.on("disconnect")
    def disconnected() -> None:
        status("disconnected from", args.id)

    client.on("error", lambda exc: status("error:", exc))
    client.on("destroy", stop.set)
    _tap(client, tap)
    undo = _stop_on_signals(stop)
    try:
        if args.timeout is not None:
            problem = await _wait_connected(client, args.timeout)
            if problem is not None:
                return _fail(problem)
        await stop.wait()
        if client.destroyed and (args.count is None or seen < args.count):
            status("connection destroyed")
    finally:
        undo()
        await _disconnect(ipc, args.id)
    return 0


# ---------------------------------------------------------------- demo


async def _demo(args: argparse.Namespace) -> int:
    if args.workers < 1:
        return _fail("--workers must be at least 1")
    made_root = args.socket_root is None
    if made_root:
        args.socket_root = tempfile.mkdtemp(prefix="fastipc-demo-")
    ipc = _configure(args, IPC(), id="demo")
    server = ipc.serve()
    ready: list[IPCSocket] = []
    all_ready = asyncio.Event()
    counted = 0

    @server.on("ready")
    def on_ready(data: Any, sock: IPCSocket) -> None:
        ready.append(sock)
        if len(ready) == args.workers:
            all_ready.set()

    @server.on("request")
    def on_request(data: Any, sock: IPCSocket) -> None:
        nonlocal counted
        counted += 2  # the request and its reply
        server.emit(sock, "reply", data)

    stop = asyncio.Event()
    undo = _stop_on_signals(stop)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        server.start()
        await server.wait_started()
        print(
            f"server {server.path}: starting {args.workers} worker processes "
            f"({args.window} requests in flight each)",
            flush=True,
        )
        env = dict(os.environ)
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        command = [
            sys.executable,
            "-m",
            "fastipc",
            "demo-worker",
            "demo",
            "--window",
            str(args.window),
        ]
        for option, value in (
            ("--socket-root", args.socket_root),
            ("--appspace", args.appspace),
            ("--delimiter", args.delimiter),
            ("--parser", args.parser),
        ):
            if value is not None:
                command += [f"{option}={_escape(value) if option == '--delimiter' else value}"]
        for n in range(args.workers):
            workers.append(subprocess.Popen([*command, "--name", f"worker-{n + 1}"], env=env))
        waiting = asyncio.ensure_future(all_ready.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({waiting, stopping}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stopping.cancel()
        if not all_ready.is_set():
            if stop.is_set():
                return 0
            return _fail(f"only {len(ready)} of {args.workers} workers connected within 30 s")
        print(
            f"{args.workers} workers connected; exchanging request/reply for {args.seconds:g} s",
            flush=True,
        )
        server.broadcast("go")
        start = time.perf_counter()
        last, last_count, second = start, 0, 0
        end = start + args.seconds
        while not stop.is_set():
            now = time.perf_counter()
            if now >= end:
                break
            try:
                await asyncio.wait_for(stop.wait(), min(1.0 - (now - last), end - now))
            except asyncio.TimeoutError:
                pass
            now = time.perf_counter()
            if now - last >= 0.999 or now >= end:
                second += 1
                rate = (counted - last_count) / (now - last)
                print(f"[{second:>3}s] {rate:>12,.0f} msg/s", flush=True)
                last, last_count = now, counted
        elapsed = time.perf_counter() - start
        total = counted
        server.broadcast("stop")
        print(
            f"total: {total:,} messages in {elapsed:.2f} s = {total / elapsed:,.0f} msg/s "
            f"({args.workers} worker{'s' if args.workers != 1 else ''}; each message a request or a reply)",
            flush=True,
        )
    finally:
        undo()
        # the loop keeps running meanwhile, so "stop" reaches the workers
        deadline = time.monotonic() + 5
        while any(proc.poll() is None for proc in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        server.stop()
        await server.wait_closed()
        if made_root:
            shutil.rmtree(args.socket_root, ignore_errors=True)
    return 0


def _escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


async def _demo_worker(args: argparse.Namespace) -> int:
    ipc = _configure(args, IPC(), id=args.name)
    ipc.config.maxRetries = 0
    client = ipc.connectTo(args.id)
    assert client is not None
    done = _until_destroyed(client)
    running = False
    n = 0

    @client.on("connect")
    def connected() -> None:
        client.emit("ready", {"id": args.name})

    @client.on("go")
    def go(data: Any) -> None:
        nonlocal running, n
        running = True
        for _ in range(args.window):
            n += 1
            client.emit("request", n)

    @client.on("reply")
    def reply(data: Any) -> None:
        nonlocal n
        if running:
            n += 1
            client.emit("request", n)

    @client.on("stop")
    def stop(data: Any) -> None:
        nonlocal running
        running = False
        ipc.disconnect(args.id)

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the demo stops its workers
    await done
    return 0


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("serve", "listen", "emit"):
        _target(args, parser)
    try:
        status: int = asyncio.run(args.run(args))
    except IPCError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # pragma: no cover - before the handlers are in
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
