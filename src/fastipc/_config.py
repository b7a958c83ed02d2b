"""``ipc.config``: every node-ipc 14 key, its default, checked when set."""

from __future__ import annotations

import math
import os
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

from ._constants import (
    DEFAULT_BACKLOG,
    DEFAULT_DELIMITER,
    DEFAULT_MAX_EVENT_NAME_LENGTH,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_MESSAGE_TIMEOUT,
    PROFILES,
)
from ._paths import pipe_path
from .errors import IPCConfigError

__all__ = ["CONFIG_KEYS", "Config", "default_socket_root", "pipe_path"]

_ENCODINGS = (
    "utf8",
    "utf-8",
    "ascii",
    "latin1",
    "binary",
    "utf16le",
    "utf-16le",
    "ucs2",
    "ucs-2",
    "base64",
    "base64url",
    "hex",
)
_INTERFACE_KEYS = ("localAddress", "localPort", "family", "hints", "lookup")
_TLS_KEYS = (
    "key",
    "cert",
    "ca",
    "private",
    "public",
    "trustedConnections",
    "requestCert",
    "rejectUnauthorized",
    "passphrase",
    "servername",
    "ciphers",
    "minVersion",
    "maxVersion",
    "dhparam",
    "ecdhCurve",
    "honorCipherOrder",
    "checkServerIdentity",
)


def _safe_segment(value: str) -> str:
    return "".join(c if (c.isalnum() and c.isascii()) or c in "_.-" else "_" for c in value)


def _user_name() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "user"


def default_socket_root() -> str:
    """node-ipc 14's default ``socketRoot``, with its trailing separator.

    ``$XDG_RUNTIME_DIR/node-ipc/`` where that is set, else
    ``<tmpdir>/node-ipc-<uid>/``; on Windows ``/node-ipc-<user>/`` (a pipe
    name prefix). Node's ``os.tmpdir()`` reads ``TMPDIR``, then ``/tmp``.
    """
    if sys.platform == "win32":
        return f"/node-ipc-{_safe_segment(_user_name())}/"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "node-ipc") + os.sep
    tmp = os.environ.get("TMPDIR") or "/tmp"
    if len(tmp) > 1 and tmp.endswith("/"):
        tmp = tmp[:-1]
    uid = os.getuid() if hasattr(os, "getuid") else _safe_segment(_user_name())
    return os.path.join(tmp, f"node-ipc-{uid}") + os.sep


def _hostname() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return "localhost"


# ---------------------------------------------------------------- checks


def _fail(key: str, value: Any, expected: str) -> IPCConfigError:
    return IPCConfigError(f"ipc.config.{key} must be {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(key, value, "a str")
    return value


def _nonempty_str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(key, value, "a non-empty str")
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, value, "True or False")
    return value


def _int_or_inf(least: int, wanted: str) -> Callable[[str, Any], int | float]:
    """A check for an int of at least ``least``, or ``math.inf``."""

    def check(key: str, value: Any) -> int | float:
        if value == math.inf and isinstance(value, float):
            return value
        if not _is_int(value) or value < least:
            raise _fail(key, value, wanted)
        return int(value)

    return check


_limit = _int_or_inf(1, "a positive int or math.inf")
_count = _int_or_inf(0, "an int >= 0 or math.inf")


def _millis(key: str, value: Any) -> int | float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= 0
        or value == math.inf
    ):
        raise _fail(key, value, "a finite number of milliseconds >= 0")
    return value


def _port(key: str, value: Any) -> int:
    if not _is_int(value) or not 0 <= value <= 65535:
        raise _fail(key, value, "an int port in 0..65535")
    return int(value)


def _encoding(key: str, value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in _ENCODINGS:
        raise _fail(key, value, "one of " + ", ".join(_ENCODINGS))
    return value


def _parser(key: str, value: Any) -> str:
    if value not in PROFILES:
        raise _fail(key, value, "one of " + ", ".join(repr(p) for p in PROFILES))
    return str(value)


def _delimiter(key: str, value: Any) -> str:
    return _nonempty_str(key, value)


def _ip_type(key: str, value: Any) -> str:
    if value not in ("IPv4", "IPv6", ""):
        raise _fail(key, value, "'IPv4' or 'IPv6'")
    return str(value)


def _allowed(key: str, value: Any) -> Any:
    if value is False or value is None:
        return False
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value):
        return value
    raise _fail(key, value, "False or a list/set of event names (str)")


def _logger(key: str, value: Any) -> Callable[..., Any]:
    if not callable(value):
        raise _fail(key, value, "a callable taking one str")
    return value  # type: ignore[no-any-return]


def _log_depth(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 0:
        raise _fail(key, value, "an int >= 0 or None (no limit)")
    return int(value)


def _max_connections(key: str, value: Any) -> int | float:
    return _limit(key, value)


def _backlog(key: str, value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise _fail(key, value, "a positive int (the listen backlog)")
    return int(value)


def _tls(key: str, value: Any) -> Any:
    if value is False or value is None:
        return False
    if not isinstance(value, dict):
        raise _fail(key, value, "False or a dict of TLS options")
    unknown = [k for k in value if k not in _TLS_KEYS]
    if unknown:
        raise IPCConfigError(
            f"ipc.config.tls has an unknown key {unknown[0]!r}; known keys: {', '.join(_TLS_KEYS)}"
        )
    return dict(value)


def _interface(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(key, value, "a dict with keys " + ", ".join(_INTERFACE_KEYS))
    unknown = [k for k in value if k not in _INTERFACE_KEYS]
    if unknown:
        raise IPCConfigError(
            f"ipc.config.interface has an unknown key {unknown[0]!r}; "
            f"known keys: {', '.join(_INTERFACE_KEYS)}"
        )
    merged: dict[str, Any] = dict.fromkeys(_INTERFACE_KEYS, False)
    merged.update(value)
    if merged["localPort"] is not False:
        _port("interface.localPort", merged["localPort"])
    if merged["localAddress"] is not False:
        _str("interface.localAddress", merged["localAddress"])
    if merged["family"] not in (False, 4, 6):
        raise _fail("interface.family", merged["family"], "False, 4 or 6")
    if merged["hints"] is not False and (not _is_int(merged["hints"]) or merged["hints"] < 0):
        raise _fail(
            "interface.hints",
            merged["hints"],
            "False or getaddrinfo flags (an int >= 0, e.g. socket.AI_ADDRCONFIG)",
        )
    if merged["lookup"] not in (False, None):
        # Node's dns.lookup replacement has no Python counterpart fastipc
        # could honour: host names are resolved with getaddrinfo.
        raise IPCConfigError(
            f"ipc.config.interface.lookup is not supported (got {merged['lookup']!r}): fastipc "
            "resolves host names with getaddrinfo; pass an IP address as the host, or "
            "getaddrinfo flags in interface.hints"
        )
    merged["lookup"] = False
    return merged


def _default_logger(text: str) -> None:
    print(text, flush=True)


#: key -> (default factory, checker); in node-ipc 14's order.
_SCHEMA: dict[str, tuple[Callable[[], Any], Callable[[str, Any], Any]]] = {
    # where local sockets live
    "appspace": (lambda: "app.", _str),
    "socketRoot": (default_socket_root, _str),
    "id": (_hostname, _nonempty_str),
    "unlink": (lambda: True, _bool),
    "secureSocketRoot": (lambda: True, _bool),
    # who may connect to a local socket; the network address
    "readableAll": (lambda: False, _bool),
    "writableAll": (lambda: False, _bool),
    "networkHost": (lambda: "127.0.0.1", _nonempty_str),
    "networkPort": (lambda: 8000, _port),
    "IPType": (lambda: "IPv4", _ip_type),
    # the wire: framing, parser, encoding
    "delimiter": (lambda: DEFAULT_DELIMITER, _delimiter),
    "parser": (lambda: "fast", _parser),
    "rawBuffer": (lambda: False, _bool),
    "encoding": (lambda: "utf8", _encoding),
    "sync": (lambda: False, _bool),
    # guarded and assured limits
    "maxMessageSize": (lambda: DEFAULT_MAX_MESSAGE_SIZE, _limit),
    "maxPendingBytes": (lambda: DEFAULT_MAX_PENDING_BYTES, _limit),
    "maxEventNameLength": (lambda: DEFAULT_MAX_EVENT_NAME_LENGTH, _limit),
    "messageTimeout": (lambda: DEFAULT_MESSAGE_TIMEOUT, _millis),
    # which events a peer may send; peer identity
    "allowReservedEvents": (lambda: False, _bool),
    "allowedEvents": (lambda: False, _allowed),
    "identifyPeer": (lambda: False, _bool),
    # logging
    "silent": (lambda: False, _bool),
    "logPayloads": (lambda: False, _bool),
    "logDepth": (lambda: 5, _log_depth),
    "logInColor": (lambda: True, _bool),
    "logger": (lambda: _default_logger, _logger),
    # servers: connections
    "maxConnections": (lambda: 100, _max_connections),
    "backlog": (lambda: DEFAULT_BACKLOG, _backlog),
    # clients: retrying
    "retry": (lambda: 500, _millis),
    "maxRetries": (lambda: math.inf, _count),
    "stopRetrying": (lambda: False, _bool),
    # TLS and the client's network interface
    "tls": (lambda: False, _tls),
    "interface": (lambda: dict.fromkeys(_INTERFACE_KEYS, False), _interface),
}


CONFIG_KEYS = tuple(_SCHEMA)
_ALIASES = {"interfaces": "interface"}


class Config:
    """node-ipc's ``ipc.config``: attribute (and item) access to every key.

    Setting an unknown key or a value of the wrong type raises
    [`IPCConfigError`][fastipc.IPCConfigError] at once, naming the key and
    the value. Checks that involve several keys (a profile's rules, TLS
    files) happen when a server or client is created. ``interfaces`` is
    accepted as an alias of ``interface`` (node-ipc's README spells it so).
    Iterating gives every key, in node-ipc's order; ``key in config`` and
    ``config[key]`` work as on a dict.

    Args:
        **values: keys to set at once, each checked as if set on its own;
            the others keep their defaults.

    Raises:
        IPCConfigError: Raised when a key is unknown or its value has the
            wrong type.
    """

    __slots__ = ("_network_host_set", "_values")

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_values", {k: make() for k, (make, _) in _SCHEMA.items()})
        object.__setattr__(self, "_network_host_set", False)
        for key, value in values.items():
            setattr(self, key, value)

    def __getattr__(self, key: str) -> Any:
        key = _ALIASES.get(key, key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"ipc.config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        key = _ALIASES.get(key, key)
        if key not in _SCHEMA:
            raise IPCConfigError(f"ipc.config has no key {key!r}; known keys: {', '.join(_SCHEMA)}")
        self._values[key] = _SCHEMA[key][1](key, value)
        if key == "networkHost":
            object.__setattr__(self, "_network_host_set", True)
        elif key == "IPType" and not self._network_host_set:
            # node-ipc derives the default host from IPType
            self._values["networkHost"] = "::1" if value == "IPv6" else "127.0.0.1"

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return _ALIASES.get(key, key) in self._values

    def copy(self) -> Config:
        """A new ``Config`` holding this one's current values.

        Later changes to either do not reach the other. Dict values
        (``tls``, ``interface``) are copied one level deep; other values,
        such as an ``allowedEvents`` list, are the same objects.

        Servers and clients do not keep a copy: they share the live config
        (``ipc.config``) and read most keys when they need them. What they
        fix when they are made is only the wire settings (parser,
        delimiter, limits, encoding, identifyPeer, logPayloads, sync),
        which fastipc snapshots with this method.

        Returns:
            The copy.
        """
        clone = Config.__new__(Config)
        object.__setattr__(
            clone,
            "_values",
            {k: (dict(v) if isinstance(v, dict) else v) for k, v in self._values.items()},
        )
        object.__setattr__(clone, "_network_host_set", self._network_host_set)
        return clone

    def as_dict(self) -> dict[str, Any]:
        """Every key and its current value, as a new dict.

        Keys come in node-ipc's order, under their own names (``interface``,
        not the alias ``interfaces``). Changing the dict does not change the
        config; the values are the config's own objects, not copies.

        Returns:
            ``{key: value}`` for every key.
        """
        return dict(self._values)

    def __repr__(self) -> str:
        return (
            f"Config({', '.join(f'{k}={v!r}' for k, v in self._values.items() if k != 'logger')})"
        )
