"""The pure-Python codec: node-ipc's framing and JSON envelope, sans I/O.

This module and the compiled ``_framing`` define the same public names
(``CONTRACT``) with the same behaviour; the shared test suite runs over
both. It is the fallback where the extension is missing and the reference
the compiled codec is measured against. It imports nothing about sockets,
event loops or threads: bytes in, events out; events in, bytes out.
"""

from __future__ import annotations

import binascii
import builtins
import math
import re
from collections.abc import Iterable
from typing import Any

from . import _json
from ._constants import (
    DEFAULT_DELIMITER,
    DEFAULT_MAX_EVENT_NAME_LENGTH,
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_DEPTH,
    OMITTED,
    PROFILES,
    RESERVED_EVENTS,
    UNSAFE_EVENTS,
)
from .errors import IPCConfigError, IPCEncodeError, IPCProtocolError, protocol_error

__all__ = [
    "IMPLEMENTATION",
    "OMITTED",
    "EventDecoder",
    "EventEncoder",
    "encode_event",
    "encode_raw",
    "js_number",
]

#: The codec implementation: ``'cython'`` (the compiled
#: ``fastipc._framing``) or ``'python'`` (the pure-Python
#: ``fastipc._framing_py``). ``fastipc.framing.IMPLEMENTATION`` is that of
#: the codec it loaded; ``FASTIPC_NO_EXTENSIONS=1`` forces ``'python'``.
IMPLEMENTATION = "python"

#: Public names both codec implementations must define.
CONTRACT = (
    "IMPLEMENTATION",
    "OMITTED",
    "encode_event",
    "encode_raw",
    "js_number",
    "EventDecoder",
    "EventEncoder",
)

_BUFFER_MARK = b'"Buffer"'
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,9}")
_MAX_ARRAY_INDEX = 4294967294  # 2**32 - 2, the largest JS array index
_INF = math.inf
_quote = _json.dumps_str


# --------------------------------------------------------------------------
# numbers as JavaScript prints them


def js_number(value: float) -> str:
    """Return ``value`` written as JavaScript's ``Number#toString`` writes it.

    ``NaN`` and the infinities have no JSON form and give ``'null'`` (what
    ``JSON.stringify`` writes). ``-0.0`` gives ``'0'``, ``1.0`` gives ``'1'``,
    ``1e16`` gives ``'10000000000000000'``, ``1e21`` gives ``'1e+21'``.

    Args:
        value: the number to write.

    Returns:
        The shortest digits that read back as ``value``, laid out as
        JavaScript lays them out: an exponent only from ``1e21`` up or below
        ``1e-6``, and no ``.0`` on a whole number.
    """
    if value != value or value == _INF or value == -_INF:
        return "null"
    if value == 0.0:
        return "0"
    text = repr(value)
    # Python's repr and JavaScript both print the shortest digits that
    # round-trip; only the layout differs. Plain decimals in [1e-4, 1e16)
    # already match, bar a trailing ".0".
    if "e" not in text:
        return text[:-2] if text.endswith(".0") else text
    sign = ""
    if text[0] == "-":
        sign = "-"
        text = text[1:]
    mantissa, _, exp_text = text.partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).rstrip("0")
    point = len(int_part) + int(exp_text)  # value = 0.<digits> * 10**point
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped
    k = len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    exp_sign = "+" if exponent >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{head}e{exp_sign}{abs(exponent)}"


# --------------------------------------------------------------------------
# encoding


def _key_text(key: object) -> str:
    """The property name JavaScript would give ``key``."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        if key != key:
            return "NaN"
        if key == _INF:
            return "Infinity"
        if key == -_INF:
            return "-Infinity"
        return js_number(key)
    raise IPCEncodeError(
        f"cannot encode dict key {key!r} of type {type(key).__name__}: "
        "keys must be str, int, float, bool or None"
    )


def _is_array_index(key: str) -> bool:
    return (
        len(key) <= 10 and _ARRAY_INDEX.fullmatch(key) is not None and int(key) <= _MAX_ARRAY_INDEX
    )


def _js_items(obj: dict[Any, Any]) -> Iterable[tuple[str, Any]]:
    """``obj``'s items in the order a JavaScript object would list them.

    JavaScript lists array-index keys ("0", "1", ...) first, ascending, then
    the other keys in insertion order; keys that become the same string
    (``1`` and ``"1"``) are one property holding the last value.
    """
    plain = True
    has_index = False
    for key in obj:
        if type(key) is not str:
            plain = False
            break
        if key and "0" <= key[0] <= "9" and _is_array_index(key):
            has_index = True
    if plain and not has_index:
        return obj.items()
    if plain:
        items: dict[str, Any] = obj
    else:
        items = {}
        for key, value in obj.items():
            items[_key_text(key)] = value
    index_keys = sorted((k for k in items if _is_array_index(k)), key=int)
    others = [k for k in items if not _is_array_index(k)]
    return [(k, items[k]) for k in index_keys + others]


def _encode_value(obj: Any, out: list[bytes], depth: int) -> None:
    kind = type(obj)
    if kind is str:
        out.append(_quote(obj))
    elif obj is None:
        out.append(b"null")
    elif obj is True:
        out.append(b"true")
    elif obj is False:
        out.append(b"false")
    elif kind is int:
        out.append(int.__repr__(obj).encode())
    elif kind is float:
        out.append(js_number(obj).encode())
    elif kind is dict or kind is list or kind is tuple or isinstance(obj, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise IPCEncodeError(
                f"cannot encode data nested deeper than {MAX_DEPTH} levels "
                "(or holding a reference to itself)"
            )
        if isinstance(obj, dict):
            out.append(b"{")
            first = True
            for key, value in _js_items(obj):
                if not first:
                    out.append(b",")
                first = False
                out.append(_quote(key))
                out.append(b":")
                _encode_value(value, out, depth + 1)
            out.append(b"}")
        else:
            out.append(b"[")
            first = True
            for value in obj:
                if not first:
                    out.append(b",")
                first = False
                _encode_value(value, out, depth + 1)
            out.append(b"]")
    elif isinstance(obj, str):
        out.append(_quote(str.__str__(obj)))
    elif isinstance(obj, int):  # bool handled above; int subclasses (IntEnum)
        out.append(int.__repr__(obj).encode())
    elif isinstance(obj, float):
        out.append(js_number(float(obj)).encode())
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        # What JSON.stringify writes for a Node Buffer.
        data = bytes(obj)
        out.append(b'{"type":"Buffer","data":[')
        out.append(",".join(map(str, data)).encode())
        out.append(b"]}")
    else:
        raise IPCEncodeError(
            f"cannot encode value {_short_repr(obj)} of type {kind.__name__}: "
            "data must be str, int, float, bool, None, bytes, list, tuple or dict"
        )


def _short_repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:  # a broken __repr__ must not hide the real error
        text = object.__repr__(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def _encode_data(data: Any) -> bytes:
    kind = type(data)
    if kind is str:
        return _quote(data)
    if data is OMITTED:
        return b"{}"
    out: list[bytes] = []
    _encode_value(data, out, 0)
    return b"".join(out)


def _delimiter_bytes(delimiter: str | bytes, key: str = "delimiter") -> bytes:
    if isinstance(delimiter, str):
        raw = delimiter.encode("utf-8", "surrogatepass")
    elif isinstance(delimiter, (bytes, bytearray)):
        raw = bytes(delimiter)
    else:
        raise IPCConfigError(
            f"{key} must be a non-empty string, got {type(delimiter).__name__} {delimiter!r}"
        )
    if not raw:
        raise IPCConfigError(f"{key} must be a non-empty string, got {delimiter!r}")
    return raw


def _needs_delimiter_check(delim: bytes) -> bool:
    # Compact JSON never holds a raw byte below 0x20 (strings escape them),
    # so a delimiter made only of such bytes can never occur inside a frame.
    return any(b >= 0x20 for b in delim)


def encode_event(
    type: str, data: Any = OMITTED, delimiter: str | bytes = DEFAULT_DELIMITER
) -> bytes:
    """Encode one event as node-ipc frames it: ``{"type":…,"data":…}`` + delimiter.

    Args:
        type: the event name.
        data: the payload. Left out, it is sent as ``{}`` (node-ipc's
            ``undefined``); ``None`` is sent as ``null``.
        delimiter: the frame delimiter, ``"\\f"`` by default.

    Returns:
        The frame's bytes, exactly what node-ipc 14 writes for the same event.

    Raises:
        IPCEncodeError: Raised when ``data`` holds a value with no JSON form,
            or when the frame would contain the delimiter.
        IPCConfigError: Raised when ``delimiter`` is empty or not a string.
    """
    if not isinstance(type, str):
        raise IPCEncodeError(
            f"event type must be a str, got {builtins.type(type).__name__} {_short_repr(type)}"
        )
    delim = _delimiter_bytes(delimiter)
    body = b'{"type":' + _quote(type) + b',"data":' + _encode_data(data) + b"}"
    if delim != b"\f" and _needs_delimiter_check(delim) and delim in body:
        raise IPCEncodeError(
            f"the encoded event {type!r} contains the delimiter {delimiter!r}; "
            "a peer would split it in two"
        )
    return body + delim


_RAW_ENCODINGS = {
    "utf8": "utf8",
    "utf-8": "utf8",
    "ascii": "latin1",
    "latin1": "latin1",
    "binary": "latin1",
    "utf16le": "utf16le",
    "utf-16le": "utf16le",
    "ucs2": "utf16le",
    "ucs-2": "utf16le",
    "base64": "base64",
    "base64url": "base64",
    "hex": "hex",
}
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/\-_]")
_HEX_PAIRS = re.compile(r"(?:[0-9A-Fa-f]{2})*")


def _raw_encoding(encoding: str) -> str:
    if not isinstance(encoding, str) or encoding.lower() not in _RAW_ENCODINGS:
        raise IPCConfigError(
            f"encoding must be one of {', '.join(sorted(_RAW_ENCODINGS))}; got {encoding!r}"
        )
    return _RAW_ENCODINGS[encoding.lower()]


def encode_raw(payload: Any, encoding: str = "utf8") -> bytes:
    """Encode a raw-mode payload the way Node's ``Buffer.from`` does.

    Args:
        payload: bytes-like (passed through), ``str`` (encoded with
            ``encoding``) or a list of ints (each taken modulo 256).
        encoding: one of Node's encodings: ``utf8``, ``ascii``,
            ``latin1``/``binary``, ``utf16le``/``ucs2``, ``base64``, ``hex``.

    Returns:
        The bytes to write.

    Raises:
        IPCConfigError: Raised when ``encoding`` is not one of those.
        IPCEncodeError: Raised when ``payload`` is none of those types.
    """
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    kind = _raw_encoding(encoding)
    if isinstance(payload, str):
        if kind == "utf8":
            try:
                return payload.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates become U+FFFD, as in Node
                joined = _json.join_surrogate_pairs(payload)
                return re.sub("[\ud800-\udfff]", "\ufffd", joined).encode("utf-8")
        if kind == "latin1":
            try:
                return payload.encode("latin-1")
            except UnicodeEncodeError:  # Node keeps the low byte of each UTF-16 unit
                units = payload.encode("utf-16-le", "surrogatepass")
                return units[0::2]
        if kind == "utf16le":
            return payload.encode("utf-16-le", "surrogatepass")
        if kind == "hex":
            match = _HEX_PAIRS.match(payload)
            return binascii.unhexlify(match.group() if match else "")
        # base64 and base64url, as leniently as Node: stop at "=", skip
        # characters outside both alphabets, padding optional.
        text = _NOT_BASE64.sub("", payload.split("=", 1)[0])
        text = text.replace("-", "+").replace("_", "/")
        if len(text) % 4 == 1:
            text = text[:-1]
        return binascii.a2b_base64(text + "=" * (-len(text) % 4))
    if isinstance(payload, (list, tuple)):
        out = bytearray(len(payload))
        for i, item in enumerate(payload):
            if isinstance(item, bool) or not isinstance(item, int):
                raise IPCEncodeError(
                    f"raw payload list item {i} is {_short_repr(item)}; items must be ints"
                )
            out[i] = item & 0xFF
        return bytes(out)
    raise IPCEncodeError(
        f"cannot send {type(payload).__name__} {_short_repr(payload)} in raw mode: "
        "use bytes, str or a list of ints"
    )


# --------------------------------------------------------------------------
# decoding


def _revive_buffers(value: Any) -> Any:
    """Turn node-ipc's Buffer shape ``{"type":"Buffer","data":[…]}`` into bytes."""
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and value.get("type") == "Buffer":
            data = value.get("data")
            if type(data) is list and all(type(b) is int and 0 <= b <= 255 for b in data):
                return bytes(data)
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                value[key] = _revive_buffers(item)
    elif kind is list:
        for i, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[i] = _revive_buffers(item)
    return value


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _check_limit(value: Any, key: str, allow_inf: bool = True) -> int | float:
    if allow_inf and isinstance(value, float) and value == _INF:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise IPCConfigError(f"{key} must be a positive integer or math.inf, got {value!r}")
    return value


class _Profile:
    """The checks of one parser profile, shared by the decoder and encoder."""

    __slots__ = (
        "allow_reserved",
        "allowed",
        "guarded",
        "max_event_name_length",
        "max_message_size",
        "profile",
    )

    def __init__(
        self,
        profile: str,
        maxMessageSize: int | float,
        maxEventNameLength: int | float,
        allowReservedEvents: bool,
        allowedEvents: Iterable[str] | None,
    ) -> None:
        if profile not in PROFILES:
            raise IPCConfigError(f"parser must be one of {', '.join(PROFILES)}; got {profile!r}")
        self.profile = profile
        self.guarded = profile in ("guarded", "assured")
        self.max_message_size = _check_limit(maxMessageSize, "maxMessageSize")
        self.max_event_name_length = _check_limit(maxEventNameLength, "maxEventNameLength")
        if not isinstance(allowReservedEvents, bool):
            raise IPCConfigError(f"allowReservedEvents must be a bool, got {allowReservedEvents!r}")
        self.allow_reserved = allowReservedEvents and profile != "assured"
        allowed: frozenset[str] | None = None
        if allowedEvents is not None and allowedEvents is not False:  # type: ignore[comparison-overlap]
            if isinstance(allowedEvents, (str, bytes)) or not isinstance(
                allowedEvents, (list, tuple, set, frozenset)
            ):
                raise IPCConfigError(
                    f"allowedEvents must be a list or set of event names, got {allowedEvents!r}"
                )
            allowed = frozenset(allowedEvents)
            bad = [name for name in allowed if not isinstance(name, str)]
            if bad:
                raise IPCConfigError(f"allowedEvents must hold only str, got {bad[0]!r}")
        if profile == "assured" and not allowed:
            raise IPCConfigError(
                "allowedEvents must be a non-empty list or set for the assured parser, "
                f"got {allowedEvents!r}"
            )
        self.allowed = allowed if profile == "assured" else None

    def check_type(self, name: Any) -> None:
        """Apply the profile's rules for an event type (guarded and assured)."""
        if type(name) is not str or not name:
            raise protocol_error(
                "ERR_IPC_INVALID_EVENT",
                f"event type must be a non-empty string, got {_short_repr(name)}",
            )
        if not self.guarded:
            return
        if _utf16_length(name) > self.max_event_name_length:
            raise protocol_error(
                "ERR_IPC_EVENT_TOO_LARGE",
                f"event type of {_utf16_length(name)} characters exceeds "
                f"maxEventNameLength {self.max_event_name_length}",
            )
        if name in UNSAFE_EVENTS:
            raise protocol_error(
                "ERR_IPC_INVALID_EVENT",
                f'event type "{name}" is not safe for the event dispatcher',
            )
        if not self.allow_reserved and name in RESERVED_EVENTS:
            raise protocol_error(
                "ERR_IPC_RESERVED_EVENT",
                f'event type "{name}" is reserved for local lifecycle events',
            )
        if self.allowed is not None and name not in self.allowed:
            raise protocol_error(
                "ERR_IPC_EVENT_NOT_ALLOWED", f'event type "{name}" is not in allowedEvents'
            )

    def check_size(self, size: int, unfinished: bool = False) -> None:
        if size > self.max_message_size:
            what = "unfinished frame" if unfinished else "frame"
            raise protocol_error(
                "ERR_IPC_FRAME_TOO_LARGE",
                f"{what} of {size} bytes exceeds maxMessageSize {self.max_message_size}",
            )


def _decode_frame(frame: bytes, profile: _Profile) -> tuple[Any, Any]:
    try:
        message = _json.loads(frame)
    except ValueError:
        raise protocol_error(
            "ERR_IPC_INVALID_JSON",
            f"received a frame of {len(frame)} bytes that is not valid UTF-8 JSON: "
            f"{_short_repr(bytes(frame[:40]))}",
        ) from None
    if type(message) is not dict:
        raise protocol_error(
            "ERR_IPC_INVALID_MESSAGE",
            f"received message must be a JSON object, got {type(message).__name__}",
        )
    name = message.get("type")
    profile.check_type(name)  # a non-empty str from here on
    data = message.get("data")
    if _BUFFER_MARK in frame and (type(data) is dict or type(data) is list):
        data = _revive_buffers(data)
    return name, data


class EventDecoder:
    """Turn a byte stream from a peer into ``(type, data)`` events.

    Feed it every chunk a transport reads; it returns the events completed by
    that chunk and keeps the unfinished tail. It never scans a byte twice.

    Args:
        delimiter: the frame delimiter (any non-empty string).
        profile: ``'raw'``, ``'fast'``, ``'guarded'`` or ``'assured'``.
        maxMessageSize: the largest frame in bytes (guarded, assured).
        maxEventNameLength: the longest event type, in UTF-16 code units as
            node-ipc counts (guarded, assured).
        allowReservedEvents: let a peer send lifecycle names (guarded).
        allowedEvents: the only event types accepted (assured; required).

    Raises:
        IPCConfigError: Raised when an argument is out of range.
    """

    __slots__ = ("_buf", "_delim", "_dlen", "_guarded", "_profile", "_raw", "_scan")

    def __init__(
        self,
        delimiter: str | bytes = DEFAULT_DELIMITER,
        profile: str = "fast",
        maxMessageSize: int | float = DEFAULT_MAX_MESSAGE_SIZE,
        maxEventNameLength: int | float = DEFAULT_MAX_EVENT_NAME_LENGTH,
        allowReservedEvents: bool = False,
        allowedEvents: Iterable[str] | None = None,
    ) -> None:
        self._profile = _Profile(
            profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents
        )
        self._delim = _delimiter_bytes(delimiter)
        self._dlen = len(self._delim)
        self._buf = bytearray()
        self._scan = 0  # bytes of _buf already searched for a delimiter
        self._raw = profile == "raw"
        self._guarded = self._profile.guarded

    @property
    def profile(self) -> str:
        """The parser profile this decoder applies."""
        return self._profile.profile

    @property
    def pending(self) -> int:
        """Bytes held: the unfinished frame waiting for its delimiter."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any unfinished frame.

        ``pending`` becomes ``0`` and the next ``feed`` starts a new frame;
        events already returned are not affected. ``feed`` does this itself
        when it raises a protocol error.
        """
        self._buf = bytearray()
        self._scan = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[tuple[str, Any]]:
        """Take the next bytes of the stream; return the events they complete.

        Args:
            chunk: bytes as read from the transport, of any size.

        Returns:
            Every ``(type, data)`` completed by ``chunk``, in order. In raw
            mode, ``[('data', chunk_bytes)]``.

        Raises:
            IPCProtocolError: Raised when a frame breaks the profile's rules.
                Its ``events`` holds the good events that came before the bad
                frame; the decoder is reset, so it holds nothing stale.
        """
        if self._raw:
            return [("data", bytes(chunk))] if len(chunk) else []
        buf = self._buf
        buf += chunk
        delim = self._delim
        dlen = self._dlen
        events: list[tuple[str, Any]] = []
        profile = self._profile
        guarded = self._guarded
        start = 0
        # Resume the search where the last one stopped, less the bytes a
        # delimiter split across two chunks could have begun in.
        end = buf.find(delim, self._scan)
        try:
            while end != -1:
                frame = bytes(buf[start:end])
                if guarded:
                    profile.check_size(end - start)
                events.append(_decode_frame(frame, profile))
                start = end + dlen
                end = buf.find(delim, start)
            if start:
                del buf[:start]
            self._scan = max(0, len(buf) - dlen + 1)
            if guarded:
                profile.check_size(len(buf), unfinished=True)
        except IPCProtocolError as exc:
            exc.events = events
            self.reset()
            raise
        return events


class EventEncoder:
    """Encode events under a parser profile's send-side rules.

    The guarded and assured profiles check what you send as node-ipc 14 does:
    the event type's rules and ``maxMessageSize``. It takes the same
    arguments as [`EventDecoder`][fastipc.framing.EventDecoder], so one
    config gives a matching pair.

    Args:
        delimiter: the frame delimiter (any non-empty string).
        profile: ``'raw'``, ``'fast'``, ``'guarded'`` or ``'assured'``;
            only guarded and assured check anything.
        maxMessageSize: the largest frame in bytes (guarded, assured).
        maxEventNameLength: the longest event type, in UTF-16 code units as
            node-ipc counts (guarded, assured).
        allowReservedEvents: let you send lifecycle names (guarded).
        allowedEvents: the only event types you may send (assured;
            required).

    Raises:
        IPCConfigError: Raised when an argument is out of range.
    """

    __slots__ = ("_check", "_delim", "_delimiter", "_profile")

    def __init__(
        self,
        delimiter: str | bytes = DEFAULT_DELIMITER,
        profile: str = "fast",
        maxMessageSize: int | float = DEFAULT_MAX_MESSAGE_SIZE,
        maxEventNameLength: int | float = DEFAULT_MAX_EVENT_NAME_LENGTH,
        allowReservedEvents: bool = False,
        allowedEvents: Iterable[str] | None = None,
    ) -> None:
        self._profile = _Profile(
            profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents
        )
        self._delimiter = delimiter
        self._delim = _delimiter_bytes(delimiter)
        self._check = self._profile.guarded

    @property
    def profile(self) -> str:
        """The parser profile this encoder applies."""
        return self._profile.profile

    def encode(self, type: str, data: Any = OMITTED) -> bytes:
        """Encode one event as ``encode_event`` does, after the profile's checks.

        Args:
            type: the event name.
            data: the payload. Left out, it is sent as ``{}`` (node-ipc's
                ``undefined``); ``None`` is sent as ``null``.

        Returns:
            The frame's bytes, the delimiter included: what
            [`encode_event`][fastipc.framing.encode_event] returns for the
            same arguments.

        Raises:
            IPCProtocolError: Raised under guarded/assured when the type or
                the frame's size breaks the profile's rules.
            IPCEncodeError: Raised when ``data`` has no JSON form, or the
                frame would contain the delimiter.
        """
        if self._check:
            self._profile.check_type(type)
        frame = encode_event(type, data, self._delimiter)
        if self._check:
            self._profile.check_size(len(frame) - len(self._delim))
        return frame
