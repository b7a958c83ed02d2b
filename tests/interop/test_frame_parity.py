"""Byte parity with node-ipc: the expected frames come from node-ipc itself.

node-ipc 14.0.0 (and the legacy 9.2.1) run on Node 22 from npm; see
tests/interop/node/frames.mjs. Nothing expected here is typed by hand.
"""

from __future__ import annotations

import base64
import json
import math
import os
import socket
import subprocess
import tempfile
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastipc import OMITTED

from ..conftest import NODE_DIR, load_impl

pytestmark = pytest.mark.interop

ORACLE = str(NODE_DIR / "frames.mjs")

# (id, event type, Python value, the same value as JavaScript source)
CASES = [
    ("string", "message", "hello", "'hello'"),
    ("omitted", "ping", OMITTED, None),
    ("null", "x", None, "null"),
    ("true", "x", True, "true"),
    ("false", "x", False, "false"),
    ("empty-string", "x", "", "''"),
    ("non-ascii", "x", "héllo wörld ñ 中文 Ελληνικά", "'héllo wörld ñ 中文 Ελληνικά'"),
    ("emoji", "x", "😀🎉👩‍👩‍👧", "'😀🎉👩‍👩‍👧'"),
    (
        "controls",
        "x",
        "".join(map(chr, range(0x20))) + "\x7f\x80\x9f",
        "Array.from({length: 32}, (_, i) => String.fromCharCode(i)).join('') + '\\x7f\\x80\\x9f'",
    ),
    ("quotes", "x", 'say "hi" \\ back\\slash / </script>', "'say \"hi\" \\\\ back\\\\slash / </script>'"),
    ("delimiter-char", "x", "a\fb\f", "'a\\fb\\f'"),
    ("line-separators", "x", "\u2028\u2029", "'\\u2028\\u2029'"),
    ("lone-high", "x", "\ud800", "'\\ud800'"),
    ("lone-low-mid", "x", "a\udfffb", "'a\\udfffb'"),
    ("reversed-pair", "x", "\udc00\ud800", "'\\udc00\\ud800'"),
    ("pair", "x", "\ud83d\ude00", "'\\ud83d\\ude00'"),
    ("zero", "x", 0, "0"),
    ("negative", "x", -1, "-1"),
    ("int32", "x", 2**31, "2 ** 31"),
    ("max-safe", "x", 2**53, "2 ** 53"),
    ("min-safe", "x", -(2**53), "-(2 ** 53)"),
    ("float-1e21", "x", 1e21, "1e21"),
    ("float-1e-7", "x", 1e-7, "1e-7"),
    ("float-sum", "x", 0.1 + 0.2, "0.1 + 0.2"),
    ("float-neg-zero", "x", -0.0, "-0"),
    ("float-one", "x", 1.0, "1.0"),
    ("float-1e16", "x", 1e16, "1e16"),
    ("float-1e20", "x", 1e20, "1e20"),
    ("float-big-int", "x", 123456789012345680000.0, "123456789012345680000"),
    ("float-1e-6", "x", 1e-6, "1e-6"),
    ("float-1.5e-7", "x", 1.5e-7, "1.5e-7"),
    ("float-tiny", "x", 5e-324, "5e-324"),
    ("float-max", "x", 1.7976931348623157e308, "1.7976931348623157e308"),
    ("float-plain", "x", -123.456, "-123.456"),
    ("nan", "x", math.nan, "NaN"),
    ("infinity", "x", math.inf, "Infinity"),
    ("neg-infinity", "x", [-math.inf], "[-Infinity]"),
    ("empty-list", "x", [], "[]"),
    ("empty-dict", "x", {}, "({})"),
    (
        "nested",
        "x",
        {"a": [1, {"b": None, "c": [True, False, "s"]}], "d": {"e": {"f": 1.5}}},
        "({a: [1, {b: null, c: [true, false, 's']}], d: {e: {f: 1.5}}})",
    ),
    ("tuple", "x", (1, "two", 3.0), "[1, 'two', 3.0]"),
    ("bytes", "x", b"\x00\x01\x7f\x80\xff", "Buffer.from([0, 1, 127, 128, 255])"),
    ("bytes-nested", "x", {"blob": bytearray(b"hi")}, "({blob: Buffer.from('hi')})"),
    ("int-keys", "x", {2: "b", "k": 0, 1: "a"}, "({2: 'b', k: 0, 1: 'a'})"),
    ("index-like-keys", "x", {"b": 1, "10": 2, "01": 3, "3": 4}, "({b: 1, '10': 2, '01': 3, '3': 4})"),
    ("scalar-keys", "x", {True: 1, None: 2, 1.5: 3}, "({true: 1, null: 2, 1.5: 3})"),
    ("unicode-type", "ünïcödé-😀", "v", "'v'"),
    ("dotted-type", "app.event:v2", [1], "[1]"),
]


def _node(node, *args: str) -> list[bytes]:
    out = subprocess.run(
        [str(node), ORACLE, *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    return [base64.b64decode(frame) for frame in json.loads(out.stdout)]


def _write_cases(path: str, cases, delimiter: str = "\f") -> None:
    with open(path, "w") as fh:
        json.dump([{"type": c[1], "js": c[3], "delimiter": delimiter} for c in cases], fh)


@pytest.fixture(scope="module")
def node_frames(node, tmp_path_factory):
    """Every case's frame as node-ipc 14.0.0's encoder writes it."""
    path = str(tmp_path_factory.mktemp("oracle") / "cases.json")
    _write_cases(path, CASES)
    return dict(zip([c[0] for c in CASES], _node(node, "encode", path), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_frame_is_what_node_ipc_writes(framing_impl, node_frames, case):
    _, name, value, _ = case
    assert framing_impl.encode_event(name, value) == node_frames[case[0]]


@pytest.mark.parametrize("delimiter", ["\r\n", "🙂", "\x00\x01"])
def test_other_delimiters_match_node_ipc(framing_impl, node, tmp_path, delimiter):
    path = str(tmp_path / "cases.json")
    _write_cases(path, CASES[:12], delimiter)
    expected = _node(node, "encode", path)
    assert [framing_impl.encode_event(c[1], c[2], delimiter) for c in CASES[:12]] == expected


def test_decoder_reads_node_ipc_frames(framing_impl, node_frames):
    stream = b"".join(node_frames[c[0]] for c in CASES)
    events = framing_impl.EventDecoder().feed(stream)
    assert [t for t, _ in events] == [c[1] for c in CASES]
    by_id = dict(zip([c[0] for c in CASES], events, strict=True))
    assert by_id["omitted"][1] == {}
    assert by_id["bytes"][1] == b"\x00\x01\x7f\x80\xff"
    assert by_id["bytes-nested"][1] == {"blob": b"hi"}
    assert by_id["nan"][1] is None
    assert by_id["lone-low-mid"][1] == "a\udfffb"
    assert by_id["pair"][1] == "😀"
    assert by_id["float-big-int"][1] == 123456789012345680000.0
    assert by_id["int-keys"][1] == {"1": "a", "2": "b", "k": 0}


class _Collector:
    """A plain Unix-socket server that keeps every byte a client writes."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.data = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(30)
            while chunk := conn.recv(65536):
                self.data += chunk

    def result(self) -> bytes:
        self.thread.join(40)
        self.sock.close()
        return bytes(self.data)


def _socket_bytes(node, mode: str, path: str) -> bytes:
    with tempfile.TemporaryDirectory(dir="/tmp") as root:
        sock_path = os.path.join(root, "oracle.sock")
        collector = _Collector(sock_path)
        out = subprocess.run(
            [str(node), ORACLE, mode, sock_path, path], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        return collector.result()


def test_node_ipc_14_client_writes_these_bytes(framing_impl, node, node_frames, tmp_path):
    """A real node-ipc 14 client over a real socket writes exactly our frames."""
    path = str(tmp_path / "cases.json")
    _write_cases(path, CASES)
    wire = _socket_bytes(node, "emit14", path)
    assert wire == b"".join(node_frames[c[0]] for c in CASES)
    assert wire == b"".join(framing_impl.encode_event(c[1], c[2]) for c in CASES)


def test_node_ipc_9_client_writes_the_same_bytes(framing_impl, node, tmp_path):
    """The legacy line (9.2.1) frames every case as 14 does, except that it
    sends ``{}`` in place of ``null``, ``""`` and ``NaN`` (its message
    class replaces falsy data other than ``false`` and ``0``)."""
    path = str(tmp_path / "cases.json")
    _write_cases(path, CASES)
    wire = _socket_bytes(node, "emit9", path)
    ours = []
    for case_id, name, value, _ in CASES:
        if case_id in ("null", "empty-string", "nan"):
            value = {}
        ours.append(framing_impl.encode_event(name, value))
    assert wire == b"".join(ours)
    assert len(framing_impl.EventDecoder().feed(wire)) == len(CASES)


# Random values: node-ipc parses our frame and encodes what it understood;
# the bytes must come back unchanged.
safe_ints = st.integers(min_value=-(2**53), max_value=2**53)
texts = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | safe_ints | st.floats() | texts | st.binary(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)


@pytest.mark.parametrize("impl_id", ["cython", "python"])
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(st.tuples(st.text(min_size=1, max_size=10), values), min_size=40, max_size=40))
def test_node_ipc_reencodes_random_frames_unchanged(node, impl_id, batch, tmp_path_factory):
    impl = load_impl(impl_id)
    frames = [impl.encode_event(name, value) for name, value in batch]
    path = str(tmp_path_factory.mktemp("reencode") / "frames.json")
    with open(path, "w") as fh:
        json.dump({"delimiter": "\f", "frames": [base64.b64encode(f).decode() for f in frames]}, fh)
    assert _node(node, "reencode", path) == frames
