#!/usr/bin/env python3
"""End-to-end benchmark: fastipc side by side with node-ipc 14, process to process.

Every subject is a server process and one or more client processes, started
fresh for every run of every cell (bench/e2e/peer.py for Python,
bench/e2e/peer.mjs for node-ipc on Node 22):

* ``fastipc-cython``: fastipc with the Cython codec, in its own asyncio loop;
* ``fastipc-python``: the same with the pure-Python codec (``FASTIPC_NO_EXTENSIONS=1``);
* ``fastipc-uvloop``: the Cython codec on uvloop;
* ``fastipc-threads``: fastipc from plain synchronous code (the background
  loop thread; the main thread emits), oneway and latency only;
* ``node-ipc``: node-ipc 14.0.0 on Node 22, client and server: the anchor;
* ``asyncio-orjson``: a hand-written asyncio Protocol with orjson speaking the
  same wire format (what a Python user would write by hand);
* ``py-to-node``: a fastipc (Cython, asyncio) client to a node-ipc server;
* ``node-to-py``: a node-ipc client to a fastipc (Cython, asyncio) server;
* ``pyzmq`` and ``mp-connection``: the request workload only, through pyzmq
  (DEALER/ROUTER over ipc://) and ``multiprocessing.connection`` (AF_UNIX),
  bench/e2e/peer_rpc.py.

Workloads, over a Unix socket and over TCP on 127.0.0.1, with frames
``{"type":"m","data":"<64 chars>"}\\f``: ``oneway`` (a client emits N events;
N over the time from its first emit to the server's receipt of the last),
``rtt`` (64 requests in flight, the server echoes each: round trips/s),
``latency`` (one in flight: p50 and p99 in microseconds), ``fanout`` (the
server broadcasts N events to 4 client processes: deliveries/s), ``large``
(1 MiB string payloads, oneway: MB/s), ``connections`` (server RSS growth
from /proc/PID/status while it holds 1,000 idle clients, each of which sent
one event: KiB per connection), and, over the Unix socket only, ``request``
(request/reply through fastipc's ``client.request``/``server.on_request``,
payload ``{"seq": i, "text": <64 chars>}``: round trips/s with 64 in flight,
then p50/p99 with one in flight; the summary gives fastipc's ratios to pyzmq
and to multiprocessing.connection).

Every count is checked exactly (the receiver counts events and compares the
last payload); a run that fails a check, times out or crashes gives the cell
no figure. Several runs per cell, subjects alternated (forward, then
reversed) run by run; the median is reported. Writes
``bench/results/e2e.json`` (every run, N, CPU seconds per process, versions,
machine) and ``bench/results/e2e.md`` (the table, with each cell's ratio to
node-ipc 14 measured in the same run).

    .venv/bin/python bench/e2e/run.py              # full: 3 runs per cell, ~10-12 min
    .venv/bin/python bench/e2e/run.py --quick      # ~1-2 min
    .venv/bin/python bench/e2e/run.py --subjects node-ipc,fastipc-cython --workloads oneway,rtt
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
PY_PEER = HERE / "peer.py"
PY_RPC_PEER = HERE / "peer_rpc.py"
NODE_PEER = HERE / "peer.mjs"
RESULTS = ROOT / "bench" / "results"
MIB = 1024 * 1024

sys.path.insert(0, str(ROOT / "bench"))
import codec_bench  # noqa: E402  (versions(), machine(): the same capture as the codec benchmark)

# the node-ipc-level workloads, then the request/reply layer's
EVENT_WORKLOADS = ("oneway", "rtt", "latency", "fanout", "large", "connections")
WORKLOADS = (*EVENT_WORKLOADS, "request")
TRANSPORTS = ("unix", "tcp")
# workloads measured over some transports only
WORKLOAD_TRANSPORTS = {"request": ("unix",)}

FULL = {
    "runs": 3,
    "oneway": 1_000_000,
    "rtt": 200_000,
    "latency": 10_000,
    "latency_warmup": 1_000,
    "fanout": 100_000,
    "large": 64,
    "connections": 1_000,
    "request": 100_000,
    "request_latency": 10_000,
    "request_warmup": 1_000,
    "timeout": 120.0,
}
QUICK = {
    "runs": 1,
    "oneway": 100_000,
    "rtt": 30_000,
    "latency": 2_000,
    "latency_warmup": 200,
    "fanout": 20_000,
    "large": 16,
    "connections": 1_000,
    "request": 20_000,
    "request_latency": 2_000,
    "request_warmup": 200,
    "timeout": 60.0,
}
FANOUT_CLIENTS = 4

# (metric key, label, unit, higher is better)
METRICS = {
    "oneway": [("rate", "oneway msg/s", True)],
    "rtt": [("rate", "rtt round trips/s (64 in flight)", True)],
    "latency": [("p50_us", "latency p50 us", False), ("p99_us", "latency p99 us", False)],
    "fanout": [("rate", "fanout deliveries/s (4 clients)", True)],
    "large": [("mb_per_s", "large (1 MiB) MB/s", True)],
    "connections": [("kib_per_conn", "RSS KiB per idle connection (1,000)", False)],
    "request": [
        ("rate", "request round trips/s (64 in flight)", True),
        ("p50_us", "request p50 us (1 in flight)", False),
        ("p99_us", "request p99 us (1 in flight)", False),
    ],
}
THROUGHPUT = {"oneway", "rtt", "fanout", "request"}
# the request workload's other subjects, and the ratios the summary gives
REQUEST_BASELINES = ("pyzmq", "mp-connection")
REQUEST_SUBJECTS = ("fastipc-cython", "fastipc-uvloop", "fastipc-python")


@dataclass
class Peer:
    """How to start one side: Node, or Python with an implementation, loop and codec."""

    lang: str  # "py" or "node"
    impl: str = "fastipc"  # py: fastipc, proto; for the request workload also zmq, mpconn
    loop: str = "asyncio"
    codec: str = "cython"

    def command(
        self, role: str, workload: str, transport: str, addr: str, n: int, extra: list[str]
    ) -> tuple[list[str], dict[str, str]]:
        common = [
            "--role",
            role,
            "--workload",
            workload,
            "--transport",
            transport,
            "--addr",
            addr,
            "--n",
            str(n),
            *extra,
        ]
        env = dict(os.environ)
        env.pop("FASTIPC_NO_EXTENSIONS", None)
        if self.lang == "node":
            return [str(NODE), str(NODE_PEER), *common], env
        # The installed fastipc (scripts/setup.sh builds and installs it from
        # this tree), not src/: a fresh clone's src/ has no compiled codec.
        if self.codec == "python":
            env["FASTIPC_NO_EXTENSIONS"] = "1"
        script = PY_RPC_PEER if workload == "request" else PY_PEER
        cmd = [sys.executable, str(script), "--impl", self.impl]
        if self.impl == "fastipc" or script is PY_PEER:
            cmd += ["--loop", self.loop]
        if self.impl == "fastipc":
            cmd += ["--codec", self.codec]
        return cmd + common, env


@dataclass
class Subject:
    key: str
    label: str
    server: Peer
    client: Peer
    workloads: tuple[str, ...] = WORKLOADS
    errors: list[str] = field(default_factory=list)


def subjects() -> list[Subject]:
    cy = Peer("py")
    node = Peer("node")
    no_request = EVENT_WORKLOADS
    zmq = Peer("py", impl="zmq")
    mpconn = Peer("py", impl="mpconn")
    return [
        Subject("node-ipc", "node-ipc 14 (Node 22, both sides)", node, node),
        Subject("fastipc-cython", "fastipc, Cython codec, asyncio", cy, cy),
        Subject(
            "fastipc-python",
            "fastipc, pure-Python codec, asyncio",
            Peer("py", codec="python"),
            Peer("py", codec="python"),
        ),
        Subject(
            "fastipc-uvloop",
            "fastipc, Cython codec, uvloop",
            Peer("py", loop="uvloop"),
            Peer("py", loop="uvloop"),
        ),
        Subject(
            "fastipc-threads",
            "fastipc, Cython codec, plain threads (sync API)",
            Peer("py", loop="thread"),
            Peer("py", loop="thread"),
            workloads=("oneway", "latency"),
        ),
        Subject(
            "asyncio-orjson",
            "hand-written asyncio Protocol + orjson",
            Peer("py", impl="proto"),
            Peer("py", impl="proto"),
            workloads=no_request,
        ),
        Subject(
            "py-to-node",
            "fastipc client (Cython, asyncio) -> node-ipc server",
            node,
            cy,
            workloads=(*no_request[:-1], "request"),
        ),
        Subject(
            "node-to-py",
            "node-ipc client -> fastipc server (Cython, asyncio)",
            cy,
            node,
            workloads=(*no_request[:-1], "request"),
        ),
        Subject(
            "pyzmq",
            "pyzmq DEALER client -> ROUTER server, ipc://, blocking sockets, "
            "[8-byte id, orjson body] frames, copy=False (request only)",
            zmq,
            zmq,
            workloads=("request",),
        ),
        Subject(
            "mp-connection",
            "multiprocessing.connection Client -> Listener, AF_UNIX, "
            "send/recv of pickled (id, payload) (request only)",
            mpconn,
            mpconn,
            workloads=("request",),
        ),
    ]


# --------------------------------------------------------------------------
# processes


class Proc:
    """A peer process: its JSON lines arrive on a queue; stderr goes to a file."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        lines: queue.Queue[Any],
        tmp: pathlib.Path,
    ) -> None:
        self.name = name
        self.err_path = tmp / f"{name}.stderr"
        self.err = open(self.err_path, "wb")
        self.popen = subprocess.Popen(
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.err,
            stdin=subprocess.DEVNULL,
            cwd=str(ROOT),
        )
        self.pid = self.popen.pid
        self.lines = lines
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            try:
                self.lines.put((self.name, json.loads(raw)))
            except ValueError:
                self.lines.put((self.name, {"junk": raw[:200].decode(errors="replace")}))
        self.lines.put((self.name, {"eof": True, "rc": self.popen.wait()}))

    def stderr_tail(self) -> str:
        self.err.flush()
        try:
            return self.err_path.read_text(errors="replace")[-600:].strip()
        except OSError:
            return ""

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.err.close()


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunFailed(Exception):
    pass


def wait_lines(
    lines: queue.Queue[Any], want: dict[str, str], deadline: float, procs: dict[str, Proc]
) -> dict[str, dict[str, Any]]:
    """Collect one line with key ``want[name]`` from each process named in ``want``."""
    got: dict[str, dict[str, Any]] = {}
    while len(got) < len(want):
        left = deadline - time.monotonic()
        if left <= 0:
            missing = sorted(set(want) - set(got))
            raise RunFailed(f"timed out waiting for {', '.join(missing)}")
        try:
            name, obj = lines.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        if "error" in obj or "junk" in obj:
            raise RunFailed(f"{name}: {obj}")
        if obj.get("eof"):
            if name in want and name not in got:
                raise RunFailed(
                    f"{name} exited (rc {obj['rc']}) early: {procs[name].stderr_tail()}"
                )
            if obj["rc"] not in (0, None, -signal.SIGKILL):
                raise RunFailed(f"{name} exited with rc {obj['rc']}: {procs[name].stderr_tail()}")
            continue
        if name in want and want[name] in obj:
            got[name] = obj
    return got


def run_once(
    subject: Subject, workload: str, transport: str, params: dict[str, Any]
) -> dict[str, Any]:
    """One run of one cell: fresh processes, every count checked. Raises RunFailed."""
    n = params[workload]
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="fipc-e2e-", dir="/tmp"))
    addr = str(tmp / "s.sock") if transport == "unix" else str(free_port())
    lines: queue.Queue[Any] = queue.Queue()
    procs: dict[str, Proc] = {}
    timeout = params["timeout"]
    extra: list[str] = []
    if workload == "latency":
        extra = ["--warmup", str(params["latency_warmup"])]
    if workload == "fanout":
        extra = ["--clients", str(FANOUT_CLIENTS)]
    if workload == "request":
        extra = [
            "--warmup",
            str(params["request_warmup"]),
            "--latency-n",
            str(params["request_latency"]),
        ]
    try:
        cmd, env = subject.server.command("server", workload, transport, addr, n, extra)
        procs["server"] = Proc("server", cmd, env, lines, tmp)
        ready = wait_lines(lines, {"server": "ready"}, time.monotonic() + 30, procs)["server"]
        out: dict[str, Any] = {}
        if workload == "connections":
            time.sleep(0.3)
            before = rss_kib(procs["server"].pid)
            conns = Peer("py", impl="proto")
            cmd, env = conns.command("conns", workload, transport, addr, n, [])
            procs["conns"] = Proc("conns", cmd, env, lines, tmp)
            got = wait_lines(
                lines, {"server": "role", "conns": "role"}, time.monotonic() + timeout, procs
            )
            if got["server"].get("count") != n or got["conns"].get("count") != n:
                raise RunFailed(f"held {got['server'].get('count')} of {n} connections")
            time.sleep(0.5)
            after = rss_kib(procs["server"].pid)
            out = {
                "rss_before_kib": before,
                "rss_after_kib": after,
                "kib_per_conn": (after - before) / n,
            }
        else:
            n_clients = FANOUT_CLIENTS if workload == "fanout" else 1
            names = [f"client{i}" for i in range(n_clients)]
            for name in names:
                cmd, env = subject.client.command("client", workload, transport, addr, n, extra)
                procs[name] = Proc(name, cmd, env, lines, tmp)
            want = {"server": "role", **{name: "role" for name in names}}
            got = wait_lines(lines, want, time.monotonic() + timeout, procs)
            out = measure(workload, n, params, got, names)
        out["cpu"] = {name: obj.get("cpu") for name, obj in got.items()}
        out["server_pid_ready"] = ready.get("pid")
        return out
    finally:
        for proc in procs.values():
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def measure(
    workload: str, n: int, params: dict[str, Any], got: dict[str, dict[str, Any]], names: list[str]
) -> dict[str, Any]:
    srv = got["server"]
    cli = got[names[0]]
    if workload in ("oneway", "large"):
        if srv.get("count") != n or not srv.get("last_ok"):
            raise RunFailed(
                f"server saw count {srv.get('count')} of {n}, last_ok={srv.get('last_ok')}"
            )
        seconds = (srv["t_last"] - cli["t_start"]) / 1e9
        if workload == "oneway":
            return {"seconds": seconds, "rate": n / seconds}
        return {"seconds": seconds, "mb_per_s": n * MIB / 1e6 / seconds}
    if workload == "rtt":
        if cli.get("count") != n or not cli.get("last_ok") or srv.get("count") != n:
            raise RunFailed(
                f"rtt: client got {cli.get('count')}, server echoed {srv.get('count')} of {n}, "
                f"last_ok={cli.get('last_ok')}"
            )
        seconds = (cli["t_end"] - cli["t_start"]) / 1e9
        return {"seconds": seconds, "rate": n / seconds}
    if workload == "latency":
        total = n + params["latency_warmup"]
        samples = cli.get("samples_ns") or []
        if (
            cli.get("count") != total
            or cli.get("matched") != total
            or srv.get("count") != total
            or len(samples) != n
        ):
            raise RunFailed(
                f"latency: {cli.get('count')} sent, {cli.get('matched')} matched, "
                f"server {srv.get('count')} of {total}"
            )
        q = statistics.quantiles(samples, n=100, method="inclusive")
        return {
            "p50_us": statistics.median(samples) / 1e3,
            "p99_us": q[98] / 1e3,
            "mean_us": statistics.fmean(samples) / 1e3,
        }
    if workload == "fanout":
        for name in names:
            c = got[name]
            if c.get("count") != n or not c.get("last_ok"):
                raise RunFailed(
                    f"fanout: {name} got {c.get('count')} of {n}, last_ok={c.get('last_ok')}"
                )
        seconds = (max(got[name]["t_last"] for name in names) - srv["t_start"]) / 1e9
        return {"seconds": seconds, "rate": len(names) * n / seconds}
    if workload == "request":
        total = params["request_warmup"] + n + params["request_latency"]
        samples = cli.get("samples_ns") or []
        if (
            cli.get("count") != total
            or cli.get("matched") != total
            or srv.get("count") != total
            or cli.get("server_count") != total
            or len(samples) != params["request_latency"]
        ):
            raise RunFailed(
                f"request: {cli.get('count')} asked, {cli.get('matched')} answers matched, "
                f"server answered {srv.get('count')} (told the client "
                f"{cli.get('server_count')}) of {total}, {len(samples)} latency samples"
            )
        seconds = (cli["t_end"] - cli["t_start"]) / 1e9
        q = statistics.quantiles(samples, n=100, method="inclusive")
        return {
            "seconds": seconds,
            "rate": n / seconds,
            "p50_us": statistics.median(samples) / 1e3,
            "p99_us": q[98] / 1e3,
            "mean_us": statistics.fmean(samples) / 1e3,
        }
    raise AssertionError(workload)


# --------------------------------------------------------------------------
# report


def node_version() -> dict[str, Any] | None:
    if not NODE.exists():
        return None
    try:
        out = subprocess.run(
            [
                str(NODE),
                "-p",
                "JSON.stringify({node: process.versions.node, v8: process.versions.v8})",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    info = json.loads(out)
    info["node_ipc"] = json.loads((ROOT / "node_modules/node-ipc/package.json").read_text())[
        "version"
    ]
    return info


def fmt(value: float | None, key: str) -> str:
    if value is None:
        return "n/a"
    if key in ("p50_us", "p99_us", "kib_per_conn"):
        return f"{value:,.1f}"
    if key == "mb_per_s":
        return f"{value:,.0f}"
    return f"{value / 1e3:,.0f}k"


def request_ratios(
    medians: dict[str, Any], cells: list[tuple[str, str]]
) -> dict[str, dict[str, dict[str, float]]]:
    """``{fastipc subject: {baseline: {metric: ratio}}}`` for the request cells,
    each ratio oriented so that above 1 means fastipc is better."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for workload, transport in cells:
        if workload != "request":
            continue
        cell = f"{workload}/{transport}"
        for key in REQUEST_SUBJECTS:
            mine = medians.get(key, {}).get(cell)
            if not mine:
                continue
            for base in REQUEST_BASELINES:
                theirs = medians.get(base, {}).get(cell)
                if not theirs:
                    continue
                ratios = out.setdefault(f"{key} {cell}", {}).setdefault(base, {})
                for metric, _, higher in METRICS[workload]:
                    a, b = mine.get(metric), theirs.get(metric)
                    if a and b:
                        ratios[metric] = a / b if higher else b / a
    return out


def request_summary(medians: dict[str, Any], cells: list[tuple[str, str]]) -> list[str]:
    lines = []
    for subject, per in request_ratios(medians, cells).items():
        parts = []
        for base, ratios in per.items():
            shown = ", ".join(
                f"{metric.removesuffix('_us')} {ratio:.2f}x" for metric, ratio in ratios.items()
            )
            parts.append(f"/ {base}: {shown}")
        lines.append(f"- `{subject}` " + "; ".join(parts))
    return lines


def markdown(
    subs: list[Subject],
    medians: dict[str, Any],
    cells: list[tuple[str, str]],
    params: dict[str, Any],
    info: dict[str, Any],
    failures: dict[str, Any],
) -> str:
    v, m = info["versions"], info["machine"]
    mode = "quick" if params["quick"] else "full"
    lines = [
        "## fastipc end-to-end benchmark",
        "",
        f"{info['date']} · {mode} run · {m['cpu']} · {m['nproc']} CPUs · Python "
        f"{v['python'].split()[0]} · Node {v['node'] or 'n/a'} · node-ipc {v['node_ipc'] or 'n/a'} · "
        f"orjson {v['orjson'] or 'n/a'} · uvloop {info['uvloop'] or 'n/a'} · "
        f"pyzmq {info.get('pyzmq') or 'n/a'}",
        "",
        f"Median of {params['runs']} run(s) per cell, every subject's processes started fresh "
        "per run, subjects alternated run by run. N: "
        + ", ".join(f"{w} {params[w]:,}" for w in WORKLOADS)
        + f" (latency after {params['latency_warmup']:,} warm-up round trips; fanout N is per "
        f"client, {FANOUT_CLIENTS} clients; request: {params['request_warmup']:,} warm-up round "
        f"trips, then N with 64 in flight, then {params['request_latency']:,} one at a time for "
        "p50/p99, all on one connection). Each cell: the figure, then its ratio to node-ipc 14 "
        "in the same run (for latency and RSS the ratio is node-ipc's figure over the subject's, "
        "so above 1x is better everywhere). † below 2x on a throughput cell; ‡ below 1x.",
        "",
    ]
    keys = [s.key for s in subs]
    lines.append("| cell | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---:|" * len(keys))
    for workload, transport in cells:
        for metric, label, higher in METRICS[workload]:
            row = [f"{label}, {transport}"]
            anchor = medians.get("node-ipc", {}).get(f"{workload}/{transport}", {}).get(metric)
            for s in subs:
                if workload not in s.workloads:
                    row.append("—")
                    continue
                cell = f"{workload}/{transport}"
                if cell in failures.get(s.key, {}):
                    row.append("FAILED")
                    continue
                value = medians.get(s.key, {}).get(cell, {}).get(metric)
                text = fmt(value, metric)
                if value and anchor and s.key != "node-ipc":
                    ratio = value / anchor if higher else anchor / value
                    throughput = higher and workload in THROUGHPUT
                    mark = "‡" if ratio < 1 else ("†" if ratio < 2 and throughput else "")
                    text += f" ({ratio:.2f}x{mark})"
                row.append(text)
            lines.append("| " + " | ".join(row) + " |")
    summary = request_summary(medians, cells)
    if summary:
        lines += [
            "",
            "Request/reply, fastipc over the other subjects in the same run "
            "(above 1x: fastipc is better; the issue's target is rate at least 2x pyzmq):",
            "",
        ]
        lines += summary
    lines += ["", "Subjects:", ""]
    for s in subs:
        lines.append(f"- `{s.key}`: {s.label}")
    if failures:
        lines += ["", "Failures:", ""]
        for key, per in failures.items():
            for cell, problems in per.items():
                for p in problems[:3]:
                    lines.append(f"- `{key}` {cell}: {p}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (~1-2 min)")
    parser.add_argument("--runs", type=int, help="runs per cell (median reported)")
    parser.add_argument("--subjects", help="comma-separated subject keys (default: all)")
    parser.add_argument("--workloads", help=f"comma-separated, of {','.join(WORKLOADS)}")
    parser.add_argument("--transports", help="unix,tcp (default both)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every N (not connections)"
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="results folder")
    args = parser.parse_args(argv)

    params: dict[str, Any] = dict(QUICK if args.quick else FULL)
    params["quick"] = args.quick
    if args.runs:
        params["runs"] = args.runs
    for w in ("oneway", "rtt", "latency", "fanout", "large", "request", "request_latency"):
        params[w] = max(1, int(params[w] * args.scale))
    subs = subjects()
    if args.subjects:
        wanted = args.subjects.split(",")
        unknown = set(wanted) - {s.key for s in subs}
        if unknown:
            parser.error(f"unknown subjects {sorted(unknown)}")
        subs = [s for s in subs if s.key in wanted]
    if importlib.util.find_spec("zmq") is None and any(s.key == "pyzmq" for s in subs):
        if args.subjects:
            parser.error("the pyzmq subject needs pyzmq: pip install -e '.[bench]'")
        print(
            "bench_e2e: pyzmq is not installed (pip install -e '.[bench]'); "
            "the pyzmq subject is left out",
            file=sys.stderr,
        )
        subs = [s for s in subs if s.key != "pyzmq"]
    workloads = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    transports = args.transports.split(",") if args.transports else list(TRANSPORTS)
    node = node_version()
    if node is None:
        print(
            "bench_e2e: Node 22 is missing (node_modules/.bin/node); run scripts/setup.sh",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}")
    cells = [
        (w, t) for w in workloads for t in transports if t in WORKLOAD_TRANSPORTS.get(w, TRANSPORTS)
    ]
    # a subject with none of the chosen workloads gets no column
    subs = [s for s in subs if set(s.workloads) & set(workloads)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {s.key: {} for s in subs}
    failures: dict[str, dict[str, list[str]]] = {}
    for workload, transport in cells:
        cell = f"{workload}/{transport}"
        for rep in range(params["runs"]):
            order = subs if rep % 2 == 0 else subs[::-1]
            for s in order:
                if workload not in s.workloads:
                    continue
                t0 = time.perf_counter()
                try:
                    result = run_once(s, workload, transport, params)
                except (RunFailed, OSError) as exc:
                    failures.setdefault(s.key, {}).setdefault(cell, []).append(f"run {rep}: {exc}")
                    print(
                        f"bench_e2e: {cell} {s.key} run {rep}: FAILED: {exc}",
                        file=sys.stderr,
                        flush=True,
                    )
                    continue
                result["wall_seconds"] = time.perf_counter() - t0
                runs[s.key].setdefault(cell, []).append(result)
                shown = ", ".join(f"{k}={fmt(result.get(k), k)}" for k, _, _ in METRICS[workload])
                print(
                    f"bench_e2e: {cell} {s.key} run {rep}: {shown} "
                    f"({result['wall_seconds']:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )

    medians: dict[str, dict[str, dict[str, float]]] = {}
    for s in subs:
        for cell, results in runs[s.key].items():
            if cell in failures.get(s.key, {}):
                continue  # any failed run: the cell has no figure
            workload = cell.split("/")[0]
            medians.setdefault(s.key, {})[cell] = {
                k: statistics.median(r[k] for r in results) for k, _, _ in METRICS[workload]
            }
    try:
        uvloop_version: str | None = importlib.metadata.version("uvloop")
    except Exception:
        uvloop_version = None
    try:
        import zmq

        zmq_version: str | None = f"{zmq.__version__} (libzmq {zmq.zmq_version()})"
    except ImportError:
        zmq_version = None
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": codec_bench.versions(node),
        "machine": codec_bench.machine(),
        "uvloop": uvloop_version,
        "pyzmq": zmq_version,
    }
    table = markdown(subs, medians, cells, params, info, failures)
    elapsed = time.perf_counter() - started
    report = {
        **info,
        "params": params,
        "elapsed_seconds": elapsed,
        "subjects": {
            s.key: {
                "label": s.label,
                "server": vars(s.server),
                "client": vars(s.client),
                "workloads": list(s.workloads),
            }
            for s in subs
        },
        "runs": runs,
        "failures": failures,
        "medians": medians,
        "request_ratios": request_ratios(medians, cells),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "e2e.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "e2e.md").write_text(table)
    print(table)
    print(
        f"bench_e2e: {elapsed:.0f} s; wrote {args.out / 'e2e.json'} and {args.out / 'e2e.md'}",
        file=sys.stderr,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
