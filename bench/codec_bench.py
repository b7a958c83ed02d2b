#!/usr/bin/env python3
"""Codec benchmark: fastipc's two codecs against a stdlib splitter and node-ipc.

Measures events per second for decoding and encoding node-ipc frames
``{"type":"m","data":<64 ASCII chars>}\\f`` with

* ``cython``: ``fastipc._framing``, the compiled codec;
* ``python``: ``fastipc._framing_py``, its pure-Python twin;
* ``stdlib``: a hand-written splitter on the standard library's ``json``
  (``bytes.split(b"\\f")`` keeping the tail, ``json.loads`` per frame, then
  ``type``/``data`` looked up in the dict; encoding with a ``json`` encoder
  built once with ``separators=(",", ":"), ensure_ascii=False``, exactly
  what ``json.dumps`` with those arguments writes, plus ``b"\\f"``);
* ``node-ipc``: node-ipc 14's own ``Parser`` on Node 22 (a subprocess
  running ``bench/node_codec_bench.mjs`` with ``node_modules/.bin/node``).

Every subject decodes the same stream bytes, cut into 64 KiB chunks, and
every run is checked: the event count and the last payload must be right,
and the encoded frames must join into the stream. Then large frames: the
decode rate (MB/s) of 1 MiB string events, and, for the two fastipc codecs,
ONE 64 MiB frame fed in 64 KiB chunks against ONE 1 MiB frame fed the same
way (the time ratio is ~64 when accumulation is linear).

Prints a Markdown table; writes ``bench/results/codec.json`` (every run,
versions, machine) and ``bench/results/codec.md`` (the table). Exits 1 when
a subject decodes or encodes wrongly, or when a required subject is missing
(``--require-extension`` / ``FASTIPC_REQUIRE_EXTENSION=1`` for the compiled
codec, ``--require-node`` / ``FASTIPC_REQUIRE_NODE=1`` for node-ipc).

    python bench/codec_bench.py             # full run, ~1-3 minutes on 2 cores
    python bench/codec_bench.py --quick     # smoke run, ~20 s
    python bench/codec_bench.py --runs 9 --n 500000
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules" / ".bin" / "node"
NODE_SCRIPT = ROOT / "bench" / "node_codec_bench.mjs"
NODE_IPC_PACKAGE = ROOT / "node_modules" / "node-ipc" / "package.json"
RESULTS = ROOT / "bench" / "results"

CHUNK = 64 * 1024
MIB = 1024 * 1024
SMALL_LEN = 64
LARGE_LEN = MIB
# The same payloads as bench/node_codec_bench.mjs builds.
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

FULL = {"n": 200_000, "runs": 5, "large_n": 32, "frame_mib": 64, "small_frame_reps": 16}
QUICK = {"n": 20_000, "runs": 3, "large_n": 8, "frame_mib": 64, "small_frame_reps": 8}


def small_payload(i: int) -> str:
    head = f"{i:010d}"
    return head + ALPHABET[: SMALL_LEN - len(head)]


def large_payload(i: int, length: int = LARGE_LEN) -> str:
    head = f"{i:010d}"
    return head + "y" * (length - len(head))


def frame_bytes(payload: str) -> bytes:
    # Payloads are plain ASCII with nothing to escape, so the frame is
    # written by hand, independently of every subject under test.
    return b'{"type":"m","data":"' + payload.encode("ascii") + b'"}\f'


def chunks_of(data: bytes) -> list[bytes]:
    return [data[at : at + CHUNK] for at in range(0, len(data), CHUNK)]


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


# --------------------------------------------------------------------------
# subjects


class StdlibSplitter:
    """The splitter a user would write with the standard library alone."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]:
        data = self._tail + chunk if self._tail else chunk
        frames = data.split(b"\f")
        self._tail = frames.pop()
        return [(m["type"], m["data"]) for m in map(json.loads, frames)]

    @property
    def pending(self) -> int:
        return len(self._tail)


_stdlib_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def stdlib_encode(type: str, data: Any) -> bytes:
    return _stdlib_encoder({"type": type, "data": data}).encode() + b"\f"


class Subject:
    """One codec under test: a decoder factory and an encode function."""

    def __init__(
        self,
        key: str,
        label: str,
        decoder: Callable[[], Any] | None = None,
        encode: Callable[[str, Any], bytes] | None = None,
        missing: str | None = None,
    ) -> None:
        self.key = key
        self.label = label
        self.decoder = decoder
        self.encode = encode
        self.missing = missing
        self.errors: list[str] = []


def load_cython() -> Subject:
    label = "fastipc Cython (`fastipc._framing`)"
    from fastipc import _framing_py

    try:
        module: ModuleType = importlib.import_module("fastipc._framing")
    except ImportError as exc:
        return Subject("cython", label, missing=f"fastipc._framing does not import: {exc}")
    absent = [name for name in _framing_py.CONTRACT if not hasattr(module, name)]
    if absent:
        return Subject(
            "cython",
            label,
            missing=f"{module.__file__} imports but lacks {', '.join(absent)} (not built yet?)",
        )
    if module.IMPLEMENTATION != "cython":
        return Subject(
            "cython",
            label,
            missing=f"fastipc._framing says IMPLEMENTATION={module.IMPLEMENTATION!r}",
        )
    return Subject("cython", label, module.EventDecoder, module.encode_event)


def load_python() -> Subject:
    from fastipc import _framing_py, _json

    return Subject(
        "python",
        f"fastipc pure Python (`fastipc._framing_py`, {_json.ENGINE})",
        _framing_py.EventDecoder,
        _framing_py.encode_event,
    )


def stdlib_subject() -> Subject:
    return Subject("stdlib", "stdlib `json` splitter", StdlibSplitter, stdlib_encode)


# --------------------------------------------------------------------------
# measurements


def decode_once(
    make_decoder: Callable[[], Any], chunks: Sequence[bytes]
) -> tuple[float, int, Any, int]:
    """Feed every chunk to a new decoder; return (seconds, count, last event, pending)."""
    gc.collect()
    decoder = make_decoder()
    count = 0
    last = None
    feed = decoder.feed
    t0 = time.perf_counter()
    for chunk in chunks:
        events = feed(chunk)
        if events:
            count += len(events)
            last = events[-1]
    seconds = time.perf_counter() - t0
    return seconds, count, last, decoder.pending


def encode_once(
    encode: Callable[[str, Any], bytes], payloads: Sequence[str]
) -> tuple[float, list[bytes]]:
    gc.collect()
    t0 = time.perf_counter()
    frames = [encode("m", p) for p in payloads]
    seconds = time.perf_counter() - t0
    return seconds, frames


def check_decoded(
    subject: Subject, what: str, result: tuple[float, int, Any, int], n: int, last_payload: str
) -> bool:
    _, count, last, pending = result
    problems = []
    if count != n:
        problems.append(f"decoded {count} events, expected {n}")
    if last is None or tuple(last) != ("m", last_payload):
        shown = repr(last)[:60] if last is not None else "nothing"
        problems.append(f"last event is {shown}")
    if pending:
        problems.append(f"{pending} bytes left pending")
    if problems:
        subject.errors.append(f"{what}: " + "; ".join(problems))
        return False
    return True


class Timer:
    """Runs every subject's cells, interleaved run by run, and keeps every run."""

    def __init__(self, subjects: list[Subject]) -> None:
        self.subjects = [s for s in subjects if not s.missing]
        self.runs: dict[str, dict[str, list[float]]] = {s.key: {} for s in subjects}

    def record(self, subject: Subject, cell: str, value: float) -> None:
        self.runs.setdefault(subject.key, {}).setdefault(cell, []).append(value)


def bench_small(timer: Timer, n: int, runs: int, stream: bytes) -> None:
    chunks = chunks_of(stream)
    payloads = [small_payload(i) for i in range(n)]
    last_payload = payloads[-1]
    for subject in timer.subjects:  # warm-up, checked too
        assert subject.decoder is not None and subject.encode is not None
        check_decoded(
            subject, "decode warm-up", decode_once(subject.decoder, chunks), n, last_payload
        )
        encode_once(subject.encode, payloads)
    for run in range(runs):
        for subject in timer.subjects:
            assert subject.decoder is not None and subject.encode is not None
            result = decode_once(subject.decoder, chunks)
            if check_decoded(subject, f"decode run {run}", result, n, last_payload):
                timer.record(subject, "decode_seconds", result[0])
            seconds, frames = encode_once(subject.encode, payloads)
            if b"".join(frames) == stream:
                timer.record(subject, "encode_seconds", seconds)
            else:
                subject.errors.append(f"encode run {run}: the frames do not join into the stream")
            del frames


def bench_large_events(timer: Timer, large_n: int, runs: int, stream: bytes) -> None:
    chunks = chunks_of(stream)
    last_payload = large_payload(large_n - 1)
    for subject in timer.subjects:
        assert subject.decoder is not None
        check_decoded(
            subject, "large warm-up", decode_once(subject.decoder, chunks), large_n, last_payload
        )
    for run in range(runs):
        for subject in timer.subjects:
            assert subject.decoder is not None
            result = decode_once(subject.decoder, chunks)
            if check_decoded(subject, f"large decode run {run}", result, large_n, last_payload):
                timer.record(subject, "large_seconds", result[0])


class AccumulateOnly:
    """Memory baseline for one big frame: the least any accumulating reader does.

    ``bytearray += chunk`` per chunk, then one ``bytes`` copy of the frame
    when its delimiter arrives; no search, no JSON. Its 64 MiB / 1 MiB ratio
    shows what this machine's memory system alone does to the ratio.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[str, Any]]:
        self._buf += chunk
        if not chunk.endswith(b"\f"):
            return []
        frame = bytes(self._buf)
        self._buf = bytearray()
        return [("m", len(frame))]

    @property
    def pending(self) -> int:
        return len(self._buf)


def frame_once(
    make_decoder: Callable[[], Any], chunks: Sequence[bytes]
) -> tuple[float, float, list[Any]]:
    """Feed ONE frame's chunks; return (total seconds, seconds before the last chunk, events)."""
    gc.collect()
    decoder = make_decoder()
    feed = decoder.feed
    events: list[Any] = []
    t0 = time.perf_counter()
    for chunk in chunks[:-1]:
        events += feed(chunk)
    t1 = time.perf_counter()
    events += feed(chunks[-1])
    t2 = time.perf_counter()
    if decoder.pending:
        events.append(("pending", decoder.pending))
    return t2 - t0, t1 - t0, events


def bench_one_frame(
    timer: Timer, runs: int, frame_mib: int, small_frame_reps: int
) -> dict[str, int]:
    """ONE frame of ``frame_mib`` MiB against ONE of 1 MiB, both in 64 KiB chunks.

    Records the whole feed and, apart, the feeds of every chunk but the last
    (pure accumulation: the last one completes the frame and parses it).
    """
    sizes = {"small": MIB, "big": frame_mib * MIB}
    payloads = {k: large_payload(i, size) for i, (k, size) in enumerate(sizes.items())}
    chunks = {k: chunks_of(frame_bytes(p)) for k, p in payloads.items()}
    baseline = Subject("baseline", "memory baseline", AccumulateOnly)
    subjects = [s for s in timer.subjects if s.key in ("cython", "python")] + [baseline]

    def one(subject: Subject, key: str, what: str) -> tuple[float, float] | None:
        assert subject.decoder is not None
        total, accumulate, events = frame_once(subject.decoder, chunks[key])
        if subject is baseline:
            want: list[tuple[str, Any]] = [("m", sum(map(len, chunks[key])))]
        else:
            want = [("m", payloads[key])]
        if [tuple(e) for e in events] != want:
            shown = repr(events)[:80]
            subject.errors.append(f"{what}: expected one event with the payload, got {shown}")
            return None
        return total, accumulate

    for subject in subjects:  # warm-up
        one(subject, "small", "1 MiB frame warm-up")
    for run in range(runs):
        for subject in subjects:
            # The 1 MiB frame takes a millisecond or so: time several, keep the means.
            results = [
                one(subject, "small", f"1 MiB frame run {run}") for _ in range(small_frame_reps)
            ]
            big = one(subject, "big", f"{frame_mib} MiB frame run {run}")
            if big is None or None in results:
                continue
            cells = {
                "frame_1mib_seconds": statistics.fmean(r[0] for r in results if r),
                "frame_1mib_accumulate_seconds": statistics.fmean(r[1] for r in results if r),
                "frame_big_seconds": big[0],
                "frame_big_accumulate_seconds": big[1],
            }
            for cell, value in cells.items():
                timer.record(subject, cell, value)
    if baseline.errors:
        raise RuntimeError(f"memory baseline went wrong: {baseline.errors}")
    return {
        "small_frame_bytes": sum(map(len, chunks["small"])),
        "big_frame_bytes": sum(map(len, chunks["big"])),
    }


def run_node(
    n: int, runs: int, large_n: int, small_file: pathlib.Path, large_file: pathlib.Path
) -> tuple[dict[str, Any] | None, str | None]:
    """Run the node-ipc benchmark; return (its JSON, None) or (None, why not)."""
    if not NODE.exists():
        return None, f"{NODE} is missing (run scripts/setup.sh: npm ci --ignore-scripts)"
    if not NODE_IPC_PACKAGE.exists():
        return None, f"{NODE_IPC_PACKAGE.parent} is missing (run scripts/setup.sh)"
    command = [
        str(NODE), str(NODE_SCRIPT),
        "--n", str(n), "--runs", str(runs), "--warmup", "2",
        "--stream", str(small_file),
        "--large-n", str(large_n), "--large-stream", str(large_file),
    ]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(
            f"node-ipc benchmark failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    return json.loads(proc.stdout), None


# --------------------------------------------------------------------------
# report


def versions(node: dict[str, Any] | None) -> dict[str, Any]:
    def dist(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    import fastipc
    from fastipc import _json

    node_ipc = node["node_ipc"] if node else None
    if node_ipc is None and NODE_IPC_PACKAGE.exists():
        node_ipc = json.loads(NODE_IPC_PACKAGE.read_text())["version"]
    return {
        "python": sys.version,
        "python_implementation": platform.python_implementation(),
        "fastipc": getattr(fastipc, "__version__", None) or dist("fastipc-node"),
        "fastipc_path": str(pathlib.Path(fastipc.__file__).parent),
        "json_engine": _json.ENGINE,
        "orjson": dist("orjson"),
        "cython": dist("Cython"),
        "node": node["node"] if node else None,
        "v8": node["v8"] if node else None,
        "node_ipc": node_ipc,
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or None
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "nproc": nproc,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def median(values: Sequence[float] | None) -> float | None:
    return statistics.median(values) if values else None


def fmt_rate(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "n/a"


def fmt_mb(value: float | None) -> str:
    return f"{value:,.1f}" if value is not None else "n/a"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def summarise(
    subjects: list[Subject], timer: Timer, node: dict[str, Any] | None, params: dict[str, Any]
) -> dict[str, dict[str, float | None]]:
    """Median rates per subject: decode/encode events/s, large MB/s, frame ms."""
    n, large_n = params["n"], params["large_n"]
    out: dict[str, dict[str, float | None]] = {}
    frame_cells = (
        "frame_1mib_seconds",
        "frame_1mib_accumulate_seconds",
        "frame_big_seconds",
        "frame_big_accumulate_seconds",
    )
    for s in [*subjects, Subject("baseline", "memory baseline")]:
        runs = timer.runs.get(s.key, {})
        dec, enc, large = (
            median(runs.get(k)) for k in ("decode_seconds", "encode_seconds", "large_seconds")
        )
        out[s.key] = {
            "decode_events_per_s": n / dec if dec else None,
            "encode_events_per_s": n / enc if enc else None,
            "large_mb_per_s": params["large_stream_bytes"] / 1e6 / large if large else None,
        }
        for cell in frame_cells:
            value = median(runs.get(cell))
            out[s.key][cell.replace("_seconds", "_ms")] = value * 1e3 if value else None
        if s.errors:  # a wrong answer has no speed
            out[s.key] = dict.fromkeys(out[s.key])
    if node is not None:
        out["node-ipc"] = {
            "decode_events_per_s": node["decode"]["median_rate"],
            "encode_events_per_s": node["encode"]["median_rate"],
            "encode_string_events_per_s": node["encode_string"]["median_rate"],
            "large_mb_per_s": node["large"]["median_mb_per_s"] if "large" in node else None,
        }
        assert n == node["n"] and large_n == node["large"]["n"]
    return out


def markdown(
    subjects: list[Subject],
    medians: dict[str, dict[str, float | None]],
    params: dict[str, Any],
    info: dict[str, Any],
) -> str:
    v, m = info["versions"], info["machine"]
    lines = [
        "## fastipc codec benchmark",
        "",
        f"{info['date']} · {m['cpu']} · {m['nproc']} CPUs · Python {v['python'].split()[0]} · "
        f"Node {v['node'] or 'n/a'} · node-ipc {v['node_ipc'] or 'n/a'} · "
        f"orjson {v['orjson'] or 'n/a'} · Cython {v['cython'] or 'n/a'}",
        "",
        f'Small events: `{{"type":"m","data":<64 ASCII chars>}}\\f`, N = {params["n"]:,} '
        f"({params['small_stream_bytes']:,} bytes) fed in 64 KiB chunks; large events: "
        f"{params['large_n']} x 1 MiB string payloads ({params['large_stream_bytes']:,} bytes) "
        f"in 64 KiB chunks. Median of {params['runs']} runs each, after a warm-up; every run "
        "checked (event count, last payload, encoded bytes).",
        "",
        "| subject | decode events/s | encode events/s | 1 MiB events: decode MB/s |",
        "|---|---:|---:|---:|",
    ]
    for s in subjects:
        if s.missing:
            lines.append(f"| {s.label} | missing | missing | missing |")
            continue
        if s.errors:
            lines.append(f"| {s.label} | FAILED | FAILED | FAILED |")
            continue
        r = medians[s.key]
        lines.append(
            f"| {s.label} | {fmt_rate(r['decode_events_per_s'])} | "
            f"{fmt_rate(r['encode_events_per_s'])} | {fmt_mb(r['large_mb_per_s'])} |"
        )
    c = medians.get("cython", {})
    lines += [
        "",
        "| ratio (higher = Cython faster) | decode | encode | 1 MiB events decode |",
        "|---|---:|---:|---:|",
    ]
    for key, label in (
        ("node-ipc", "Cython vs node-ipc"),
        ("stdlib", "Cython vs stdlib splitter"),
        ("python", "Cython vs pure-Python twin"),
    ):
        o = medians.get(key, {})
        cells = [
            fmt_ratio(c.get(k), o.get(k))
            for k in ("decode_events_per_s", "encode_events_per_s", "large_mb_per_s")
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    big = params["frame_mib"]
    linear = params["big_frame_bytes"] / params["small_frame_bytes"]
    lines += [
        "",
        f"ONE frame fed in 64 KiB chunks: 1 MiB ({params['small_frame_bytes']:,} bytes; mean of "
        f"{params['small_frame_reps']} per run) vs {big} MiB ({params['big_frame_bytes']:,} bytes); "
        f"median of {params['runs']} runs. Linear work gives a ratio near {linear:.0f}. "
        "*Accumulation* is the time of every chunk but the last (buffering and delimiter "
        "search); the last chunk completes the frame and parses its JSON. The memory baseline "
        "only does `bytearray += chunk` and one `bytes()` copy of the frame: its ratio is what "
        "this machine's caches and page faults alone make of the size change (glibc serves "
        "blocks over 32 MiB from fresh, page-faulting mmap memory; run with "
        "`MALLOC_MMAP_THRESHOLD_=2147483647 MALLOC_TRIM_THRESHOLD_=4294967295 "
        "MALLOC_TOP_PAD_=268435456` to keep freed memory and see that cost go away)."
        + (f" This run's malloc settings: {params['malloc_env']}." if params["malloc_env"] else ""),
        "",
        f"| implementation | 1 MiB frame ms | {big} MiB frame ms | ratio | accumulation ratio "
        f"| {big} MiB frame MB/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(s.label, s.key, s.missing or ("FAILED" if s.errors else None))
            for s in subjects if s.key in ("cython", "python")]  # fmt: skip
    rows.append(("memory baseline (`bytearray +=`, one `bytes()`)", "baseline", None))
    for label, key, problem in rows:
        r = medians.get(key, {})
        f1, fb = r.get("frame_1mib_ms"), r.get("frame_big_ms")
        a1, ab = r.get("frame_1mib_accumulate_ms"), r.get("frame_big_accumulate_ms")
        if problem or not (f1 and fb and a1 and ab):
            word = "missing" if problem and problem != "FAILED" else (problem or "n/a")
            lines.append(f"| {label} | {word} | {word} | {word} | {word} | {word} |")
            continue
        rate = params["big_frame_bytes"] / 1e3 / fb
        lines.append(
            f"| {label} | {f1:.2f} | {fb:.1f} | {fb / f1:.1f} | {ab / a1:.1f} | {rate:,.1f} |"
        )
    notes = [s for s in subjects if s.missing or s.errors]
    if notes:
        lines.append("")
        for s in notes:
            for problem in [s.missing] if s.missing else s.errors[:5]:
                lines.append(f"- **{s.key}**: {problem}")
    lines += [
        "",
        "Timed: Python decode = `feed(chunk)` over the pre-cut 64 KiB chunks of one stream "
        "(events counted, last kept); Python encode = `[encode('m', p) for p in payloads]`; "
        "node-ipc decode = `StringDecoder('utf8').write(chunk)` + "
        "`parser.read(ipcBuffer, text, receive)` per chunk, as a node-ipc socket does; "
        "node-ipc encode = `Buffer.from(parser.encode('m', p), 'utf8')`"
        + (
            f" ({fmt_rate(medians['node-ipc'].get('encode_string_events_per_s'))} events/s "
            "for `parser.encode` alone)."
            if "node-ipc" in medians
            else "."
        ),
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (~20 s)")
    parser.add_argument("--runs", type=int, help="timed runs per cell (median reported)")
    parser.add_argument("--n", type=int, help="small events per stream")
    parser.add_argument("--large-n", type=int, help="1 MiB events per stream")
    parser.add_argument("--frame-mib", type=int, help="size of the one big frame, MiB (64)")
    parser.add_argument("--no-node", action="store_true", help="skip node-ipc")
    parser.add_argument("--require-extension", action="store_true",
                        help="fail when the compiled codec is missing (or FASTIPC_REQUIRE_EXTENSION=1)")  # fmt: skip
    parser.add_argument("--require-node", action="store_true",
                        help="fail when node-ipc cannot run (or FASTIPC_REQUIRE_NODE=1)")  # fmt: skip
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS, help="results folder")
    args = parser.parse_args(argv)

    params: dict[str, Any] = dict(QUICK if args.quick else FULL)
    for key in ("runs", "n", "large_n", "frame_mib"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if params["runs"] < 1 or params["n"] < 1 or params["large_n"] < 1 or params["frame_mib"] < 1:
        parser.error("--runs, --n, --large-n and --frame-mib must be at least 1")
    require_ext = args.require_extension or _flag("FASTIPC_REQUIRE_EXTENSION")
    require_node = args.require_node or _flag("FASTIPC_REQUIRE_NODE")
    started = time.perf_counter()

    subjects = [load_cython(), load_python(), stdlib_subject()]
    for s in subjects:
        if s.missing:
            print(f"codec_bench: {s.key} is missing: {s.missing}", file=sys.stderr)
    if require_ext and subjects[0].missing:
        print(
            "codec_bench: the compiled codec is required (FASTIPC_REQUIRE_EXTENSION)",
            file=sys.stderr,
        )
        return 1
    n, large_n = params["n"], params["large_n"]
    small_stream = b"".join(frame_bytes(small_payload(i)) for i in range(n))
    large_stream = b"".join(frame_bytes(large_payload(i)) for i in range(large_n))
    params["small_stream_bytes"] = len(small_stream)
    params["large_stream_bytes"] = len(large_stream)
    params["chunk_bytes"] = CHUNK
    params["malloc_env"] = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}

    node: dict[str, Any] | None = None
    node_subject = Subject("node-ipc", "node-ipc Parser")
    if args.no_node:
        node_subject.missing = "skipped (--no-node)"
    else:
        with tempfile.TemporaryDirectory(prefix="fastipc-bench-") as tmp:
            small_file, large_file = pathlib.Path(tmp, "small.bin"), pathlib.Path(tmp, "large.bin")
            small_file.write_bytes(small_stream)
            large_file.write_bytes(large_stream)
            print("codec_bench: node-ipc ...", file=sys.stderr, flush=True)
            try:
                node, node_subject.missing = run_node(
                    n, params["runs"], large_n, small_file, large_file
                )
            except RuntimeError as exc:
                node_subject.errors.append(str(exc))
    if node is not None:
        node_subject.label = f"node-ipc {node['node_ipc']} `Parser` (Node {node['node']})"
    if node_subject.missing:
        print(f"codec_bench: node-ipc is missing: {node_subject.missing}", file=sys.stderr)

    timer = Timer(subjects)
    print("codec_bench: small events ...", file=sys.stderr, flush=True)
    bench_small(timer, n, params["runs"], small_stream)
    del small_stream
    print("codec_bench: 1 MiB events ...", file=sys.stderr, flush=True)
    bench_large_events(timer, large_n, params["runs"], large_stream)
    del large_stream
    print(f"codec_bench: one {params['frame_mib']} MiB frame ...", file=sys.stderr, flush=True)
    params.update(
        bench_one_frame(timer, params["runs"], params["frame_mib"], params["small_frame_reps"])
    )

    all_subjects = [*subjects, node_subject]
    medians = summarise(subjects, timer, node, params)
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(node),
        "machine": machine(),
    }
    table = markdown(all_subjects, medians, params, info)
    elapsed = time.perf_counter() - started
    report = {
        **info,
        "params": params,
        "elapsed_seconds": elapsed,
        "subjects": {
            s.key: {"label": s.label, "missing": s.missing, "errors": s.errors}
            for s in all_subjects
        },
        "runs": timer.runs,
        "node_raw": node,
        "medians": medians,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "codec.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "codec.md").write_text(table)
    print(table)
    print(f"codec_bench: {elapsed:.0f} s; wrote {args.out / 'codec.json'} and {args.out / 'codec.md'}",
          file=sys.stderr)  # fmt: skip

    status = 0
    for s in all_subjects:
        for problem in s.errors:
            print(f"codec_bench: FAILED {s.key}: {problem}", file=sys.stderr)
            status = 1
    if require_node and node_subject.missing:
        print("codec_bench: node-ipc is required but could not run", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
