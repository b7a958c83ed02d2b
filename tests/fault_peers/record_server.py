"""A fastipc server that reports every numbered event it receives.

Usage: ``record_server.py <socket path>``. Prints ``codec <its codec>``, then
``ready`` once it listens,
then ``<client> <i>`` for each ``n`` event and ``end <client> <next i>`` for
each ``end`` event, one flushed line each, until its stdin is closed.
"""

from __future__ import annotations

import sys
from typing import Any

from fastipc import IPC
from fastipc.framing import IMPLEMENTATION


def main() -> None:
    print(f"codec {IMPLEMENTATION}", flush=True)
    ipc = IPC()
    ipc.config.silent = True
    out = sys.stdout

    def started() -> None:
        @ipc.server.on("n")
        def number(data: Any, _sock: Any) -> None:
            out.write(f"{data['c']} {data['i']}\n")
            out.flush()

        @ipc.server.on("end")
        def end(data: Any, _sock: Any) -> None:
            out.write(f"end {data['c']} {data['i']}\n")
            out.flush()

    ipc.serve(sys.argv[1], started)
    ipc.server.start()  # unlink=True (the default) removes a killed server's socket file
    print("ready", flush=True)
    sys.stdin.read()
    ipc.server.stop()


if __name__ == "__main__":
    main()
