"""``sync=True``: a client keeps one message in flight (node-ipc 14's rule).

Each emit waits in a queue until any message from the server arrives, which
releases the next. The server here answers each request after a delay and
counts the requests waiting for their answer: with sync it never sees two.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from .helpers import (
    ANSWER_DELAY,
    WAIT,
    DelayedAnswers,
    Recorder,
    closed,
    make_ipc,
    session,
    started,
)


def acks(got: Recorder) -> list[Any]:
    return [args[0] for args in got.of("ack")]


@pytest.mark.parametrize("transport", ["unix", "tcp4"])
def test_one_message_in_flight(codec, root, transport):
    count = 200
    with session(root, transport) as s:
        _, server, _ = s.server()
        answers = DelayedAnswers(server)
        got = Recorder()
        _, client, _ = s.client(sync=True, setup=lambda c: got.watch(c, "ack"))
        for i in range(count):
            assert client.emit("req", i) is True
        got.wait(lambda: len(got.of("ack")) == count, what=f"{count} acks")
        assert answers.received == list(range(count))
        assert acks(got) == list(range(count))
        assert answers.max_in_flight == 1


def test_without_sync_requests_overlap(root):
    """The control: the same server sees many requests at once without sync,
    so the test above would catch a sync that did nothing."""
    with session(root) as s:
        _, server, _ = s.server()
        answers = DelayedAnswers(server)
        got = Recorder()
        _, client, _ = s.client(setup=lambda c: got.watch(c, "ack"))
        for i in range(50):
            client.emit("req", i)
        got.wait(lambda: len(got.of("ack")) == 50)
        assert answers.max_in_flight > 1


def test_emits_before_connect_and_from_many_threads(root):
    """Emits queued before the connection is up and emits from several threads
    at once: one in flight, none lost, each thread's order kept."""
    threads, each = 4, 40
    with session(root) as s:
        _, server, _ = s.server()
        answers = DelayedAnswers(server)
        got = Recorder()
        _, client, _ = s.client(sync=True, wait=False, setup=lambda c: got.watch(c, "ack"))
        for i in range(5):  # probably before connect
            client.emit("req", ["early", i])
        start = threading.Barrier(threads)

        def produce(t: int) -> None:
            start.wait(WAIT)
            for i in range(each):
                client.emit("req", [t, i])

        workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(WAIT)
        total = 5 + threads * each
        got.wait(lambda: len(got.of("ack")) == total, what=f"{total} acks")
        assert answers.max_in_flight == 1
        assert answers.received[:5] == [["early", i] for i in range(5)]
        for t in range(threads):
            assert [i for tt, i in answers.received if tt == t] == list(range(each))
        assert acks(got) == answers.received


def test_emits_from_handlers_on_the_loop_thread(root):
    """Emits made inside handlers (the loop thread) queue too: a burst from
    the ``connect`` handler, then more from each ``ack`` handler."""
    with session(root) as s:
        _, server, _ = s.server()
        answers = DelayedAnswers(server)
        got = Recorder()

        def setup(c: Any) -> None:
            got.watch(c, "ack")

            @c.on("connect")
            def burst() -> None:
                for i in range(30):
                    c.emit("req", i)

            @c.on("ack")
            def more(data: Any) -> None:
                if data in (0, 1):
                    c.emit("req", f"after {data}")

        s.client(sync=True, setup=setup)
        got.wait(lambda: len(got.of("ack")) == 32)
        assert answers.max_in_flight == 1
        # "after 0" was queued behind the burst, so it follows it
        assert answers.received == [*range(30), "after 0", "after 1"]


@pytest.mark.loops("asyncio", "uvloop")
def test_sync_inside_a_running_loop(mode, root):
    """On the caller's own loop: emits queue the same way."""

    async def body() -> None:
        server_ipc = make_ipc(root, id="srv")
        server = server_ipc.serve()
        answers = DelayedAnswers(server)
        server.start()
        await started(server)
        client_ipc = make_ipc(root, sync=True)
        got = Recorder()
        client_ipc.connectTo("srv", lambda: got.watch(client_ipc.of.srv, "ack"))
        client = client_ipc.of.srv
        try:
            for i in range(100):
                client.emit("req", i)
            await got.arrived("ack", 100)
            assert answers.received == list(range(100)) == acks(got)
            assert answers.max_in_flight == 1
        finally:
            client_ipc.disconnect("srv")
            server.stop()
            await closed(client)
            await closed(server)

    mode.run(body)


def test_raw_sync(root):
    """Raw mode with sync: any chunk received releases the next emit."""
    with session(root) as s:
        _, server, _ = s.server(rawBuffer=True)
        chunks: list[bytes] = []
        state = {"in_flight": 0, "max": 0}

        def data(chunk: bytes, sock: Any) -> None:
            chunks.append(chunk)
            state["in_flight"] += 1
            state["max"] = max(state["max"], state["in_flight"])

            def answer() -> None:
                state["in_flight"] -= 1
                sock.emit(b"k")

            asyncio.get_running_loop().call_later(ANSWER_DELAY, answer)

        server.on("data", data)
        got = Recorder()
        _, client, _ = s.client(rawBuffer=True, sync=True, setup=lambda c: got.watch(c, "data"))
        for i in range(50):
            client.emit(bytes([i]))
        got.wait(lambda: len(got.joined()) == 50)
        assert chunks == [bytes([i]) for i in range(50)]  # never joined: one at a time
        assert state["max"] == 1
