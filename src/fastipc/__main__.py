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

This module parses the arguments and runs the command; the commands live in
``fastipc._cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from . import OMITTED
from ._cli import demo, emit, listen, serve, worker
from ._cli.common import PROG, event_line, fail, parse_delimiter, parse_host_port, parse_json
from ._constants import PROFILES
from .errors import IPCError

__all__ = ["event_line", "main"]


def _config_options() -> argparse.ArgumentParser:
    """The node-ipc config options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("node-ipc config")
    group.add_argument("--socket-root", help="ipc.config.socketRoot (default: node-ipc's)")
    group.add_argument("--appspace", help="ipc.config.appspace (default: 'app.')")
    group.add_argument(
        "--delimiter",
        type=parse_delimiter,
        help=r"ipc.config.delimiter, escapes allowed (default: '\f')",
    )
    group.add_argument(
        "--parser", choices=[p for p in PROFILES if p != "raw"], help="ipc.config.parser"
    )
    loud = group.add_mutually_exclusive_group()
    loud.add_argument("--silent", action="store_true", help="no status lines on stderr")
    loud.add_argument("--verbose", action="store_true", help="also print ipc.log lines on stderr")
    return common


def _where_options(id_help: str, optional: bool) -> argparse.ArgumentParser:
    """The id, ``--path`` and ``--tcp`` options that say where a server is."""
    parent = argparse.ArgumentParser(add_help=False)
    place = parent.add_argument_group("where")
    place.add_argument("id", nargs="?" if optional else None, help=id_help)
    place.add_argument(
        "--path", help="the local socket path (default: socket root + appspace + id)"
    )
    place.add_argument(
        "--tcp", type=parse_host_port, metavar="HOST:PORT", help="TCP instead of a local socket"
    )
    return parent


def _parser() -> argparse.ArgumentParser:
    """The command line's parser; each command sets ``run``, its coroutine."""
    common = _config_options()
    served = _where_options("the server's id, for its path (or give --path or --tcp)", True)
    target = _where_options("the server's id (the key in ipc.of)", False)

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="node-ipc from the command line: serve, listen, emit, and a throughput demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "serve",
        parents=[served, common],
        help="serve an id, path or TCP address and print every event received",
        description="Serve and print every event received as a JSON line "
        '{"type", "data", "from"}; "from" is the peer\'s id (identifyPeer), '
        "its TCP address, or local#N for the Nth local connection.",
    ).set_defaults(run=serve.run)

    listening = sub.add_parser(
        "listen",
        parents=[target, common],
        help="connect as a client and print every event received",
    )
    listening.add_argument(
        "--send",
        nargs="+",
        action="append",
        metavar=("TYPE", "JSON"),
        help="emit TYPE [JSON] on every connect (repeatable)",
    )
    listening.add_argument("--count", type=int, help="exit after this many events")
    listening.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait for the connection"
    )
    listening.set_defaults(run=listen.run)

    emitting = sub.add_parser(
        "emit", parents=[target, common], help="connect, send one event, disconnect"
    )
    emitting.add_argument("type", help="the event type")
    emitting.add_argument(
        "data", nargs="?", type=parse_json, default=OMITTED, help="JSON data (omitted: none)"
    )
    emitting.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for the connection (5)"
    )
    emitting.set_defaults(run=emit.run)

    demoing = sub.add_parser(
        "demo",
        parents=[common],
        help="a server and worker processes exchanging events; messages per second",
    )
    demoing.add_argument("--workers", type=int, default=4, help="worker processes (4)")
    demoing.add_argument("--seconds", type=float, default=3.0, help="how long to run (3)")
    demoing.add_argument(
        "--window", type=int, default=64, help="requests in flight per worker (64)"
    )
    demoing.set_defaults(run=demo.run)

    working = sub.add_parser("demo-worker", parents=[common])  # spawned by demo; no help: hidden
    working.add_argument("id")
    working.add_argument("--name", required=True)
    working.add_argument("--window", type=int, default=64)
    working.set_defaults(run=worker.run)
    return parser


def _check_where(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Exit with a usage error when the id, ``--path`` and ``--tcp`` conflict or are missing."""
    if args.path is not None and args.tcp is not None:
        parser.error("give --path or --tcp, not both")
    if args.command == "serve" and args.id is None and args.path is None and args.tcp is None:
        parser.error("serve needs an ID, --path or --tcp")


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments after the program's name; ``None`` for ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 when the command failed. Usage
        errors exit with status 2 (``SystemExit``), as argparse does.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("serve", "listen", "emit"):
        _check_where(args, parser)
    try:
        status: int = asyncio.run(args.run(args))
    except IPCError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:  # pragma: no cover - before the handlers are in
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
