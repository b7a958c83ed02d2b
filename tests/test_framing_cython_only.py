"""Paths only the compiled codec has, each checked against the pure twin.

The shared suite (test_framing.py) runs over both implementations; these
tests aim at what exists only in ``_framing.pyx``: the envelope split and its
fall-backs to a full parse, the cache of event types, the decoder's own
buffer, the JSON writer's exact-type fast paths.
"""

from __future__ import annotations

import importlib
import math
import os

import pytest

from fastipc import IPCError, IPCProtocolError
from fastipc import _framing_py as P

try:
    C = importlib.import_module("fastipc._framing")
except ImportError:
    if os.environ.get("FASTIPC_REQUIRE_EXTENSION", "") not in ("", "0"):
        raise
    pytest.skip("compiled codec not built", allow_module_level=True)


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except IPCError as exc:
        return ("error", type(exc), exc.code, str(exc), getattr(exc, "events", None))
    except Exception as exc:
        return ("exception", type(exc), str(exc))


def _decode_both(stream, chunks=None, **kwargs):
    results = []
    for impl in (C, P):
        decoder = impl.EventDecoder(**kwargs)
        pieces = chunks(stream) if chunks else [stream]
        results.append([(_outcome(decoder.feed, piece), decoder.pending) for piece in pieces])
    assert results[0] == results[1]
    return results[0]


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type":"a","data":"plain"}',
        b'{"type":"a","data":""}',
        b'{"type":"a","data":"esc\\"aped\\n"}',
        b'{"type":"a","data":"\xc3\xa9\xf0\x9f\x98\x80"}',
        b'{"type":"a","data":"\xff"}',  # not UTF-8
        b'{"type":"\xff","data":1}',
        b'{"type":"a","data":"\x01"}',  # raw control byte
        b'{"type":"a\\u0062","data":1}',  # escaped type: full parse
        b'{"type":"a","data":{}}',
        b'{"type":"a","data":null}',
        b'{"type":"a","data":true}',
        b'{"type":"a","data":false}',
        b'{"type":"a","data":-0}',
        b'{"type":"a","data":01}',
        b'{"type":"a","data":-}',
        b'{"type":"a","data":999999999999999999}',
        b'{"type":"a","data":18446744073709551616}',
        b'{"type":"a","data":1,"x":2}',  # D alone is not JSON: full parse
        b'{"type":"a","data":1,"data":2}',  # duplicate key: the last wins
        b'{"type":"a","data":1,"type":"b"}',
        b'{"type":"a","data": 1 }',
        b'{"type":"","data":1}',
        b'{"type":"a","data":[1,{"type":"Buffer","data":[1,2]}]}',
        b'{"type":"Buffer","data":{"type":"Buff\\u0065r","data":[7]}}',
        b'{"type":"a","data":' + b"[" * 1100 + b"]" * 1100 + b"}",
        b'{"type":"a","data":' + b"[" * 1030 + b"]" * 1030 + b"}",
    ],
)
@pytest.mark.parametrize("profile", ["fast", "guarded"])
def test_envelope_split_matches_full_parse(frame, profile):
    _decode_both(frame + b"\f", profile=profile)


def test_cached_event_types_keep_their_checks():
    # Types are cached per decoder once checked; a name that fails must fail
    # every time, and names sharing a cache slot must not be confused.
    names = [chr(97 + i) * n for i in range(26) for n in (1, 2, 17)]
    names += ["connect", "toString", "x" * 300, "data"]
    stream = b"".join(P.encode_event(name, i) for i, name in enumerate(names * 3))
    for profile in ("fast", "guarded"):
        _decode_both(
            stream,
            lambda s: [s[i : i + 97] for i in range(0, len(s), 97)],
            profile=profile,
            maxEventNameLength=20,
        )
    allowed = {"a", "bb", "connect"}
    _decode_both(stream, profile="assured", allowedEvents=allowed)
    decoder = C.EventDecoder(profile="assured", allowedEvents=["a"])
    assert decoder.feed(b'{"type":"a","data":1}\f') == [("a", 1)]
    with pytest.raises(IPCProtocolError) as info:
        decoder.feed(b'{"type":"a","data":2}\f{"type":"b","data":3}\f')
    assert info.value.code == "ERR_IPC_EVENT_NOT_ALLOWED"
    assert info.value.events == [("a", 2)]


@pytest.mark.parametrize("delimiter", ["\f", "\r\n", "🙂", "aba", "ab"])
def test_delimiter_straddling_held_tail(delimiter):
    stream = "".join(f'{{"type":"m","data":"{i}{delimiter[0]}"}}{delimiter}' for i in range(20))
    data = stream.encode()
    for size in (1, 2, 3, 5):
        _decode_both(
            data, lambda s, n=size: [s[i : i + n] for i in range(0, len(s), n)], delimiter=delimiter
        )


def test_buffer_survives_growth_and_shrinking():
    decoder = C.EventDecoder()
    big = C.encode_event("m", "x" * (6 << 20))
    body = big[:-1]
    for i in range(0, len(body), 65536):
        assert decoder.feed(body[i : i + 65536]) == []
    assert decoder.pending == len(big) - 1
    (event,) = decoder.feed(big[-1:] + b'{"type":"t","data":"ta')
    assert event == ("m", "x" * (6 << 20))
    assert decoder.pending == len(b'{"type":"t","data":"ta')
    assert decoder.feed(b'il"}\f') == [("t", "tail")]
    decoder.feed(big[:-1])
    decoder.reset()
    assert decoder.pending == 0
    assert decoder.feed(b'{"type":"a","data":1}\f') == [("a", 1)]


def test_error_resets_and_other_exceptions_keep_the_chunk():
    decoder = C.EventDecoder()
    decoder.feed(b'{"type":"a","da')
    with pytest.raises(IPCProtocolError) as info:
        decoder.feed(b'ta":1}\f{"type":"b","data":2}\fnot json\f{"type":"c"')
    assert info.value.events == [("a", 1), ("b", 2)]
    assert decoder.pending == 0
    with pytest.raises(TypeError):
        decoder.feed("text")
    assert decoder.feed(b'{"type":"c","data":3}\f') == [("c", 3)]


def test_feed_refuses_to_run_twice_at_once(monkeypatch):
    # Another thread could call feed() while the first waits on Python code
    # (the JSON engine, Buffer revival); the buffer must not move under it.
    decoder = C.EventDecoder()
    seen = []

    def revive(data):
        try:
            decoder.feed(b"x")
        except RuntimeError as exc:
            seen.append(exc)
        return data

    monkeypatch.setattr(C, "_revive_buffers", revive)
    assert decoder.feed(b'{"type":"a","data":["Buffer"]}\f') == [("a", ["Buffer"])]
    assert len(seen) == 1
    assert decoder.feed(b'{"type":"b","data":1}\f') == [("b", 1)]


class _Fake:
    """Claims to be a dict through __class__, as some proxies do."""

    __class__ = dict  # type: ignore[assignment]


class _Mutating(list):
    def __init__(self, target):
        super().__init__([1])
        self.target = target

    def __iter__(self):
        self.target["new"] = 1
        return super().__iter__()


@pytest.mark.parametrize(
    "make",
    [
        lambda: _Fake(),
        lambda: {"k": _Fake()},
        lambda: [math.nan, -0.0, 1e21, 1e-7, 5e-324, 2.0**70, 10**30, -(2**63)],
        lambda: {1: "a", "0": "b", "x": "c", False: "d", None: "e", 1.5: "f"},
        lambda: {"4294967294": 1, "4294967295": 2, "01": 3, "2": 4},
        lambda: (lambda d: (d.__setitem__("m", _Mutating(d)), d)[1])({"a": 1}),
        lambda: "\ud83d\ude00\ud83d\udc00x\udc00\ud800",
        lambda: b"\x00\x7f\x80\xff",
        lambda: memoryview(b"abcd").cast("I"),
    ],
)
def test_writer_matches_twin_on_odd_values(make):
    assert _outcome(C.encode_event, "m", make()) == _outcome(P.encode_event, "m", make())
