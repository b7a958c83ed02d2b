#!/usr/bin/env python3
"""Soak test: millions of events through fastipc, every one counted, memory and fds watched.

Two scenarios, run with each codec (the compiled Cython one and the pure-Python
twin, chosen per child process with ``FASTIPC_NO_EXTENSIONS=1``; every child
checks ``fastipc.framing.IMPLEMENTATION`` and exits 3 when it is not the one
asked for):

* ``one``: one client connection emits ``--one`` events (default 10,000,000);
* ``many``: ``--connections`` client connections (default 100) emit ``--many``
  events each (default 1,000,000), from ``--client-procs`` client processes
  (default 1: one IPC instance holding all of them, one ``connectTo`` id each).

The server and the clients are separate processes started by this script,
speaking over a Unix socket in a fresh temporary folder through fastipc's
public API (``IPC().serve`` / ``connectTo``, ``client.emit`` and ``drain()``
when ``emit`` returns False, ``server.on`` handlers). Every event carries a
64-character payload whose first ten characters are its sequence number on its
connection; the server checks, per connection, that each one is exactly the next
(no loss, no duplicate, in order) and counts them; at the end each client emits
``fin`` with how many it sent and checks the server's answer.

The parent samples ``VmRSS`` (``/proc/PID/status``) and the number of open
descriptors (``/proc/PID/fd``) of every child every ``--interval`` seconds and
reports, per process, the value at the start (all connections up, before the
first event), the peak, and the end (every event received, connections still
open). The run fails (exit 1) when any event is lost, duplicated or out of
order, a child fails, the end RSS of a process exceeds its start RSS by more
than ``--rss-bound-mib`` (default 20 MiB), its descriptor count grew, no
progress was made for ``--stall`` seconds, or the whole run takes longer than
``--timeout`` seconds.

    .venv/bin/python scripts/soak.py                       # the full soak, both codecs
    nice -n 19 .venv/bin/python scripts/soak.py --codec python --one 1000000 --many 0
    .venv/bin/python scripts/soak.py --one 2000 --many 200 --connections 5   # seconds

``--fault skip|dup`` makes the clients skip or repeat one sequence number, to
show that the checks catch it (the run must then exit 1); the smoke test
(tests/test_soak_smoke.py) uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import pathlib
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

MIB = 1024 * 1024
PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[:54]
YIELD_EVERY = 1024  # a sender gives the loop a turn at least this often
PROGRESS_EVERY = 2.0  # seconds between the server's progress lines
MAX_ERRORS = 20  # sequence errors kept for the report (all are counted)


def say(obj: dict[str, Any]) -> None:
    """Write one JSON line to stdout (the protocol between a child and the parent)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def payload(seq: int) -> str:
    return f"{seq:010d}{PAD}"


async def stdin_lines() -> asyncio.StreamReader:
    """The parent's commands ("go", "exit"), read without a thread."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def expect_line(reader: asyncio.StreamReader, word: str) -> None:
    line = (await reader.readline()).decode().strip()
    if line != word:
        raise SystemExit(f"expected {word!r} from the parent, got {line!r}")


def check_codec(want: str) -> str:
    from fastipc import framing

    if framing.IMPLEMENTATION != want:
        say({"error": f"codec is {framing.IMPLEMENTATION}, wanted {want}"})
        sys.exit(3)
    return framing.IMPLEMENTATION


# --------------------------------------------------------------------------
# the server process


async def server_main(args: argparse.Namespace) -> None:
    from fastipc import IPC

    impl = check_codec(args.codec)
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.id = "soak"
    ipc.config.maxConnections = max(1000, args.connections * 2)
    server = ipc.serve(args.addr)
    loop = asyncio.get_running_loop()

    # per connection: [connection index, next expected seq, events counted, fin seen]
    state: dict[Any, list[Any]] = {}
    errors: list[str] = []
    error_count = 0
    total = 0
    fins = 0
    t_first = 0
    all_done = loop.create_future()

    def error(text: str) -> None:
        nonlocal error_count
        error_count += 1
        if len(errors) < MAX_ERRORS:
            errors.append(text)

    def on_hello(data: Any, sock: Any) -> None:
        state[sock] = [data, 0, 0, False]

    def on_m(data: Any, sock: Any) -> None:
        nonlocal total, t_first
        if not total:
            t_first = time.monotonic_ns()
        total += 1
        st = state.get(sock)
        if st is None:
            error(f"event before hello: {data!r}")
            return
        seq = int(data[:10])
        if seq != st[1]:
            kind = "duplicate or out of order" if seq < st[1] else "lost"
            error(f"connection {st[0]}: got seq {seq}, expected {st[1]} ({kind})")
        st[1] = seq + 1
        st[2] += 1

    def on_fin(data: Any, sock: Any) -> None:
        nonlocal fins
        st = state.get(sock)
        if st is None:
            error("fin before hello")
            return
        if st[2] != data or st[1] != data:
            error(f"connection {st[0]}: client sent {data}, server counted {st[2]}, next {st[1]}")
        st[3] = True
        fins += 1
        server.emit(sock, "done", {"count": st[2], "next": st[1]})
        if fins == args.connections and not all_done.done():
            all_done.set_result(time.monotonic_ns())

    def on_gone(sock: Any, destroyed_id: Any) -> None:
        st = state.get(sock)
        if st is not None and not st[3]:
            error(f"connection {st[0]} closed before fin after {st[2]} events")
            if not all_done.done():
                all_done.set_result(time.monotonic_ns())

    server.on("hello", on_hello)
    server.on("m", on_m)
    server.on("fin", on_fin)
    server.on("socket.disconnected", on_gone)
    server.start()
    await server.wait_started()
    commands = await stdin_lines()
    say({"ready": True, "pid": os.getpid(), "impl": impl})

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            say({"progress": total, "errors": error_count})

    ticker = loop.create_task(progress())
    t_last = await all_done
    ticker.cancel()
    counts = sorted(st[2] for st in state.values())
    say(
        {
            "result": "server",
            "total": total,
            "connections": len(state),
            "fins": fins,
            "min_per_connection": counts[0] if counts else 0,
            "max_per_connection": counts[-1] if counts else 0,
            "t_first": t_first,
            "t_last": t_last,
            "error_count": error_count,
            "errors": errors,
        }
    )
    await expect_line(commands, "exit")
    server.stop()
    await server.wait_closed()


# --------------------------------------------------------------------------
# a client process: one IPC instance, one connectTo id per connection


async def client_main(args: argparse.Namespace) -> None:
    from fastipc import IPC

    impl = check_codec(args.codec)
    ipc = IPC()
    ipc.config.silent = True
    ipc.config.id = f"soak-client-{os.getpid()}"
    ipc.config.maxRetries = 0  # a dropped connection is a failure, not a reconnect
    loop = asyncio.get_running_loop()
    indices = [int(i) for i in args.indices.split(",")]
    done: dict[str, asyncio.Future[Any]] = {}
    lost: list[str] = []
    finished: set[str] = set()

    def handlers(cid: str) -> Callable[[], None]:
        """connectTo's callback for ``cid``: handlers in place before any event."""

        def setup() -> None:
            client = ipc.of[cid]

            def on_done(data: Any) -> None:
                if not done[cid].done():
                    done[cid].set_result(data)

            def on_disconnect() -> None:
                if cid not in finished:
                    lost.append(cid)
                    if not done[cid].done():
                        done[cid].set_exception(ConnectionError(f"{cid} disconnected"))

            client.on("done", on_done)
            client.on("disconnect", on_disconnect)

        return setup

    for i in indices:
        cid = f"soak{i}"
        done[cid] = loop.create_future()
        # One after another: the connect storm is another test's subject.
        client = ipc.connectTo(cid, args.addr, handlers(cid))
        await asyncio.wait_for(client.wait_connected(), 30)
        client.emit("hello", i)

    commands = await stdin_lines()
    say({"connected": len(indices), "pid": os.getpid(), "impl": impl})
    await expect_line(commands, "go")

    n = args.n
    fault_at = n // 2 if args.fault != "none" else -1

    async def send(cid: str) -> dict[str, Any]:
        client = ipc.of[cid]
        emit, drain = client.emit, client.drain
        sent = 0
        for seq in range(n):
            if seq == fault_at:
                if args.fault == "skip":
                    continue
                emit("m", payload(seq))  # "dup": this one goes twice
                sent += 1
            sent += 1
            if not emit("m", payload(seq)):
                await drain()
            elif not seq % YIELD_EVERY:
                await asyncio.sleep(0)
        emit("fin", n)
        answer = await asyncio.wait_for(done[cid], args.fin_timeout)
        finished.add(cid)
        ok = answer == {"count": n, "next": n}
        return {"id": cid, "sent": sent, "answer": answer, "ok": ok}

    results = await asyncio.gather(*(send(f"soak{i}") for i in indices), return_exceptions=True)
    report = []
    for r in results:
        if isinstance(r, BaseException):
            report.append({"ok": False, "error": repr(r)})
        else:
            report.append(r)
    bad = [r for r in report if not r["ok"]]
    say({"result": "client", "connections": len(report), "bad": bad[:MAX_ERRORS], "lost": lost})
    await expect_line(commands, "exit")
    finished.update(done)
    for i in indices:
        ipc.disconnect(f"soak{i}")
    await asyncio.sleep(0.05)


# --------------------------------------------------------------------------
# the parent: start the children, sample them, check everything


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, rss, fds)
    stderr: str = ""
    stderr_reader: threading.Thread | None = None

    def errors(self) -> str:
        """The tail of what the child wrote to stderr, once it has all been read."""
        if self.stderr_reader is not None:
            self.stderr_reader.join(5)
        return self.stderr[-2000:]


def sample(pid: int) -> tuple[int, int] | None:
    """(VmRSS in bytes, open descriptors) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration, ValueError):
        return None
    return rss, fds


class Sampler(threading.Thread):
    """Samples every child every ``interval`` seconds until stopped."""

    def __init__(self, children: list[Child], interval: float) -> None:
        super().__init__(daemon=True)
        self.children = children
        self.interval = interval
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Sample every child now; return the time stamp the samples carry."""
        with self.lock:
            now = time.monotonic()
            for child in self.children:
                s = sample(child.proc.pid)
                if s is not None:
                    child.samples.append((now, *s))
            return now

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.take()


class Failure(Exception):
    """Raised when a phase fails a check; the message says which."""


def reader(name: str, stream: IO[bytes], lines: queue.Queue[tuple[str, Any]]) -> None:
    for raw in stream:
        try:
            lines.put((name, json.loads(raw)))
        except ValueError:
            lines.put((name, {"garbage": raw.decode(errors="replace")}))
    lines.put((name, None))


def child_env(codec: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FASTIPC_NO_EXTENSIONS", None)
    if codec == "python":
        env["FASTIPC_NO_EXTENSIONS"] = "1"
    return env


def figures(child: Child, t_start: float, t_end: float) -> dict[str, int]:
    window = [s for s in child.samples if t_start <= s[0] <= t_end]
    start = next(s for s in child.samples if s[0] == t_start)
    end = next(s for s in child.samples if s[0] == t_end)
    return {
        "rss_start": start[1],
        "rss_peak": max(s[1] for s in window),
        "rss_end": end[1],
        "fds_start": start[2],
        "fds_peak": max(s[2] for s in window),
        "fds_end": end[2],
        "samples": len(window),
    }


def run_phase(
    args: argparse.Namespace, codec: str, scenario: str, deadline: float
) -> dict[str, Any]:
    """Run one scenario with one codec; return its figures, raise Failure on any failed check."""
    n, conns = (args.one, 1) if scenario == "one" else (args.many, args.connections)
    procs = 1 if scenario == "one" else max(1, min(args.client_procs, conns))
    folder = tempfile.mkdtemp(prefix="fipc-soak-")
    addr = os.path.join(folder, "soak.sock")
    env = child_env(codec)
    me = [sys.executable, os.path.abspath(__file__), "--codec", codec, "--addr", addr]
    lines: queue.Queue[tuple[str, Any]] = queue.Queue()
    children: list[Child] = []
    sampler = Sampler(children, args.interval)
    result: dict[str, Any] = {
        "codec": codec,
        "scenario": scenario,
        "connections": conns,
        "per_connection": n,
        "messages": n * conns,
        "client_procs": procs,
    }

    def start(name: str, extra: list[str]) -> Child:
        proc = subprocess.Popen(
            [*me, *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        child = Child(name, proc)
        assert proc.stdout is not None and proc.stderr is not None
        threading.Thread(target=reader, args=(name, proc.stdout, lines), daemon=True).start()

        def keep_stderr() -> None:
            assert proc.stderr is not None
            child.stderr = proc.stderr.read().decode(errors="replace")

        child.stderr_reader = threading.Thread(target=keep_stderr, daemon=True)
        child.stderr_reader.start()
        children.append(child)
        return child

    def tell(child: Child, word: str) -> None:
        assert child.proc.stdin is not None
        try:
            child.proc.stdin.write(word.encode() + b"\n")
            child.proc.stdin.flush()
        except OSError:
            pass

    def wait_for(
        what: str, names: set[str], key: str, stall: float | None = None
    ) -> dict[str, Any]:
        """Collect one line holding ``key`` from each child in ``names``."""
        got: dict[str, Any] = {}
        last_progress = time.monotonic()
        while set(got) != names:
            now = time.monotonic()
            if now > deadline:
                raise Failure(f"global timeout ({args.timeout:g} s) while waiting for {what}")
            if stall is not None and now - last_progress > stall:
                raise Failure(f"no progress for {stall:g} s while waiting for {what}")
            try:
                name, msg = lines.get(timeout=min(1.0, max(0.01, deadline - now)))
            except queue.Empty:
                continue
            if msg is None:
                child = next(c for c in children if c.name == name)
                rc = child.proc.wait()
                raise Failure(f"{name} exited ({rc}) while waiting for {what}: {child.errors()}")
            if "error" in msg or "garbage" in msg:
                raise Failure(f"{name}: {msg}")
            if "progress" in msg:
                last_progress = time.monotonic()
                if args.verbose:
                    pct = 100 * msg["progress"] / max(1, n * conns)
                    print(f"  {codec}/{scenario}: {msg['progress']:,} ({pct:.0f}%)", flush=True)
                if msg.get("errors"):
                    raise Failure(f"{msg['errors']} sequence errors so far")
                continue
            if key in msg:
                got[name] = msg
        return got

    try:
        server = start("server", ["--role", "server", "--connections", str(conns)])
        ready = wait_for("the server to listen", {"server"}, "ready", stall=30)["server"]
        if ready["impl"] != codec:
            raise Failure(f"server runs the {ready['impl']} codec, wanted {codec}")
        sampler.start()
        clients = []
        for p in range(procs):
            indices = ",".join(str(i) for i in range(p, conns, procs))
            extra = ["--role", "client", "--indices", indices, "--n", str(n)]
            extra += ["--fault", args.fault, "--fin-timeout", str(args.stall)]
            clients.append(start(f"client{p + 1}", extra))
        names = {c.name for c in clients}
        for name, msg in wait_for("the connections", names, "connected", stall=60).items():
            if msg["impl"] != codec:
                raise Failure(f"{name} runs the {msg['impl']} codec, wanted {codec}")

        t_start = sampler.take()  # the start: all connections up, no event sent yet
        for c in clients:
            tell(c, "go")
        results = wait_for("the events", names | {"server"}, "result", stall=args.stall)
        t_end = sampler.take()  # the end: every event counted, connections still open
        sampler.stopped.set()

        srv = results["server"]
        secs = (srv["t_last"] - srv["t_first"]) / 1e9
        result.update(
            {
                "received": srv["total"],
                "seconds": round(secs, 3),
                "rate": round(srv["total"] / secs) if secs > 0 else None,
                "sequence_errors": srv["error_count"],
                "errors": srv["errors"],
                "server": figures(server, t_start, t_end),
                "clients": {c.name: figures(c, t_start, t_end) for c in clients},
            }
        )
        problems = []
        if srv["error_count"]:
            problems.append(f"{srv['error_count']} sequence errors: {srv['errors'][:5]}")
        if srv["total"] != n * conns:
            problems.append(f"server received {srv['total']:,} events, {n * conns:,} were sent")
        if srv["connections"] != conns or srv["fins"] != conns:
            problems.append(f"server saw {srv['connections']} connections, {srv['fins']} fins")
        for name in sorted(names):
            r = results[name]
            if r["bad"] or r["lost"]:
                problems.append(f"{name}: {r['bad'][:3]} lost={r['lost'][:3]}")
        bound = args.rss_bound_mib * MIB
        for name, fig in [("server", result["server"]), *result["clients"].items()]:
            grew = fig["rss_end"] - fig["rss_start"]
            if grew > bound:
                problems.append(
                    f"{name} RSS grew {grew / MIB:.1f} MiB (bound {args.rss_bound_mib})"
                )
            if fig["fds_end"] > fig["fds_start"]:
                problems.append(f"{name} fds grew {fig['fds_start']} -> {fig['fds_end']}")
        result["problems"] = problems

        for c in clients:
            tell(c, "exit")
        for c in clients:
            c.proc.wait(timeout=30)
        tell(server, "exit")
        server.proc.wait(timeout=30)
        for child in children:
            if child.proc.returncode != 0:
                problems.append(f"{child.name} exited {child.proc.returncode}: {child.errors()}")
        return result
    finally:
        sampler.stopped.set()
        for child in children:
            if child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------
# report


def mib(b: int) -> str:
    return f"{b / MIB:.1f}"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def versions() -> str:
    """Python, fastipc and the git commit of the tree (a label for the report)."""
    import fastipc

    try:
        commit = subprocess.run(
            [
                "git",
                "-C",
                str(pathlib.Path(__file__).resolve().parent),
                "rev-parse",
                "--short",
                "HEAD",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"Python {platform.python_version()}, fastipc {fastipc.__version__} ({commit or '?'})"


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| codec | scenario | messages | msg/s | server RSS MiB start/peak/end "
        "| server fds start/peak/end | client RSS MiB start/peak/end "
        "| client fds start/peak/end | result |\n"
        "|---|---|---:|---:|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        if "server" not in r:
            rows.append(f"| {r['codec']} | {r['scenario']} | {r['messages']:,} | | | | | | FAIL |")
            continue
        s = r["server"]
        for i, (name, c) in enumerate(sorted(r["clients"].items())):
            first = i == 0
            label = f"{r['scenario']} ({r['connections']} x {r['per_connection']:,})"
            rows.append(
                "| "
                + " | ".join(
                    [
                        r["codec"] if first else "",
                        label if first else f"({name})",
                        f"{r['messages']:,}" if first else "",
                        f"{r['rate']:,}" if first and r["rate"] else "",
                        f"{mib(s['rss_start'])} / {mib(s['rss_peak'])} / {mib(s['rss_end'])}"
                        if first
                        else "",
                        f"{s['fds_start']} / {s['fds_peak']} / {s['fds_end']}" if first else "",
                        f"{mib(c['rss_start'])} / {mib(c['rss_peak'])} / {mib(c['rss_end'])}",
                        f"{c['fds_start']} / {c['fds_peak']} / {c['fds_end']}",
                        ("FAIL" if r["problems"] else "ok") if first else "",
                    ]
                )
                + " |"
            )
    return head + "\n".join(rows) + "\n"


def parent_main(args: argparse.Namespace) -> int:
    codecs = ["cython", "python"] if args.codec == "both" else [args.codec]
    scenarios = [s for s, n in (("one", args.one), ("many", args.many)) if n > 0]
    deadline = time.monotonic() + args.timeout
    started = datetime.datetime.now(datetime.timezone.utc)
    results: list[dict[str, Any]] = []
    failed = False
    print(f"soak: {started:%Y-%m-%d %H:%M:%S} UTC; {machine()}; {versions()}", flush=True)
    print(
        f"soak: codecs {codecs}, one={args.one:,}, many={args.many:,} x {args.connections} "
        f"connections in {args.client_procs} client process(es); RSS bound "
        f"{args.rss_bound_mib} MiB, fds must not grow; timeout {args.timeout:g} s",
        flush=True,
    )
    for codec in codecs:
        for scenario in scenarios:
            t0 = time.monotonic()
            try:
                r = run_phase(args, codec, scenario, deadline)
            except Failure as e:
                n, conns = (args.one, 1) if scenario == "one" else (args.many, args.connections)
                r = {
                    "codec": codec,
                    "scenario": scenario,
                    "messages": n * conns,
                    "problems": [str(e)],
                }
            r["wall_seconds"] = round(time.monotonic() - t0, 1)
            results.append(r)
            verdict = "FAIL: " + "; ".join(r["problems"]) if r["problems"] else "ok"
            rate = f"{r['rate']:,} msg/s" if r.get("rate") else "-"
            print(
                f"soak: {codec}/{scenario}: {r['messages']:,} messages, {rate}, "
                f"{r['wall_seconds']} s wall: {verdict}",
                flush=True,
            )
            failed = failed or bool(r["problems"])
            if time.monotonic() > deadline:
                break
    print()
    print(table(results))
    if args.json:
        out = {
            "started": started.isoformat(),
            "machine": machine(),
            "versions": versions(),
            "argv": sys.argv,
            "rss_bound_mib": args.rss_bound_mib,
            "results": results,
        }
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print("soak:", "FAILED" if failed else "passed", flush=True)
    return 1 if failed else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", choices=["cython", "python", "both"], default="both")
    p.add_argument("--one", type=int, default=10_000_000, help="events through one connection")
    p.add_argument("--many", type=int, default=1_000_000, help="events through each connection")
    p.add_argument("--connections", type=int, default=100, help="connections of the many scenario")
    p.add_argument("--client-procs", type=int, default=1, help="client processes (many scenario)")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    p.add_argument("--rss-bound-mib", type=float, default=20.0, help="allowed RSS growth")
    p.add_argument("--timeout", type=float, default=7200.0, help="seconds for the whole run")
    p.add_argument("--stall", type=float, default=120.0, help="seconds without progress")
    p.add_argument("--fault", choices=["none", "skip", "dup"], default="none")
    p.add_argument("--json", help="also write every figure to this JSON file")
    p.add_argument("-v", "--verbose", action="store_true", help="print progress")
    # child processes
    p.add_argument("--role", choices=["parent", "server", "client"], default="parent")
    p.add_argument("--addr", help=argparse.SUPPRESS)
    p.add_argument("--indices", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--fin-timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "server":
        asyncio.run(server_main(args))
    elif args.role == "client":
        asyncio.run(client_main(args))
    else:
        sys.exit(parent_main(args))


if __name__ == "__main__":
    main()
