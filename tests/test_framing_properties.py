"""Property tests: chunking never changes the events, and the twins agree."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastipc import IPCEncodeError, IPCProtocolError
from fastipc import _framing_py as py_impl

from .helpers import load_impl

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_names = st.text(min_size=1, max_size=20)
delimiters = st.sampled_from(["\f", "\r\n", "\x00", "🙂", "\x1e\x1f", "\f\f"])
profiles = st.sampled_from(["fast", "guarded"])


def _normal(value):
    """What a value becomes after a trip through JSON (floats -0.0 -> 0)."""
    if isinstance(value, float):
        text = py_impl.js_number(value)  # what goes on the wire
        if "." in text or "e" in text:
            return value
        number = int(text)
        return number if -(2**63) <= number <= 2**64 - 1 else float(text)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out


def _run(impl, stream_chunks, **kwargs):
    """Feed chunks; return (events, error code or None, pending)."""
    dec = impl.EventDecoder(**kwargs)
    events = []
    try:
        for chunk in stream_chunks:
            events += dec.feed(chunk)
    except IPCProtocolError as exc:
        return events + exc.events, exc.code, dec.pending
    return events, None, dec.pending


def _same(a, b) -> bool:
    """Equality where NaN equals NaN (a float can decode to nan only via 1e999-1e999, never here)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("impl_id", ["cython", "python"])
@SETTINGS
@given(
    events=st.lists(st.tuples(event_names, json_values), min_size=1, max_size=6),
    delimiter=delimiters,
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_any_chunking_gives_the_same_events(impl_id, events, delimiter, cuts):
    impl = load_impl(impl_id)
    try:
        stream = b"".join(impl.encode_event(t, d, delimiter) for t, d in events)
    except IPCEncodeError:
        assume(False)  # an event holding the delimiter cannot be framed (refused, as it should be)
    expected = [(t, _normal(d)) for t, d in events]
    whole = _run(impl, [stream], delimiter=delimiter)
    assert whole == (expected, None, 0)
    assert _run(impl, _chunks(stream, cuts), delimiter=delimiter) == whole
    one_by_one = [stream[i : i + 1] for i in range(len(stream))]
    assert _run(impl, one_by_one, delimiter=delimiter) == whole


@SETTINGS
@given(data=json_values, name=event_names, delimiter=delimiters)
def test_twins_encode_identically(data, name, delimiter):
    cy = load_impl("cython")
    assert _encoded(cy, name, data, delimiter) == _encoded(py_impl, name, data, delimiter)


def _encoded(impl, name, data, delimiter):
    """The frame, or the refusal (an event holding the delimiter): either
    way both twins must give the same."""
    try:
        return impl.encode_event(name, data, delimiter)
    except IPCEncodeError as exc:
        return ("refused", exc.code, str(exc))


# Random streams: fragments of real frames, bytes that break JSON or UTF-8,
# delimiters in odd places.
fragments = st.one_of(
    st.binary(max_size=12),
    st.sampled_from(
        [
            b'{"type":"a","data":1}',
            b'{"type":"m","data":"hi"}',
            b'{"type":"',
            b'","data":',
            b'"data"',
            b"}",
            b"[1]",
            b"null",
            b'{"type":""}',
            b'{"type":"connect"}',
            b'{"type":"__proto__","data":{}}',
            b'{"type":"Buffer","data":[1]}',
            b'{"type":"b","data":{"type":"Buffer","data":[7]}}',
            b"\\",
            b"\xff",
            b"\xc3",
            b"\xa9",
            b"\xf0\x9f\x99\x82",
            b"\f",
            b"\r\n",
            b"\r",
            b"\n",
        ]
    ),
)


@SETTINGS
@given(
    parts=st.lists(fragments, max_size=16),
    delimiter=st.sampled_from(["\f", "\r\n", "🙂"]),
    profile=profiles,
    max_size=st.sampled_from([8, 40, 1024]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)
def test_twins_agree_on_random_input(parts, delimiter, profile, max_size, cuts):
    cy = load_impl("cython")
    stream = b"".join(parts)
    kwargs = {"delimiter": delimiter, "profile": profile, "maxMessageSize": max_size}
    chunks = _chunks(stream, cuts)
    got_cy = _run(cy, chunks, **kwargs)
    got_py = _run(py_impl, chunks, **kwargs)
    assert got_cy[1:] == got_py[1:]
    assert len(got_cy[0]) == len(got_py[0])
    for (tc, dc), (tp, dp) in zip(got_cy[0], got_py[0], strict=True):
        assert tc == tp and _same(dc, dp)
    # chunking does not change the outcome either (guarded may stop earlier
    # on an unfinished oversize tail, so compare fast only)
    if profile == "fast":
        assert _run(py_impl, [stream], **kwargs) == got_py
