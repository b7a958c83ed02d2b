"""The codec objects a server or client needs, built from its config."""

from __future__ import annotations

import asyncio
from typing import Any

from ._config import Config
from ._transports.stream import StreamOwner, StreamProtocol
from .errors import BackpressureError
from .framing import EventDecoder, EventEncoder, encode_raw

__all__ = [
    "Wire",
    "decoder_for",
    "encoder_for",
    "guarded",
    "message_timeout_of",
    "pending_limit_of",
    "profile_of",
    "raw_payload",
]


def profile_of(config: Config) -> str:
    """node-ipc's rule: ``rawBuffer`` wins over ``parser``."""
    return "raw" if config.rawBuffer else str(config.parser)


def _codec_args(config: Config) -> dict[str, Any]:
    allowed = config.allowedEvents
    return {
        "delimiter": config.delimiter,
        "profile": profile_of(config),
        "maxMessageSize": config.maxMessageSize,
        "maxEventNameLength": config.maxEventNameLength,
        "allowReservedEvents": config.allowReservedEvents,
        "allowedEvents": None if allowed is False else allowed,
    }


def decoder_for(config: Config) -> EventDecoder:
    """A fresh decoder for one connection."""
    return EventDecoder(**_codec_args(config))


def encoder_for(config: Config) -> EventEncoder:
    """The encoder a server or client uses for everything it sends."""
    args = _codec_args(config)
    if args["profile"] == "raw":
        args["profile"] = "fast"
    return EventEncoder(**args)


def raw_payload(config: Config, payload: Any) -> bytes:
    """Raw-mode bytes for ``payload`` with ``config.encoding``."""
    return encode_raw(payload, config.encoding)


def guarded(config: Config) -> bool:
    """Whether the profile is guarded or assured (not fast, not raw)."""
    return profile_of(config) in ("guarded", "assured")


def message_timeout_of(config: Config) -> float:
    """Seconds an unfinished inbound frame may wait; 0 when unlimited.

    node-ipc applies ``messageTimeout`` under guarded and assured only.
    """
    if not guarded(config):
        return 0.0
    return float(config.messageTimeout) / 1000.0


def pending_limit_of(config: Config) -> float | None:
    """The outbound queue limit per connection (``maxPendingBytes``) under
    guarded and assured, else ``None`` (node-ipc bounds writes only there)."""
    if not guarded(config):
        return None
    limit = config.maxPendingBytes
    return None if limit == float("inf") else float(limit)


class Wire:
    """The wire settings a server or client fixes when it is made, and its codec.

    As node-ipc makes its parser when a server or client is made, the
    settings are a snapshot of the config then: parser, delimiter, limits,
    encoding, identifyPeer, logPayloads. Making one checks them.
    """

    __slots__ = (
        "encode",
        "encoder",
        "identify",
        "log_payloads",
        "message_timeout",
        "pending_limit",
        "profile",
        "raw",
        "settings",
    )

    def __init__(self, config: Config) -> None:
        settings = config.copy()
        self.settings = settings
        self.profile = profile_of(settings)
        self.raw = self.profile == "raw"
        self.encoder = encoder_for(settings)
        self.encode = self.encoder.encode
        self.identify = bool(settings.identifyPeer)
        self.log_payloads = bool(settings.logPayloads)
        self.message_timeout = message_timeout_of(settings)
        self.pending_limit = pending_limit_of(settings)
        decoder_for(settings)  # check the profile's settings now, not on first use

    def frame(self, type: Any, data: Any) -> bytes:
        """What ``emit(type, data)`` sends; in raw mode, ``type`` is the payload."""
        if self.raw:
            return raw_payload(self.settings, type)
        return self.encode(type, data)

    def overflow(self, conn: StreamProtocol, size: int, reader: str) -> BackpressureError | None:
        """Under guarded and assured, the error for ``size`` more bytes that
        would take ``conn`` past ``maxPendingBytes``: a peer that does not
        read loses its connection rather than make the sender buffer without
        bound (node-ipc bounds writes only there). ``reader`` names the peer."""
        limit = self.pending_limit
        if limit is None:
            return None
        waiting = conn.pending_bytes + size
        if waiting <= limit:
            return None
        return BackpressureError(
            f"{waiting} bytes would wait for {reader}, which is not reading; "
            f"maxPendingBytes is {limit:g}"
        )

    def connection(self, owner: StreamOwner, loop: asyncio.AbstractEventLoop) -> StreamProtocol:
        """A stream connection for ``owner`` with a fresh decoder."""
        return StreamProtocol(
            owner,
            decoder_for(self.settings),
            loop,
            message_timeout=self.message_timeout,
            bounded=self.pending_limit is not None,
        )
