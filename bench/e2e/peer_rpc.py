#!/usr/bin/env python3
"""One process of the end-to-end benchmark's ``request`` workload (Python side).

Small request/reply round trips over a Unix socket. The client runs, in one
connection: ``--warmup`` round trips one at a time, then ``--n`` round trips
with 64 in flight (timed as a whole: round trips/s), then ``--latency-n``
round trips one at a time (each timed in the client: p50/p99). Request *i*
carries ``{"seq": i, "text": <64 chars>}`` (the text as in the other
workloads), built before timing starts; the server decodes it, counts it and
sends the same value back; the client matches every answer to its request by
correlation id and compares it with what it sent.

Implementations (``--impl``):

* ``fastipc``: ``await client.request('echo', payload)`` against a server
  with ``on_request('echo', ...)``, on asyncio or uvloop (``--loop``), with
  the codec ``fastipc.framing`` loaded (checked against ``--codec``); 64 in
  flight are 64 coroutines, each awaiting its next request;
* ``zmq``: pyzmq, a DEALER client and a ROUTER server over ``ipc://``, plain
  blocking sockets (pyzmq's fastest form); a request is two frames, an 8-byte
  correlation id and the orjson-encoded payload, sent and received with
  ``copy=False``; 64 in flight: the client sends 64, then sends the next on
  every answer;
* ``mpconn``: ``multiprocessing.connection`` Listener/Client over AF_UNIX,
  ``conn.send((id, payload))`` / ``conn.recv()`` (pickle), blocking; 64 in
  flight as for ``zmq``.

Protocol with bench/e2e/run.py as in peer.py: JSON lines on stdout, the
server prints ``{"ready": true}`` once it listens, every process one result
line at the end. The client ends with a ``fin`` request whose answer is the
server's count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from peer import FastipcClient, FastipcServer, cpu_seconds, now, say, small_payload

WINDOW = 64  # requests in flight for the rate phase


def request_payloads(total: int) -> list[dict[str, Any]]:
    return [{"seq": i, "text": small_payload(i)} for i in range(total)]


def client_result(
    ok: int, count: int, t_start: int, t_end: int, samples: list[int], server_count: Any
) -> dict[str, Any]:
    return {
        "role": "client",
        "count": count,
        "matched": ok,
        "t_start": t_start,
        "t_end": t_end,
        "samples_ns": samples,
        "server_count": server_count,
        "cpu": cpu_seconds(),
    }


# --------------------------------------------------------------------------
# fastipc


async def fastipc_server(args: argparse.Namespace) -> None:
    srv = FastipcServer(args)
    count = 0

    def echo(data: Any, sock: Any) -> Any:
        nonlocal count
        count += 1
        return data

    def fin(data: Any, sock: Any) -> int:
        say({"role": "server", "count": count, "cpu": cpu_seconds()})
        return count

    srv.server.on_request("echo", echo)
    srv.server.on_request("fin", fin)
    await srv.start()
    say({"ready": True, "pid": os.getpid()})
    await asyncio.get_running_loop().create_future()  # the runner kills the server


async def fastipc_client(args: argparse.Namespace) -> None:
    cli = FastipcClient(args)
    await cli.connect()
    request = cli.client.request
    w, n = args.warmup, args.n
    data = request_payloads(w + n + args.latency_n)
    ok = 0
    for p in data[:w]:
        ok += await request("echo", p) == p

    indices = iter(range(w, w + n))

    async def worker() -> int:
        good = 0
        for i in indices:  # shared by the 64 workers: each takes the next request
            p = data[i]
            good += await request("echo", p) == p
        return good

    t_start = now()
    ok += sum(await asyncio.gather(*(worker() for _ in range(WINDOW))))
    t_end = now()

    samples = []
    clock = time.perf_counter_ns
    for p in data[w + n :]:
        t0 = clock()
        reply = await request("echo", p)
        samples.append(clock() - t0)
        ok += reply == p
    server_count = await request("fin")
    say(client_result(ok, len(data), t_start, t_end, samples, server_count))
    cli.close()


# --------------------------------------------------------------------------
# pyzmq: ROUTER server, DEALER client, [id, body] frames


def zmq_server(args: argparse.Namespace) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"ipc://{args.addr}")
    say({"ready": True, "pid": os.getpid()})
    loads, dumps = orjson.loads, orjson.dumps
    recv, send = sock.recv_multipart, sock.send_multipart
    count = 0
    while True:
        peer, cid, body = recv(copy=False)
        if cid.bytes == b"fin":
            say({"role": "server", "count": count, "cpu": cpu_seconds()})
            send([peer, cid, dumps(count)], copy=False)
            continue
        msg = loads(body.buffer)
        count += 1
        send([peer, cid, dumps(msg)], copy=False)


def round_trips(
    ask: Callable[[int], None], answer: Callable[[], int], w: int, n: int, total: int
) -> tuple[int, int, int, list[int]]:
    """The blocking clients' timed part: ``w`` warm-up round trips one at a
    time, ``n`` with WINDOW in flight (timed), then the rest one at a time
    (latency samples). ``ask(i)`` sends request ``i``; ``answer()`` takes
    one answer and says whether it was right. Returns (right answers,
    start, end, samples in ns)."""
    ok = 0
    for i in range(w):
        ask(i)
        ok += answer()
    t_start = now()
    end = w + n
    sent = min(w + WINDOW, end)
    for i in range(w, sent):
        ask(i)
    for _ in range(n):
        ok += answer()
        if sent < end:
            ask(sent)
            sent += 1
    t_end = now()
    samples = []
    clock = time.perf_counter_ns
    for i in range(end, total):
        t0 = clock()
        ask(i)
        good = answer()
        samples.append(clock() - t0)
        ok += good
    return ok, t_start, t_end, samples


def zmq_client(args: argparse.Namespace) -> None:
    import zmq

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(f"ipc://{args.addr}")
    loads, dumps = orjson.loads, orjson.dumps
    recv, send = sock.recv_multipart, sock.send_multipart
    w, n = args.warmup, args.n
    data = request_payloads(w + n + args.latency_n)

    def ask(i: int) -> None:
        send([i.to_bytes(8, "little"), dumps(data[i])], copy=False)

    def answer() -> int:
        cid, body = recv(copy=False)
        i = int.from_bytes(cid.bytes, "little")
        return loads(body.buffer) == data[i]

    ok, t_start, t_end, samples = round_trips(ask, answer, w, n, len(data))
    send([b"fin", b"null"])
    server_count = loads(recv()[1])
    say(client_result(ok, len(data), t_start, t_end, samples, server_count))
    sock.close(linger=0)
    ctx.term()


# --------------------------------------------------------------------------
# multiprocessing.connection: (id, payload) tuples, pickled


def mpconn_server(args: argparse.Namespace) -> None:
    from multiprocessing.connection import Listener

    listener = Listener(args.addr, family="AF_UNIX")
    say({"ready": True, "pid": os.getpid()})
    conn = listener.accept()
    recv, send = conn.recv, conn.send
    count = 0
    while True:
        try:
            cid, msg = recv()
        except EOFError:  # the client closed its end
            return
        if cid == 0:  # fin
            say({"role": "server", "count": count, "cpu": cpu_seconds()})
            send((0, count))
            continue
        count += 1
        send((cid, msg))


def mpconn_client(args: argparse.Namespace) -> None:
    from multiprocessing.connection import Client

    conn = Client(args.addr, family="AF_UNIX")
    recv, send = conn.recv, conn.send
    w, n = args.warmup, args.n
    data = request_payloads(w + n + args.latency_n)

    # correlation ids start at 1: 0 is fin
    def ask(i: int) -> None:
        send((i + 1, data[i]))

    def answer() -> int:
        cid, msg = recv()
        return msg == data[cid - 1]

    ok, t_start, t_end, samples = round_trips(ask, answer, w, n, len(data))
    send((0, None))
    server_count = recv()[1]
    say(client_result(ok, len(data), t_start, t_end, samples, server_count))
    conn.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--impl", choices=["fastipc", "zmq", "mpconn"], default="fastipc")
    p.add_argument("--role", choices=["server", "client"], required=True)
    p.add_argument("--workload", choices=["request"], required=True)
    p.add_argument("--transport", choices=["unix"], required=True)
    p.add_argument("--addr", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--latency-n", type=int, default=0)
    p.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    p.add_argument("--codec", choices=["cython", "python", "any"], default="any")
    args = p.parse_args()

    if args.impl == "fastipc":
        from fastipc import framing

        if args.codec != "any" and framing.IMPLEMENTATION != args.codec:
            say({"error": f"codec is {framing.IMPLEMENTATION}, wanted {args.codec}"})
            sys.exit(3)
        coro = fastipc_server(args) if args.role == "server" else fastipc_client(args)
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(coro)
        else:
            asyncio.run(coro)
    elif args.impl == "zmq":
        (zmq_server if args.role == "server" else zmq_client)(args)
    else:
        (mpconn_server if args.role == "server" else mpconn_client)(args)


if __name__ == "__main__":
    main()
