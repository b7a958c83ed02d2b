#!/usr/bin/env python
"""Differential fuzzer for fastipc's two codecs: ``_framing`` (Cython) and ``_framing_py``.

Every input is a random byte stream (valid node-ipc frames, or frames broken in
one of many ways) cut into random chunks and fed to an ``EventDecoder`` of each
twin built with the same random config (profile, delimiter, limits,
``allowedEvents``). The twins must agree exactly: the events of every feed, the
``pending`` count after it, the error class, ``.code`` and ``.events`` of a
refused frame, and ``pending`` after ``reset()``. After an error both decoders
are reset and reused for the next stream. ``encode_event`` and ``encode_raw``
outputs are compared for every random value the generator builds. A valid
stream must also decode without error into the event types it was built from.

Inputs come in batches of ``BATCH`` that share one decoder pair; a batch is
generated from the seed ``"<seed>:<batch>"`` alone, so ``--replay <seed>:<batch>``
rebuilds it exactly, whatever the worker count. With ``--workers N`` (N >= 1)
each worker is a subprocess: one that dies (a segfault in the extension) or stops
reporting (a hang in C) fails the run with the batch seed printed.

Usage::

    python scripts/fuzz_codecs.py --inputs 100000 --seed 1
    nice -n 19 python scripts/fuzz_codecs.py --inputs 10000000 --workers 2 --seed 1
    python scripts/fuzz_codecs.py --replay 1:4711

Exit status: 0 when the twins agreed on everything, 1 on any disagreement,
contract violation, crash or hang, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import faulthandler
import importlib
import json
import math
import os
import selectors
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from random import Random
from typing import Any, TextIO

from fastipc import IPCProtocolError
from fastipc._constants import OMITTED, RESERVED_EVENTS, UNSAFE_EVENTS
from fastipc._json import join_surrogate_pairs

__all__ = [
    "BATCH",
    "Disagreement",
    "FuzzStats",
    "Twins",
    "load_twins",
    "main",
    "replay",
    "run_batches",
    "run_fuzz",
]

#: Inputs per batch: one decoder config and one decoder pair each.
BATCH = 64
#: Valid frames built per batch for its streams to draw from.
POOL = 24

HANG_SECONDS = 5.0

# --------------------------------------------------------------------------
# the twins


@dataclasses.dataclass(frozen=True)
class Twins:
    """The two codec implementations under comparison (module-like objects)."""

    a: Any
    b: Any
    name_a: str = "cython"
    name_b: str = "python"


def load_twins(name_a: str = "cython", name_b: str = "python") -> Twins:
    """Import the twins by name: ``cython``, ``python``, a ``selftest-*`` fake or a module."""
    return Twins(_load_one(name_a), _load_one(name_b), name_a, name_b)


def _load_one(name: str) -> Any:
    if name == "cython":
        return importlib.import_module("fastipc._framing")
    if name == "python":
        return importlib.import_module("fastipc._framing_py")
    if name in SELFTEST_FAKES:
        return SELFTEST_FAKES[name]()
    return importlib.import_module(name)


class _FakeTwin:
    """The pure twin with one deliberate fault, to prove the harness catches faults.

    ``fault`` is ``crash`` (a segfault on the 50th non-empty event list),
    ``hang`` (one feed sleeps past the hang limit) or ``drop`` (the last event
    of the 50th non-empty list is lost).
    """

    def __init__(self, fault: str, after: int = 50) -> None:
        self._py = importlib.import_module("fastipc._framing_py")
        self._fault = fault
        self._left = after
        self.encode_event = self._py.encode_event
        self.encode_raw = self._py.encode_raw
        fake = self

        class EventDecoder(self._py.EventDecoder):  # type: ignore[misc, name-defined]
            __slots__ = ()

            def feed(self, chunk: Any) -> list[tuple[str, Any]]:
                events: list[tuple[str, Any]] = super().feed(chunk)
                if events:
                    fake._left -= 1
                    if fake._left == 0:
                        fake._strike(events)
                return events

        self.EventDecoder = EventDecoder

    def _strike(self, events: list[tuple[str, Any]]) -> None:
        if self._fault == "crash":
            import ctypes

            faulthandler.disable()  # keep the report short: the harness names the seed
            ctypes.string_at(0)  # SIGSEGV
        elif self._fault == "hang":
            time.sleep(HANG_SECONDS + 1)
        else:
            events.pop()


SELFTEST_FAKES: dict[str, Callable[[], Any]] = {
    "selftest-crash": lambda: _FakeTwin("crash"),
    "selftest-hang": lambda: _FakeTwin("hang"),
    "selftest-drop": lambda: _FakeTwin("drop"),
}

# --------------------------------------------------------------------------
# random values and names

DELIMITERS: tuple[str | bytes, ...] = (
    "\f", "\f", "\f", "\r\n", "<<END>>", "§", "|", "🙂", "\x1e\x1f", "\x00", b"\r\n", "\f\f",
)  # fmt: skip
PROFILES = ("raw", "fast", "fast", "guarded", "guarded", "assured", "assured")
GOOD_NAMES = (
    "message", "a", "b", "ping", "é", "日本語", "🙂", "a🙂b", "x-y.z", "Buffer", "type", "data ",
    " ", "null", "0", "\u2028", "\\", '"', "|x", "<<END>>", "§", "\x7f", "\ufeff",
)  # fmt: skip
ALLOWED_POOL = ("message", "a", "b", "ping", "é", "🙂", "日本語", "x-y.z", "|x")
BAD_UTF8 = (
    b"\xff", b"\xfe", b"\xc3", b"\xa9", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"\xed\xbf\xbf",
    b"\xf4\x90\x80\x80", b"\xf0\x9f\x99", b"\xf8\x88\x80\x80\x80", b"\x80",
)  # fmt: skip
SPECIAL_FLOATS = (
    0.0, -0.0, 1.0, -1.5, 0.1, 1e16, 1e21, 1e-7, 1e-6, 123456789012345680.0, 5e-324,
    1.7976931348623157e308, 2.0**53, 2.0**64, math.nan, math.inf, -math.inf,
)  # fmt: skip
SPECIAL_INTS = (
    0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30, -(10**40),
)  # fmt: skip


class _Color(enum.IntEnum):
    RED = 7


class _Str(str):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


def _char(rng: Random, delim: str) -> str:
    r = rng.random()
    if r < 0.45:
        return chr(rng.randint(0x20, 0x7E))
    if r < 0.55:
        return rng.choice('"\\/')
    if r < 0.62:
        return chr(rng.choice((*range(0x20), 0x7F)))
    if r < 0.72:
        return chr(rng.randint(0xA0, 0x7FF))
    if r < 0.80:
        return chr(rng.choice((0x2028, 0x2029, 0xFEFF, 0xFFFF, rng.randint(0x800, 0xD7FF))))
    if r < 0.88:
        return chr(rng.randint(0x10000, 0x10FFFF))
    if r < 0.94:
        return chr(rng.randint(0xD800, 0xDFFF))  # lone (or accidentally paired) surrogate
    return delim or "|"


def _text(rng: Random, delim: str, max_len: int = 8) -> str:
    return "".join(_char(rng, delim) for _ in range(rng.randint(0, max_len)))


def _scalar(rng: Random, delim: str) -> Any:
    r = rng.random()
    if r < 0.08:
        return None
    if r < 0.14:
        return rng.random() < 0.5
    if r < 0.30:
        return rng.randint(-1000, 1000)
    if r < 0.38:
        return rng.choice(SPECIAL_INTS)
    if r < 0.44:
        return rng.choice(SPECIAL_FLOATS)
    if r < 0.50:
        return struct.unpack("<d", rng.randbytes(8))[0]
    if r < 0.56:
        return rng.uniform(-1e6, 1e6)
    return _text(rng, delim)


def _key(rng: Random, delim: str) -> Any:
    r = rng.random()
    if r < 0.7:
        return _text(rng, delim, 5)
    if r < 0.85:
        return rng.choice(("0", "1", "10", "01", "4294967294", "4294967295", "-1", "type", "data"))
    return rng.choice((1, 0, -2, 2.5, True, None, math.nan, 1e21))


def _value(rng: Random, delim: str, depth: int = 0) -> Any:
    r = rng.random()
    if depth >= 4 or r < 0.5:
        return _scalar(rng, delim)
    if r < 0.68:
        return [_value(rng, delim, depth + 1) for _ in range(rng.randint(0, 4))]
    if r < 0.88:
        return {_key(rng, delim): _value(rng, delim, depth + 1) for _ in range(rng.randint(0, 4))}
    if r < 0.92:
        return rng.randbytes(rng.randint(0, 6))  # sent as node-ipc's Buffer shape
    if r < 0.95:
        shape = rng.choice(([1, 2, 255], [], [256], [-1], ["a"], [1.5], [True]))
        return {"type": "Buffer", "data": shape}  # revived to bytes only when well-formed
    if r < 0.97:
        return tuple(_value(rng, delim, depth + 1) for _ in range(rng.randint(0, 3)))
    return _odd_value(rng)


def _odd_value(rng: Random) -> Any:
    """Values at the edge of what encode_event takes (several must raise)."""
    k = rng.randrange(14)
    if k == 0:
        return object()
    if k == 1:
        return {1, 2}
    if k == 2:
        return 1 + 2j
    if k == 3:
        return {(1, 2): "tuple key"}
    if k == 4:
        deep: list[Any] = []
        for _ in range(rng.choice((510, 511, 512, 513))):
            deep = [deep]
        return deep
    if k == 5:
        loop: list[Any] = [1]
        loop.append(loop)
        return loop
    if k == 6:
        return _Color.RED
    if k == 7:
        return _Str("sub")
    if k == 8:
        return _Dict(a=1)
    if k == 9:
        return bytearray(b"\x00\xff")
    if k == 10:
        return memoryview(b"mv")
    if k == 11:
        return {"1": "a", 1: "b", "0": "c"}
    if k == 12:
        return float("nan")
    return {math.inf: 1, -math.inf: 2, False: 3}


# --------------------------------------------------------------------------
# configs and streams


def _utf16_len(name: str) -> int:
    return len(name.encode("utf-16-le", "surrogatepass")) // 2


def _accepts(cfg: dict[str, Any], name: str) -> bool:
    """Whether a decoder built with ``cfg`` takes ``name`` as an event type."""
    if not name:
        return False
    if cfg["profile"] not in ("guarded", "assured"):
        return True
    assured = cfg["profile"] == "assured"
    return not (
        _utf16_len(name) > cfg["maxEventNameLength"]
        or name in UNSAFE_EVENTS
        or ((assured or not cfg["allowReservedEvents"]) and name in RESERVED_EVENTS)
        or (assured and name not in cfg["allowedEvents"])
    )


def _config(rng: Random) -> dict[str, Any]:
    profile = rng.choice(PROFILES)
    allowed: Any = None
    if profile == "assured" or rng.random() < 0.2:
        names = rng.sample(ALLOWED_POOL, rng.randint(1, 4))
        allowed = rng.choice((list, tuple, set, frozenset))(names)
    return {
        "delimiter": rng.choice(DELIMITERS),
        "profile": profile,
        "maxMessageSize": rng.choice((1 << 20, rng.randint(8, 64), rng.randint(64, 600), math.inf)),
        "maxEventNameLength": rng.choice((256, rng.randint(1, 12), math.inf)),
        "allowReservedEvents": rng.random() < 0.3,
        "allowedEvents": allowed,
    }


def _name(rng: Random, cfg: dict[str, Any], delim: str) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(GOOD_NAMES)
    if r < 0.6 and cfg["allowedEvents"]:
        return rng.choice(sorted(cfg["allowedEvents"]))
    if r < 0.7:
        return rng.choice(sorted(RESERVED_EVENTS | UNSAFE_EVENTS))
    if r < 0.8:
        limit = cfg["maxEventNameLength"]
        n = (
            rng.choice((255, 256, 257, 300))
            if limit == math.inf
            else int(limit) + rng.randint(-1, 1)
        )
        n = max(n, 1)
        return rng.choice(("n" * n, "🙂" * ((n + 1) // 2), "é" * n))
    return _text(rng, delim, 12) or "z"


@dataclasses.dataclass
class Input:
    """One stream: its bytes, how it is cut, and what a valid one must decode to."""

    kind: str  # "valid" or the name of the fault put in it
    data: bytes
    chunks: list[Any]
    names: list[str] | None  # the event types of a valid stream, in order


class _Gen:
    """Builds one batch's inputs; compares the twins' encoders on the way."""

    def __init__(self, rng: Random, twins: Twins, cfg: dict[str, Any]) -> None:
        self.rng = rng
        self.twins = twins
        self.cfg = cfg
        raw_delim = cfg["delimiter"]
        self.delim_str = raw_delim if isinstance(raw_delim, str) else raw_delim.decode()
        self.delim = raw_delim if isinstance(raw_delim, bytes) else raw_delim.encode()
        self.encodes = 0
        self.encode_errors: Counter[str] = Counter()
        self.problems: list[tuple[str, str]] = []  # (what, details) of encode disagreements
        # Frames are costly to build (random values, both encoders compared):
        # a batch's streams draw most of theirs from a pool built once.
        self.pool = [f for f in (self.valid_frame() for _ in range(POOL)) if f is not None]

    # the encoders, compared

    def encode(self, name: Any, data: Any = OMITTED) -> bytes | None:
        """Both twins' encode_event; the frame when they agree and it encoded."""
        self.encodes += 1
        ra = _call(self.twins.a.encode_event, name, data, self.cfg["delimiter"])
        rb = _call(self.twins.b.encode_event, name, data, self.cfg["delimiter"])
        if ra != rb:
            self.problems.append(
                (
                    "encode_event",
                    f"type={name!r} data={_short(data)} delimiter={self.cfg['delimiter']!r}\n"
                    f"  {self.twins.name_a}: {ra!r}\n  {self.twins.name_b}: {rb!r}",
                )
            )
            return None
        if isinstance(ra, bytes):
            return ra
        self.encode_errors[ra[1]] += 1
        return None

    def encode_raw(self) -> None:
        rng = self.rng
        payload: Any = rng.choice(
            (
                rng.randbytes(5),
                _text(rng, "|"),
                [rng.randint(-300, 300) for _ in range(3)],
                [1, "x"],
                3.5,
                "ff0g",
                "aGk=x",
            )
        )
        encoding = rng.choice(("utf8", "ascii", "latin1", "utf16le", "base64", "hex", "bogus"))
        self.encodes += 1
        ra = _call(self.twins.a.encode_raw, payload, encoding)
        rb = _call(self.twins.b.encode_raw, payload, encoding)
        if ra != rb:
            self.problems.append(
                (
                    "encode_raw",
                    f"payload={payload!r} encoding={encoding!r}\n"
                    f"  {self.twins.name_a}: {ra!r}\n  {self.twins.name_b}: {rb!r}",
                )
            )

    # frames

    def frame(self) -> tuple[bytes, str] | None:
        """A valid frame: from the pool, or now and then a fresh one."""
        if self.pool and self.rng.random() > 0.1:
            return self.rng.choice(self.pool)
        return self.valid_frame()

    def valid_frame(self) -> tuple[bytes, str] | None:
        """A frame this batch's decoder must accept, and its event type."""
        rng, cfg = self.rng, self.cfg
        for _ in range(4):
            name = _name(rng, cfg, self.delim_str)
            if _accepts(cfg, name):
                break
        else:
            return None
        r = rng.random()
        if r < 0.85:
            data = OMITTED if rng.random() < 0.15 else _value(rng, self.delim_str)
            frame = self.encode(name, data)
            if frame is None:
                return None
        else:
            # valid JSON, but not laid out as node-ipc writes it
            qn = json.dumps(name)
            body = rng.choice(
                (
                    f'{{"type":{qn}}}',
                    f'{{"data":[1,{{"a":null}}],"type":{qn}}}',
                    f'{{ "type" : {qn} , "data" : 1 }}',
                    f'{{"type":"zz","data":0,"type":{qn}}}',
                    f'{{"type":{qn},"data":1,"extra":true}}',
                    f'{{"type":{qn},"data":-0}}',
                    f'{{"type":{qn},"data":1e999}}',
                    f'{{"type":{qn},"data":"\\ud83d\\ude42\\udc00\\u0000"}}',
                    f'{{"type":{qn},"data":123456789012345678901234567890}}',
                    f'{{"type":{qn},"data":{{"type":"Buffer","data":[1,2]}}}}',
                    f'{{"type":{qn},"data":"{"x" * rng.randint(0, 40)}"}}',
                    f'{{"type":{qn},"data":' + "[" * 30 + "]" * 30 + "}",
                )
            )
            frame = body.encode() + self.delim
            if self.delim in frame[: -len(self.delim)]:
                return None
        # the longest tail it can leave: the body and all but one byte of the delimiter
        if cfg["profile"] in ("guarded", "assured") and len(frame) - 1 > cfg["maxMessageSize"]:
            return None
        return frame, name

    def over_limit(self) -> int:
        """A size just past maxMessageSize; past 1 MiB only now and then (it is slow)."""
        limit = self.cfg["maxMessageSize"]
        if limit == math.inf or (limit > 4096 and self.rng.random() > 0.02):
            return self.rng.randint(100, 3000)
        return int(limit) + self.rng.randint(1, 40)

    def bad_piece(self) -> tuple[str, bytes, bool]:
        """(fault, bytes, is_tail): one broken frame, or an unfinished tail."""
        rng, cfg, d = self.rng, self.cfg, self.delim
        k = rng.randrange(16)
        if k == 0:
            frame = self.encode(rng.choice(GOOD_NAMES), _value(rng, self.delim_str)) or b"{}"
            body = frame[: -len(d)] if frame.endswith(d) else frame
            return "truncated", body[: rng.randint(0, max(len(body) - 1, 0))] + d, False
        if k == 1:
            shape = rng.choice(
                (
                    b"[1,2]", b'"str"', b"123", b"null", b"true", b"{}", b'{"data":1}',
                    b'{"type":1}', b'{"type":null}', b'{"type":["a"]}', b'{"type":{"a":1}}',
                    b'{"type":true}', b'{"type":1.5,"data":2}', b"", b" ", b"\xef\xbb\xbf{}",
                    b'{"type":"a"}x', b'{"type":"a","data":1}}', b'{"type":"a",}',
                    b"{'type':'a'}", b'{"type":"a","data":NaN}', b'{"type":"a","data":Infinity}',
                    b'{"type":"a","data":+1}', b'{"type":"a","data":01}', b'{"type":"a","data":.5}',
                    b'{"type":"a","data":0x10}', b'{"type":"a","data":-}', b'{"type":"a","data":"\\x"}',
                    b'{"type":"a","data":"\\u12"}', b'{"type":"\\u0061","data":{}}', b'{"type":"",'
                    b'"data":{}}', b'{"type":"a","data":[1,]}', b'{"type":"a","data":undefined}',
                ),
            )  # fmt: skip
            return "envelope", shape + d, False
        if k == 2:
            name = rng.choice(("", rng.choice(sorted(RESERVED_EVENTS | UNSAFE_EVENTS))))
            return "bad_name", (self.encode(name, 1) or b'{"type":""}' + d), False
        if k == 3:
            limit = cfg["maxEventNameLength"]
            n = 300 if limit == math.inf else int(limit) + 1
            name = rng.choice(("n" * n, "🙂" * ((n + 1) // 2), "x" * rng.randint(257, 2000)))
            return "long_name", (self.encode(name) or b"{}" + d), False
        if k == 4:
            name = rng.choice(("not-allowed", "zz", "Message", "a ", "🙂🙂"))
            return "not_allowed", (self.encode(name, None) or b"{}" + d), False
        if k == 5:
            frame = self.encode("a", "x" * rng.randint(4, 40)) or b'{"type":"a"}' + d
            pos = rng.randint(9, max(9, len(frame) - len(d) - 1))
            return "bad_utf8", frame[:pos] + rng.choice(BAD_UTF8) + frame[pos:], False
        if k == 6:
            frame = self.encode("a", "x" * rng.randint(4, 40)) or b'{"type":"a"}' + d
            pos = rng.randint(1, max(1, len(frame) - len(d) - 1))
            ctl = bytes([rng.choice((0, 1, 9, 10, 13, 0x1F))])
            return "raw_control", frame[:pos] + ctl + frame[pos:], False
        if k == 7:
            size = self.over_limit()
            frame = self.encode("a", "y" * size) or b"{}" + d
            return "frame_too_large", frame, False
        if k == 8:
            size = self.over_limit()
            return "tail_too_large", b'{"type":"a","data":"' + b"t" * size, True
        if k == 9:
            return "garbage", rng.randbytes(rng.randint(1, 60)), rng.random() < 0.5
        if k == 10:
            # the delimiter inside a string, written by hand (encode_event refuses it)
            ds = self.delim_str
            body = f'{{"type":"a{ds}b","data":"{ds}"}}'.encode("utf-8", "surrogatepass")
            return "delimiter_in_string", body + d, False
        if k == 11:
            frame = self.encode(rng.choice(GOOD_NAMES), _value(rng, self.delim_str)) or b"{}" + d
            i = rng.randrange(len(frame))
            return "byte_flip", frame[:i] + bytes([rng.randrange(256)]) + frame[i + 1 :], False
        if k == 12:
            depth = rng.choice((100, 1023, 1024, 1025, 1025, 3000 if rng.random() < 0.2 else 600))
            body = b'{"type":"a","data":' + b"[" * depth + b"]" * depth + b"}"
            return "deep_nesting", body + d, False
        if k == 13:
            return "nul_bytes", b'{"type":"a\x00","data":"\x00"}' + d + b"\x00" + d, False
        if k == 14:
            frame = self.encode("a", _value(rng, self.delim_str)) or b"{}" + d
            return "unfinished_tail", frame[: rng.randint(1, len(frame))], True
        # a frame cut short and then a fresh one: the JSON parser sees two objects
        good = self.encode("a", 1) or b'{"type":"a","data":1}' + d
        return "spliced", good[: len(good) // 2] + good, False

    def stream(self) -> Input:
        rng = self.rng
        if rng.random() < 0.2:
            self.encode_raw()
        valid = rng.random() < 0.5
        pieces: list[bytes] = []
        names: list[str] = []
        n_frames = rng.choice((0, 1, 1, 2, 2, 3, 4, 6))
        for _ in range(n_frames):
            vf = self.frame()
            if vf is not None:
                pieces.append(vf[0])
                names.append(join_surrogate_pairs(vf[1]))  # a pair is one character
        kind = "valid"
        if not valid:
            kind, piece, tail = self.bad_piece()
            if tail:
                pieces.append(piece)
            else:
                pieces.insert(rng.randint(0, len(pieces)), piece)
                for _ in range(rng.randint(0, 2)):
                    vf = self.frame()
                    if vf is not None:
                        pieces.append(vf[0])
        data = b"".join(pieces)
        return Input(kind, data, self.chunks(data), names if kind == "valid" else None)

    def chunks(self, data: bytes) -> list[Any]:
        rng = self.rng
        n = len(data)
        r = rng.random()
        if n > 512 and 0.15 <= r < 0.22:
            r = 0.3  # long inputs: a few random cuts, not one byte at a time
        if n == 0 or r < 0.15:
            cuts: list[int] = []
        elif r < 0.22:
            cuts = list(range(1, n))
        elif r < 0.5:
            cuts = [rng.randint(0, n) for _ in range(rng.randint(1, 8))]
        elif r < 0.75:
            # inside (and at both ends of) each delimiter
            cuts = []
            d = self.delim
            i = data.find(d)
            while i != -1:
                cuts.append(rng.randint(i, i + len(d)))
                i = data.find(d, i + 1)
        else:
            # inside multi-byte UTF-8 sequences
            cont = [i for i in range(n) if 0x80 <= data[i] < 0xC0]
            cuts = rng.sample(cont, min(len(cont), rng.randint(1, 6))) if cont else [n // 2]
        if cuts and rng.random() < 0.2:
            cuts.append(rng.choice(cuts))  # an empty chunk
        cuts.sort()
        out: list[Any] = []
        last = 0
        for c in [*cuts, n]:
            piece = data[last:c]
            t = rng.random()
            out.append(bytearray(piece) if t < 0.08 else memoryview(piece) if t < 0.16 else piece)
            last = c
        return out


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:
        return ("raises", type(exc).__name__, getattr(exc, "code", None))


def _short(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception:
        text = object.__repr__(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# feeding and comparing


def _feed(dec: Any, chunks: Sequence[Any]) -> list[tuple[Any, ...]]:
    """What a decoder does with a stream: one step per feed, then the reset."""
    trace: list[tuple[Any, ...]] = []
    for chunk in chunks:
        try:
            events = dec.feed(chunk)
        except IPCProtocolError as exc:
            trace.append(("error", type(exc).__name__, exc.code, exc.events, dec.pending))
            break
        except Exception as exc:  # the contract allows only IPCProtocolError
            trace.append(("unexpected", type(exc).__name__, str(exc)[:200], dec.pending))
            break
        trace.append(("ok", events, dec.pending))
    else:
        trace.append(("end", dec.pending))
    dec.reset()
    trace.append(("reset", dec.pending))
    return trace


def same(a: Any, b: Any) -> bool:
    """Deep equality where types must match exactly and NaN equals NaN."""
    try:
        # repr tells 1 from 1.0 and True, 0.0 from -0.0, bytes from lists, and
        # writes every NaN as nan: equal reprs are equal traces.
        return repr(a) == repr(b)
    except RecursionError:
        return _same_deep(a, b)


def _same_deep(a: Any, b: Any) -> bool:
    """:func:`same` for data nested too deeply for repr, with an explicit stack."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if type(x) is float:
            if not (x == y or (x != x and y != y)):
                return False
            if x == 0.0 and math.copysign(1, x) != math.copysign(1, y):
                return False
        elif type(x) in (list, tuple):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is dict:
            if len(x) != len(y) or list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


@dataclasses.dataclass
class Disagreement:
    """One failure: where it happened and everything needed to reproduce it."""

    seed: str  # the batch seed, "<seed>:<batch>"
    index: int  # the input's place in its batch
    what: str
    details: str

    def report(self) -> str:
        return (
            f"FUZZ FAILURE ({self.what}) at seed {self.seed} input {self.index}\n"
            f"{self.details}\n"
            f"reproduce: python scripts/fuzz_codecs.py --replay {self.seed}"
        )


@dataclasses.dataclass
class FuzzStats:
    """Counts over a run (summed over workers)."""

    inputs: int = 0
    valid: int = 0
    invalid: int = 0
    feeds: int = 0
    bytes_fed: int = 0
    events: int = 0
    encodes: int = 0
    batches: int = 0
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    kinds: Counter[str] = dataclasses.field(default_factory=Counter)
    profiles: Counter[str] = dataclasses.field(default_factory=Counter)
    encode_errors: Counter[str] = dataclasses.field(default_factory=Counter)
    slowest: float = 0.0
    slowest_at: str = ""
    slowest_size: int = 0
    seconds: float = 0.0
    disagreements: list[Disagreement] = dataclasses.field(default_factory=list)

    def merge(self, other: FuzzStats) -> None:
        for f in ("inputs", "valid", "invalid", "feeds", "bytes_fed", "events", "encodes"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.batches += other.batches
        for f in ("outcomes", "kinds", "profiles", "encode_errors"):
            getattr(self, f).update(getattr(other, f))
        if other.slowest > self.slowest:
            self.slowest, self.slowest_at = other.slowest, other.slowest_at
            self.slowest_size = other.slowest_size
        self.disagreements += other.disagreements

    def to_json(self) -> str:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["disagreements"] = [dataclasses.asdict(x) for x in self.disagreements]
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> FuzzStats:
        d = json.loads(text)
        for f in ("outcomes", "kinds", "profiles", "encode_errors"):
            d[f] = Counter(d[f])
        d["disagreements"] = [Disagreement(**x) for x in d["disagreements"]]
        return cls(**d)


def _describe(cfg: dict[str, Any], inp: Input, twins: Twins, ta: Any, tb: Any) -> str:
    return (
        f"  config: {cfg!r}\n"
        f"  input ({inp.kind}, {len(inp.data)} bytes): {inp.data!r}\n"
        f"  chunk lengths: {[len(c) for c in inp.chunks]} "
        f"types: {sorted({type(c).__name__ for c in inp.chunks})}\n"
        f"  {twins.name_a}: {_short(ta, 4000)}\n"
        f"  {twins.name_b}: {_short(tb, 4000)}"
    )


def run_batch(
    seed: str,
    count: int,
    twins: Twins,
    stats: FuzzStats,
    keep_going: bool = False,
    hang_seconds: float = HANG_SECONDS,
) -> bool:
    """Run one batch of ``count`` inputs from ``seed``; False once a failure stops the run."""
    rng = Random(seed)
    cfg = _config(rng)
    gen = _Gen(rng, twins, cfg)
    dec_a = twins.a.EventDecoder(**cfg)
    dec_b = twins.b.EventDecoder(**cfg)
    stats.batches += 1
    stats.profiles[cfg["profile"]] += count
    ok = True

    def fail(index: int, what: str, details: str) -> None:
        nonlocal ok
        stats.disagreements.append(Disagreement(seed, index, what, details))
        ok = ok and keep_going

    for index in range(count):
        inp = gen.stream()
        for what, details in gen.problems:
            fail(index, what, f"  config: {cfg!r}\n  {details}")
        gen.problems.clear()
        started = time.perf_counter()
        ta = _feed(dec_a, inp.chunks)
        tb = _feed(dec_b, inp.chunks)
        took = time.perf_counter() - started
        stats.inputs += 1
        stats.feeds += len(inp.chunks)
        stats.bytes_fed += len(inp.data)
        stats.kinds[inp.kind] += 1
        if inp.kind == "valid":
            stats.valid += 1
        else:
            stats.invalid += 1
        if took > stats.slowest:
            stats.slowest, stats.slowest_at = took, f"{seed} input {index}"
            stats.slowest_size = len(inp.data)
        if took > hang_seconds:
            fail(index, "hang", f"  took {took:.1f} s\n" + _describe(cfg, inp, twins, ta, tb))
        if not same(ta, tb):
            fail(index, "disagreement", _describe(cfg, inp, twins, ta, tb))
        last = ta[-2]
        stats.outcomes[last[2] if last[0] == "error" else last[0]] += 1
        stats.events += sum(len(step[1]) for step in ta if step[0] == "ok")
        if last[0] == "unexpected" or tb[-2][0] == "unexpected":
            fail(index, "contract: not an IPCProtocolError", _describe(cfg, inp, twins, ta, tb))
        if ta[-1] != ("reset", 0) or tb[-1] != ("reset", 0):
            fail(index, "contract: pending after reset", _describe(cfg, inp, twins, ta, tb))
        if inp.names is not None:
            problem = _check_valid(cfg, inp, ta)
            if problem:
                fail(index, f"valid stream: {problem}", _describe(cfg, inp, twins, ta, tb))
        if not ok:
            break
    stats.encodes += gen.encodes
    stats.encode_errors.update(gen.encode_errors)
    return ok


def _check_valid(cfg: dict[str, Any], inp: Input, trace: list[tuple[Any, ...]]) -> str | None:
    """The oracle for a valid stream: no error, exactly its events, nothing left over."""
    if trace[-2][0] != "end":
        return f"refused ({trace[-2][:3]})"
    got = [ev for step in trace if step[0] == "ok" for ev in step[1]]
    if cfg["profile"] == "raw":
        want = [("data", bytes(c)) for c in inp.chunks if len(c)]
        return None if got == want else "raw events differ from the chunks"
    if [t for t, _ in got] != inp.names:
        return f"event types {[t for t, _ in got]!r} != {inp.names!r}"
    if trace[-2][1] != 0:
        return "bytes left pending after the last delimiter"
    return None


def run_batches(
    seed: int,
    batches: Sequence[int],
    last_count: dict[int, int],
    twins: Twins,
    keep_going: bool = False,
    hang_seconds: float = HANG_SECONDS,
    on_batch: Callable[[int], None] | None = None,
) -> FuzzStats:
    """Run the given batch numbers (each ``BATCH`` inputs, or ``last_count[b]``)."""
    stats = FuzzStats()
    started = time.perf_counter()
    for b in batches:
        if on_batch is not None:
            on_batch(b)
        if not run_batch(
            f"{seed}:{b}", last_count.get(b, BATCH), twins, stats, keep_going, hang_seconds
        ):
            break
    stats.seconds = time.perf_counter() - started
    return stats


def _plan(inputs: int) -> tuple[int, dict[int, int]]:
    n_batches = -(-inputs // BATCH)
    rest = inputs - (n_batches - 1) * BATCH
    return n_batches, ({n_batches - 1: rest} if n_batches and rest != BATCH else {})


def run_fuzz(
    seed: int,
    inputs: int,
    twins: Twins | None = None,
    keep_going: bool = False,
    hang_seconds: float = HANG_SECONDS,
) -> FuzzStats:
    """Run ``inputs`` inputs in this process; the importable entry point for tests."""
    n_batches, last = _plan(inputs)
    return run_batches(
        seed, range(n_batches), last, twins or load_twins(), keep_going, hang_seconds
    )


def replay(batch_seed: str, twins: Twins | None = None) -> FuzzStats:
    """Rerun one batch (``"<seed>:<batch>"``) with every failure in it reported."""
    stats = FuzzStats()
    started = time.perf_counter()
    run_batch(batch_seed, BATCH, twins or load_twins(), stats, keep_going=True)
    stats.seconds = time.perf_counter() - started
    return stats


# --------------------------------------------------------------------------
# workers


def _worker(args: argparse.Namespace) -> int:
    faulthandler.enable()
    twins = load_twins(args.impl_a, args.impl_b)
    n_batches, last = _plan(args.inputs)
    mine = range(args.worker_index, n_batches, args.workers)
    out = sys.stdout

    def on_batch(b: int) -> None:
        out.write(f"B {b}\n")
        out.flush()

    stats = run_batches(args.seed, mine, last, twins, args.keep_going, args.hang_seconds, on_batch)
    out.write("R " + stats.to_json() + "\n")
    out.flush()
    return 0


def _run_workers(args: argparse.Namespace, log: TextIO) -> tuple[FuzzStats, list[str]]:
    """Run the workers as subprocesses; a crash or a stall is a failure with its seed."""
    stall = max(60.0, 10 * args.hang_seconds)
    procs: dict[int, subprocess.Popen[str]] = {}
    sel = selectors.DefaultSelector()
    current: dict[int, int] = {}
    seen: dict[int, float] = {}
    done_batches = 0
    results: dict[int, FuzzStats] = {}
    failures: list[str] = []
    for w in range(args.workers):
        cmd = [
            sys.executable, os.path.abspath(__file__), "--worker-index", str(w),
            "--workers", str(args.workers), "--inputs", str(args.inputs), "--seed", str(args.seed),
            "--impl-a", args.impl_a, "--impl-b", args.impl_b, "--hang-seconds",
            str(args.hang_seconds),
        ] + (["--keep-going"] if args.keep_going else [])  # fmt: skip
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
        procs[w] = p
        seen[w] = time.monotonic()
        assert p.stdout is not None
        sel.register(p.stdout, selectors.EVENT_READ, w)
    n_batches, _ = _plan(args.inputs)
    started = time.monotonic()
    next_report = started + args.progress
    open_pipes = len(procs)
    while open_pipes:
        for key, _ in sel.select(timeout=1.0):
            w = key.data
            line = key.fileobj.readline()  # type: ignore[union-attr]
            if not line:
                sel.unregister(key.fileobj)
                open_pipes -= 1
                continue
            seen[w] = time.monotonic()
            if line.startswith("B "):
                current[w] = int(line[2:])
                done_batches += 1
            elif line.startswith("R "):
                results[w] = FuzzStats.from_json(line[2:])
        now = time.monotonic()
        for w, p in procs.items():
            if p.poll() is None and now - seen[w] > stall:
                failures.append(
                    f"HANG: worker {w} reported nothing for {stall:.0f} s in batch seed "
                    f"{args.seed}:{current.get(w, '?')}; killed it.\n"
                    f"reproduce: python scripts/fuzz_codecs.py --replay "
                    f"{args.seed}:{current.get(w, '?')}"
                )
                p.kill()
                seen[w] = math.inf
        if now >= next_report:
            next_report = now + args.progress
            done = min(done_batches * BATCH, args.inputs)
            log.write(
                f"[{now - started:7.0f} s] ~{done:,} / {args.inputs:,} inputs "
                f"({done / (now - started):,.0f}/s)\n"
            )
            log.flush()
    total = FuzzStats()
    for w, p in procs.items():
        code = p.wait()
        if code != 0 or w not in results:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            batch = f"{args.seed}:{current.get(w, '?')}"
            failures.append(
                f"CRASH: worker {w} died ({how}) in batch seed {batch} "
                f"(batch {current.get(w, '?')} of {n_batches}).\n"
                f"reproduce: python scripts/fuzz_codecs.py --replay {batch}"
            )
        if w in results:
            total.merge(results[w])
    total.seconds = time.monotonic() - started
    return total, failures


# --------------------------------------------------------------------------
# command line


def _summary(stats: FuzzStats, args: argparse.Namespace, log: TextIO) -> None:
    rate = stats.inputs / stats.seconds if stats.seconds else 0.0
    w = log.write
    w(f"seed {args.seed}, workers {args.workers}, twins {args.impl_a} vs {args.impl_b}\n")
    w(
        f"inputs {stats.inputs:,} (valid {stats.valid:,}, invalid {stats.invalid:,}) "
        f"in {stats.batches:,} batches; feeds {stats.feeds:,}; bytes {stats.bytes_fed:,}; "
        f"events {stats.events:,}; encoder comparisons {stats.encodes:,}\n"
    )
    w(f"total time {stats.seconds:.1f} s, {rate:,.0f} inputs/s\n")
    w(
        f"slowest input {stats.slowest * 1000:.1f} ms ({stats.slowest_size:,} bytes) "
        f"at seed {stats.slowest_at}\n"
    )
    w("outcomes (last step of each stream, both twins agreeing):\n")
    for k, v in sorted(stats.outcomes.items(), key=lambda kv: -kv[1]):
        w(f"  {k:28} {v:>12,}\n")
    w("inputs by kind:\n")
    for k, v in sorted(stats.kinds.items(), key=lambda kv: -kv[1]):
        w(f"  {k:28} {v:>12,}\n")
    w("inputs by profile: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats.profiles.items())))
    w("\nencoder refusals (both twins): ")
    w(", ".join(f"{k} {v:,}" for k, v in sorted(stats.encode_errors.items())) + "\n")
    w(f"disagreements/failures: {len(stats.disagreements)}\n")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000, help="streams to generate and feed")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=0, help="subprocesses (0: run in this process)")
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="report disagreements and go on instead of stopping at the first",
    )
    p.add_argument("--hang-seconds", type=float, default=HANG_SECONDS)
    p.add_argument("--impl-a", default="cython")
    p.add_argument("--impl-b", default="python")
    p.add_argument("--replay", metavar="SEED:BATCH", help="rerun one batch and report it")
    p.add_argument("--progress", type=float, default=60.0, help="seconds between progress lines")
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None, log: TextIO | None = None) -> int:
    """Run the fuzzer from the command line; return the exit status."""
    args = _parse(argv)
    log = log or sys.stderr
    global HANG_SECONDS
    HANG_SECONDS = args.hang_seconds
    if args.worker_index is not None:
        return _worker(args)
    if args.replay:
        stats = replay(args.replay, load_twins(args.impl_a, args.impl_b))
        for d in stats.disagreements:
            log.write(d.report() + "\n")
        log.write(f"replayed {stats.inputs} inputs of batch {args.replay}: ")
        log.write(f"{len(stats.disagreements)} failure(s)\n")
        return 1 if stats.disagreements else 0
    log.write(
        f"fuzz_codecs: {args.inputs:,} inputs, seed {args.seed}, workers {args.workers}, "
        f"python {sys.version.split()[0]}, pid {os.getpid()}\n"
    )
    failures: list[str] = []
    if args.workers >= 1:
        stats, failures = _run_workers(args, log)
    else:
        stats = run_fuzz(
            args.seed, args.inputs, load_twins(args.impl_a, args.impl_b), args.keep_going,
            args.hang_seconds,
        )  # fmt: skip
    for d in stats.disagreements:
        log.write(d.report() + "\n")
    for f in failures:
        log.write(f + "\n")
    _summary(stats, args, log)
    expected = args.inputs
    if not stats.disagreements and not failures and stats.inputs != expected:
        failures.append(f"ran {stats.inputs} inputs, expected {expected}")
        log.write(failures[-1] + "\n")
    bad = bool(stats.disagreements or failures)
    log.write("RESULT: " + ("FAIL" if bad else "PASS") + "\n")
    log.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
