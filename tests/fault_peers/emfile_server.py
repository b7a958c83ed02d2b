"""A fastipc server left with only a few free file descriptors.

Usage: ``emfile_server.py <socket path> <free descriptors>``. It lowers its
RLIMIT_NOFILE, starts serving, then opens /dev/null until open() fails with
EMFILE and closes just enough to leave ``<free descriptors>`` free. It
reports on stdout, one line each: ``codec <its codec>``, ``ready``, ``connect``, ``ping <data>``
(answered with ``pong``), ``error <errno> <type>: <message>`` for each
``error`` event, and ``log <logger> <LEVEL> <message>`` for each log record.
The stdin line ``release`` closes the padding (``released``); closing stdin
stops the server.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import sys
from typing import Any

from fastipc import IPC
from fastipc.framing import IMPLEMENTATION

LIMIT = 128


class Report(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().replace("\n", " | ")
        say(f"log {record.name} {record.levelname} {message}")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    say(f"codec {IMPLEMENTATION}")
    path, free = sys.argv[1], int(sys.argv[2])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, hard))
    root = logging.getLogger()
    root.addHandler(Report())
    root.setLevel(logging.DEBUG)

    ipc = IPC()
    ipc.config.silent = True

    def started() -> None:
        server = ipc.server
        server.on("connect", lambda _sock: say("connect"))
        server.on("socket.disconnected", lambda _sock, _id: say("disconnected"))

        @server.on("error")
        def error(exc: Any) -> None:
            say(f"error {getattr(exc, 'errno', None)} {type(exc).__name__}: {exc}")

        @server.on("ping")
        def ping(data: Any, sock: Any) -> None:
            say(f"ping {data}")
            server.emit(sock, "pong", data)

    ipc.serve(path, started)
    ipc.server.start()
    padding: list[int] = []
    while True:
        try:
            padding.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as exc:
            assert exc.errno == errno.EMFILE, exc
            break
    for _ in range(free):
        os.close(padding.pop())
    say(f"ready {len(padding)}")
    for line in sys.stdin:
        if line.strip() == "release":
            for fd in padding:
                os.close(fd)
            padding.clear()
            say("released")
    ipc.server.stop()


if __name__ == "__main__":
    main()
