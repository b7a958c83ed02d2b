"""node-ipc's cluster example, in Python: several worker processes serve one
socket path (pre-fork), and a client sees its requests answered by them.

node-ipc's README sets ``ipc.config.unlink = false`` in the workers and
unlinks the socket once in the master. With Node's cluster module the
workers' ``listen`` is carried out by the master: the path is bound once and
the workers share that one listening socket. Linux lets only one socket bind
a path, so this is done here explicitly, the classic pre-fork way: the parent
removes a stale socket, binds and listens once, then ``fork()``s workers that
each serve on the inherited listening socket (``ipc.server.start(sock=...)``);
the kernel hands each new connection to one of them.

The parent then plays node-ipc's cluster client: it connects, emits
``currentDate``, prints which worker answered, disconnects, ``--requests``
times; then it stops the workers and removes the socket.

    python examples/prefork_cluster.py [--socket-root DIR] [--workers 3] [--requests 6]

POSIX only (``os.fork``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import socket
import sys
import threading

from fastipc import IPC


def say(line: str) -> None:
    """Print one line in one write: the processes share stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve_forever(listener: socket.socket, path: str) -> None:
    """A worker: serve on the inherited listening socket until SIGTERM."""
    ipc = IPC()
    ipc.config.id = "world"
    ipc.config.silent = True
    ipc.config.unlink = False  # never remove the socket the others serve on

    def started() -> None:
        say(f"pid {os.getpid()} listening on {path}")

        @ipc.server.on("currentDate")
        def current_date(data, socket) -> None:
            say(f"pid {os.getpid()} got: {data}")
            ipc.server.emit(socket, "answer", {"pid": os.getpid()})

    ipc.serve(path, started)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ipc.server.start(sock=listener)
    stop.wait()
    ipc.server.stop()


def ask(path: str) -> int:
    """The client: one connection, one ``currentDate``, the worker's pid."""
    ipc = IPC()
    ipc.config.id = "client"
    ipc.config.silent = True
    answered: list[int] = []
    done = threading.Event()

    def connecting() -> None:
        world = ipc.of.world

        @world.on("connect")
        def connect() -> None:
            world.emit("currentDate", {"message": datetime.datetime.now().isoformat()})

        @world.on("answer")
        def answer(data) -> None:
            answered.append(data["pid"])
            done.set()

    ipc.connectTo("world", path, connecting)
    try:
        if not done.wait(10):
            raise SystemExit("no worker answered within 10 s")
    finally:
        ipc.disconnect("world")  # also ends the retries if nobody answered
    return answered[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--socket-root", help="where the socket lives (default: node-ipc's socket root)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--requests", type=int, default=6)
    args = parser.parse_args()

    root = os.path.join(args.socket_root, "") if args.socket_root else IPC().config.socketRoot
    os.makedirs(root, mode=0o700, exist_ok=True)
    path = root + "ipc.sock"

    # the master: remove a stale socket, bind once, then fork the workers
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    workers = []
    sys.stdout.flush()
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # a worker
            code = 0
            try:
                serve_forever(listener, path)
            except BaseException as exc:  # report, never fall back into the parent's code
                print(f"worker {os.getpid()} failed: {exc!r}", file=sys.stderr, flush=True)
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        workers.append(pid)
    listener.close()  # the workers hold it now
    say(f"master {os.getpid()} forked workers {workers}")

    try:
        seen = set()
        for n in range(1, args.requests + 1):
            pid = ask(path)
            seen.add(pid)
            say(f"request {n} answered by worker {pid}")
        say(f"{args.requests} requests answered by {len(seen)} of {len(workers)} workers")
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        for pid in workers:
            os.waitpid(pid, 0)
        if os.path.exists(path):
            os.unlink(path)
    say("workers stopped")


if __name__ == "__main__":
    main()
