"""Raw mode (``rawBuffer=True``) over real Unix sockets and TCP.

No framing and no JSON: bytes written arrive through the ``data`` event as
``bytes``; what is emitted may be bytes, a ``str`` encoded with
``config.encoding`` or a list of ints. A stream may split or join chunks, so
every comparison is on the concatenation of what arrived.
"""

from __future__ import annotations

import base64

import pytest

from .helpers import HOSTILE_BYTES, Recorder, closed, connected, make_ipc, session, started

# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("transport", ["unix", "tcp4", "tcp6"])
def test_raw_bytes_both_directions(codec, root, transport):
    """Bytes that framing or text decoding would break arrive intact, both ways,
    including a 1 MiB payload that the stream splits into many chunks."""
    big = bytes(range(256)) * 4096
    with session(root, transport) as s:
        _, server, sockets = s.server(rawBuffer=True)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(rawBuffer=True, setup=lambda c: got.watch(c, "data", "error"))
        sock = sockets.first("connect")
        client.emit(HOSTILE_BYTES)
        client.emit(bytearray(b"\xf0\x9f"))
        client.emit(memoryview(b"\x98\x80"))
        inbound.wait_bytes(HOSTILE_BYTES + "😀".encode())
        inbound.items.clear()
        client.emit(big)
        inbound.wait_bytes(big)
        assert len(inbound.of("data")) > 1  # split by the stream, joined by the test
        server.emit(sock, HOSTILE_BYTES)
        server.emit(sock, big)
        got.wait_bytes(HOSTILE_BYTES + big)
        assert not got.of("error") and not sockets.of("error")


def test_raw_client_and_server_handlers_get_bytes(codec, root):
    """``data`` handlers get ``bytes`` (client) and ``(bytes, socket)`` (server)."""
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(rawBuffer=True, setup=lambda c: got.watch(c, "data"))
        sock = sockets.first("connect")
        server.emit(sock, HOSTILE_BYTES)
        got.wait_bytes(HOSTILE_BYTES)
        assert all(type(args[0]) is bytes and len(args) == 1 for args in got.of("data"))
        client.emit(b"\x00")
        inbound.wait_bytes(b"\x00")
        assert inbound.of("data")[0][1] is sock


# str payloads as Node's Buffer.from(str, encoding) encodes them
ENCODED = [
    ("utf8", "héllo €\x00\f", "héllo €\x00\f".encode()),
    ("utf8", "lone \ud800 surrogate", "lone \ufffd surrogate".encode()),
    ("ascii", "héllo", "héllo".encode("latin-1")),  # Node's ascii keeps the low byte
    ("latin1", "ÿé\x00\f", b"\xff\xe9\x00\x0c"),
    ("binary", "ÿé€", b"\xff\xe9\xac"),  # U+20AC keeps its low byte, 0xAC
    ("utf16le", "h€", "h€".encode("utf-16-le")),
    ("ucs2", "😀", "😀".encode("utf-16-le")),
    ("base64", base64.b64encode(HOSTILE_BYTES).decode(), HOSTILE_BYTES),
    ("base64", "AAEC/w", b"\x00\x01\x02\xff"),  # padding optional
    ("hex", HOSTILE_BYTES.hex(), HOSTILE_BYTES),
    ("hex", "00FF0c7", b"\x00\xff\x0c"),  # an odd last digit is dropped
]


@pytest.mark.parametrize(
    ("encoding", "text", "expected"),
    ENCODED,
    ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(ENCODED)],
)
def test_raw_str_uses_config_encoding(root, encoding, text, expected):
    """``emit(str)`` encodes with ``config.encoding``, on the client and the server."""
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True, encoding=encoding)
        inbound = Recorder().watch(server, "data")
        got = Recorder()
        _, client, _ = s.client(
            rawBuffer=True, encoding=encoding, setup=lambda c: got.watch(c, "data")
        )
        client.emit(text)
        inbound.wait_bytes(expected)
        server.emit(sockets.first("connect"), text)
        got.wait_bytes(expected)


def test_raw_list_of_ints_and_bytes_ignore_encoding(codec, root):
    """A list of ints is sent as those bytes (modulo 256, as Node's
    ``Buffer.from(array)``); bytes pass through whatever the encoding."""
    with session(root) as s:
        _, server, _ = s.server(rawBuffer=True, encoding="hex")
        inbound = Recorder().watch(server, "data")
        _, client, _ = s.client(rawBuffer=True, encoding="hex")
        client.emit([0x05, 0x6D, 0x5C, 0, 12, 255, 256, -1])
        client.emit(b"not hex")
        inbound.wait_bytes(b"\x05\x6d\x5c\x00\x0c\xff\x00\xffnot hex")


def test_raw_broadcast_reaches_every_client(codec, root):
    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        receivers = []
        for _ in range(3):
            got = Recorder()
            s.client(rawBuffer=True, setup=lambda c, got=got: got.watch(c, "data"))
            receivers.append(got)
        sockets.wait(lambda: len(sockets.of("connect")) == 3)
        assert server.broadcast(HOSTILE_BYTES) is True
        server.broadcast("tail")
        for got in receivers:
            got.wait_bytes(HOSTILE_BYTES + b"tail")


def test_raw_bad_payload_raises(root):
    from fastipc import IPCEncodeError

    with session(root) as s:
        _, server, sockets = s.server(rawBuffer=True)
        _, client, _ = s.client(rawBuffer=True)
        with pytest.raises(IPCEncodeError):
            client.emit({"type": "x"})
        with pytest.raises(IPCEncodeError):
            client.emit([1, "2"])
        with pytest.raises(IPCEncodeError):
            server.emit(sockets.first("connect"), 3.5)


@pytest.mark.loops("asyncio", "uvloop")
def test_raw_inside_a_running_loop(mode, root):
    """Raw mode on the caller's own loop (no background thread)."""

    async def body() -> None:
        server_ipc = make_ipc(root, id="srv", rawBuffer=True)
        server = server_ipc.serve()
        inbound = Recorder().watch(server, "data")
        server.on("data", lambda data, sock: sock.emit(data[::-1]) if data.endswith(b"!") else None)
        server.start()
        await started(server)
        client_ipc = make_ipc(root, rawBuffer=True)
        got = Recorder()
        client_ipc.connectTo("srv", lambda: got.watch(client_ipc.of.srv, "data"))
        client = client_ipc.of.srv
        try:
            await connected(client)
            client.emit(b"\xff\x00\x0c!")
            await got.until_bytes(b"!\x0c\x00\xff")
            assert inbound.joined() == b"\xff\x00\x0c!"
        finally:
            client_ipc.disconnect("srv")
            server.stop()
            await closed(client)
            await closed(server)

    mode.run(body)
