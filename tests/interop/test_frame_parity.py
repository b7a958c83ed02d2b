"""Byte parity with node-ipc: the expected frames come from node-ipc itself.

node-ipc 14.0.0 (and the legacy 9.2.1) run on Node 22 from npm; see
tests/interop/node/frames.mjs. Nothing expected here is typed by hand.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import tempfile
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..helpers import FRAME_CASES, NODE_DIR, load_impl

pytestmark = pytest.mark.interop

ORACLE = str(NODE_DIR / "frames.mjs")


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
    _write_cases(path, FRAME_CASES)
    return dict(zip([c[0] for c in FRAME_CASES], _node(node, "encode", path), strict=True))


@pytest.mark.parametrize("case", FRAME_CASES, ids=[c[0] for c in FRAME_CASES])
def test_frame_is_what_node_ipc_writes(framing_impl, node_frames, case):
    _, name, value, _ = case
    assert framing_impl.encode_event(name, value) == node_frames[case[0]]


@pytest.mark.parametrize("delimiter", ["\r\n", "🙂", "\x00\x01"])
def test_other_delimiters_match_node_ipc(framing_impl, node, tmp_path, delimiter):
    path = str(tmp_path / "cases.json")
    _write_cases(path, FRAME_CASES[:12], delimiter)
    expected = _node(node, "encode", path)
    assert [framing_impl.encode_event(c[1], c[2], delimiter) for c in FRAME_CASES[:12]] == expected


def test_decoder_reads_node_ipc_frames(framing_impl, node_frames):
    stream = b"".join(node_frames[c[0]] for c in FRAME_CASES)
    events = framing_impl.EventDecoder().feed(stream)
    assert [t for t, _ in events] == [c[1] for c in FRAME_CASES]
    by_id = dict(zip([c[0] for c in FRAME_CASES], events, strict=True))
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
    _write_cases(path, FRAME_CASES)
    wire = _socket_bytes(node, "emit14", path)
    assert wire == b"".join(node_frames[c[0]] for c in FRAME_CASES)
    assert wire == b"".join(framing_impl.encode_event(c[1], c[2]) for c in FRAME_CASES)


def test_node_ipc_9_client_writes_the_same_bytes(framing_impl, node, tmp_path):
    """The legacy line (9.2.1) frames every case as 14 does, except that it
    sends ``{}`` in place of ``null``, ``""`` and ``NaN`` (its message
    class replaces falsy data other than ``false`` and ``0``)."""
    path = str(tmp_path / "cases.json")
    _write_cases(path, FRAME_CASES)
    wire = _socket_bytes(node, "emit9", path)
    ours = []
    for case_id, name, value, _ in FRAME_CASES:
        if case_id in ("null", "empty-string", "nan"):
            value = {}
        ours.append(framing_impl.encode_event(name, value))
    assert wire == b"".join(ours)
    assert len(framing_impl.EventDecoder().feed(wire)) == len(FRAME_CASES)


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
@given(
    batch=st.lists(st.tuples(st.text(min_size=1, max_size=10), values), min_size=40, max_size=40)
)
def test_node_ipc_reencodes_random_frames_unchanged(node, impl_id, batch, tmp_path_factory):
    impl = load_impl(impl_id)
    frames = [impl.encode_event(name, value) for name, value in batch]
    path = str(tmp_path_factory.mktemp("reencode") / "frames.json")
    with open(path, "w") as fh:
        json.dump({"delimiter": "\f", "frames": [base64.b64encode(f).decode() for f in frames]}, fh)
    assert _node(node, "reencode", path) == frames
