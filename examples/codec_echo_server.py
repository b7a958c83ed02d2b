"""A node-ipc-compatible echo server built on the sans-I/O codec alone.

This is what the codec is for: an asyncio Protocol feeds every chunk it
reads to ``EventDecoder.feed`` and writes what ``encode_event`` returns.
A node-ipc client (``ipc.connectTo('echo', '/tmp/echo.sock')``) can talk to
it unchanged: each event it emits comes back as ``echo`` with the same data.

Run: python examples/codec_echo_server.py /tmp/echo.sock
"""

from __future__ import annotations

import asyncio
import os
import sys

from fastipc import IPCProtocolError
from fastipc.framing import IMPLEMENTATION, EventDecoder, encode_event


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.decoder = EventDecoder(profile="guarded")

    def data_received(self, data: bytes) -> None:
        try:
            events = self.decoder.feed(data)
        except IPCProtocolError as exc:
            events = exc.events  # the good events before the bad frame
            self.transport.write(encode_event("protocol.error", exc.code))
            self.transport.close()
        # One write for everything this chunk completed.
        self.transport.write(b"".join(encode_event("echo", data) for _, data in events))


async def main(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.get_running_loop().create_unix_server(EchoProtocol, path)
    print(f"echo server on {path} (codec: {IMPLEMENTATION})", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/fastipc-echo.sock"))
    except KeyboardInterrupt:
        pass
