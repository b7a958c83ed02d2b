"""The codec objects a server or client needs, built from its config."""

from __future__ import annotations

from typing import Any

from ._config import Config
from .framing import EventDecoder, EventEncoder, encode_raw

__all__ = [
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
