"""A fastipc client that checks the numbered events it receives.

Usage: ``reader.py <socket path>``. Prints ``codec <its codec>``, then
``ready`` at ``connect``; counts
``n`` events, checking that ``data['i']`` runs 0, 1, 2, ... with nothing
missing, repeated or reordered; at ``end`` prints ``got <count> <in order>``
and exits.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from fastipc import IPC
from fastipc.framing import IMPLEMENTATION


def main() -> None:
    print(f"codec {IMPLEMENTATION}", flush=True)
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.maxRetries = 0
    done = threading.Event()
    state = {"count": 0, "ordered": True}

    def handlers() -> None:
        client = ipc.of.srv
        client.on("connect", lambda: print("ready", flush=True))

        @client.on("n")
        def number(data: Any) -> None:
            if data["i"] != state["count"]:
                state["ordered"] = False
            state["count"] += 1

        @client.on("end")
        def end(_data: Any) -> None:
            print(f"got {state['count']} {state['ordered']}", flush=True)
            done.set()

        client.on("destroy", done.set)

    ipc.connectTo("srv", sys.argv[1], handlers)
    done.wait(120)
    ipc.disconnect("srv")


if __name__ == "__main__":
    main()
