"""Benchmarks of the codec: the compiled ``fastipc._framing`` against its pure twin.

Each group runs the same input through both implementations (ids ``cython``
and ``python``) and checks the answer, so no benchmark can pass on a codec
that decodes or encodes wrongly. The project's ``addopts`` holds
``--benchmark-disable``: in the normal test run each body runs once, as a
plain test. Time them with::

    pytest tests/bench --benchmark-enable

The full comparison with node-ipc and the standard library is
``bench/codec_bench.py``.

Each test names ``framing_impl`` (conftest.py) before ``benchmark``, so that
a skipped or failed load never leaves an unused benchmark fixture behind
(pytest-benchmark warns about that, and warnings are errors here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest

CHUNK = 64 * 1024
MIB = 1024 * 1024
SMALL_EVENTS = 10_000
LARGE_EVENTS = 8
BIG_FRAME_MIB = 64
ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


def _small_payload(i: int) -> str:
    head = f"{i:010d}"
    return head + ALPHABET[: 64 - len(head)]


def _large_payload(i: int, length: int = MIB) -> str:
    head = f"{i:010d}"
    return head + "y" * (length - len(head))


def _frame(payload: str) -> bytes:
    # Written by hand (plain ASCII, nothing to escape), not by a codec under test.
    return b'{"type":"m","data":"' + payload.encode("ascii") + b'"}\f'


def _chunks(data: bytes) -> list[bytes]:
    return [data[at : at + CHUNK] for at in range(0, len(data), CHUNK)]


@pytest.fixture(scope="module")
def small_payloads() -> list[str]:
    return [_small_payload(i) for i in range(SMALL_EVENTS)]


@pytest.fixture(scope="module")
def small_stream(small_payloads: list[str]) -> bytes:
    return b"".join(map(_frame, small_payloads))


@pytest.fixture(scope="module")
def large_chunks() -> list[bytes]:
    return _chunks(b"".join(_frame(_large_payload(i)) for i in range(LARGE_EVENTS)))


@pytest.fixture(scope="module")
def big_frame() -> tuple[str, list[bytes]]:
    payload = _large_payload(0, BIG_FRAME_MIB * MIB)
    return payload, _chunks(_frame(payload))


def _decode_all(make_decoder: Callable[[], Any], chunks: Sequence[bytes]) -> tuple[int, Any, int]:
    decoder = make_decoder()
    feed = decoder.feed
    count = 0
    last = None
    for chunk in chunks:
        events = feed(chunk)
        if events:
            count += len(events)
            last = events[-1]
    return count, last, decoder.pending


@pytest.mark.benchmark(group="decode 10k small events (64 KiB chunks)")
def test_decode_small_events(framing_impl: ModuleType, small_stream: bytes, benchmark: Any) -> None:
    chunks = _chunks(small_stream)
    count, last, pending = benchmark(_decode_all, framing_impl.EventDecoder, chunks)
    assert count == SMALL_EVENTS
    assert tuple(last) == ("m", _small_payload(SMALL_EVENTS - 1))
    assert pending == 0


@pytest.mark.benchmark(group="encode 10k small events")
def test_encode_small_events(
    framing_impl: ModuleType, small_payloads: list[str], small_stream: bytes, benchmark: Any
) -> None:
    encode = framing_impl.encode_event

    def encode_all() -> list[bytes]:
        return [encode("m", p) for p in small_payloads]

    frames = benchmark(encode_all)
    assert len(frames) == SMALL_EVENTS
    assert b"".join(frames) == small_stream


@pytest.mark.benchmark(group=f"decode {LARGE_EVENTS} x 1 MiB events (64 KiB chunks)")
def test_decode_1mib_events(
    framing_impl: ModuleType, large_chunks: list[bytes], benchmark: Any
) -> None:
    count, last, pending = benchmark(_decode_all, framing_impl.EventDecoder, large_chunks)
    assert count == LARGE_EVENTS
    assert tuple(last) == ("m", _large_payload(LARGE_EVENTS - 1))
    assert pending == 0


@pytest.mark.benchmark(group=f"decode ONE {BIG_FRAME_MIB} MiB frame (64 KiB chunks)")
def test_decode_one_big_frame(
    framing_impl: ModuleType, big_frame: tuple[str, list[bytes]], benchmark: Any
) -> None:
    payload, chunks = big_frame
    assert len(chunks) == BIG_FRAME_MIB * MIB // CHUNK + 1
    # A few hundred ms a round: a fixed, small number of rounds keeps the file fast.
    count, last, pending = benchmark.pedantic(
        _decode_all, args=(framing_impl.EventDecoder, chunks), rounds=3, iterations=1
    )
    assert count == 1
    assert last[0] == "m"
    assert last[1] == payload
    assert pending == 0
