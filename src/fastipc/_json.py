"""The JSON engine under both codecs.

orjson when it is installed (it is a dependency on CPython), the standard
library otherwise; ``FASTIPC_JSON=json`` forces the standard library. Both
engines are held to the same contract, checked by the test suite:

* ``loads(b)`` parses one UTF-8 JSON text like JavaScript's ``JSON.parse``
  (no ``NaN``/``Infinity`` literals, no byte-order marks), integers exact
  within 64 bits (signed or unsigned) and the nearest float beyond, and
  raises ``ValueError`` on anything invalid.
* ``dumps_str(s)`` writes one JSON string literal as ``JSON.stringify``
  does: UTF-8, non-ASCII as itself, ``\\uXXXX`` (lower-case hex) for control
  characters, and for a lone surrogate too.
"""

from __future__ import annotations

import json as _stdlib_json
import os
import re
from collections.abc import Callable
from json.encoder import encode_basestring as _stdlib_quote
from typing import Any

__all__ = ["ENGINE", "dumps_str", "join_surrogate_pairs", "loads", "quote_surrogates"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def join_surrogate_pairs(text: str) -> str:
    """Return ``text`` with each high+low surrogate pair made one character.

    A JavaScript string is UTF-16: a pair is the astral character it encodes,
    so that is what a Python string holding a pair must mean on the wire.
    Lone surrogates are kept.
    """
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def quote_surrogates(text: str) -> bytes:
    """UTF-8 of ``text`` where it is JSON whose strings may hold surrogates.

    A surrogate code point can only sit inside a JSON string literal. Pairs
    are written as the character they form and a lone surrogate as the
    ``\\udxxx`` escape, as ``JSON.stringify`` writes them.
    """
    return _SURROGATE.sub(_escape_surrogate, join_surrogate_pairs(text)).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def _parse_int(text: str) -> int | float:
    # As orjson does (and JSON.parse, which has only doubles): an integer
    # beyond 64 bits arrives as the nearest float.
    value = int(text)
    if _INT_MIN <= value <= _INT_MAX:
        return value
    return float(text)


_stdlib_decoder = _stdlib_json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)


def _stdlib_loads(data: bytes | bytearray | memoryview) -> Any:
    # Decode strictly as UTF-8 ourselves: json.loads(bytes) would sniff
    # UTF-16/32 and accept a BOM, which JSON.parse over a utf8 stream never
    # sees.
    try:
        text = bytes(data).decode("utf-8")
        return _stdlib_decoder.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise ValueError(str(exc)) from None


def _stdlib_dumps_str(text: str) -> bytes:
    quoted: str = _stdlib_quote(text)
    try:
        return quoted.encode("utf-8")
    except UnicodeEncodeError:
        return quote_surrogates(quoted)


ENGINE: str
loads: Callable[[bytes | bytearray | memoryview], Any]
dumps_str: Callable[[str], bytes]

_orjson: Any
try:
    if os.environ.get("FASTIPC_JSON", "").lower() in ("json", "stdlib"):
        raise ImportError("FASTIPC_JSON asks for the standard library")
    import orjson as _orjson
except ImportError:
    _orjson = None

if _orjson is not None:
    _orjson_loads = _orjson.loads
    _orjson_dumps = _orjson.dumps
    _JSONDecodeError = _orjson.JSONDecodeError

    def _fast_loads(data: bytes | bytearray | memoryview) -> Any:
        try:
            return _orjson_loads(data)
        except _JSONDecodeError:
            # orjson refuses a few texts JSON.parse accepts (escaped lone
            # surrogates, integers past 64 bits, nesting past 1024): the
            # standard library settles those, and really bad JSON fails there.
            return _stdlib_loads(data)

    def _fast_dumps_str(text: str) -> bytes:
        try:
            return _orjson_dumps(text)  # type: ignore[no-any-return]
        except TypeError:  # lone surrogate
            return _stdlib_dumps_str(text)

    ENGINE = "orjson"
    loads = _fast_loads
    dumps_str = _fast_dumps_str
else:
    ENGINE = "json"
    loads = _stdlib_loads
    dumps_str = _stdlib_dumps_str
