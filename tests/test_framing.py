"""The codec's contract, run over both implementations (ids cython, python)."""

from __future__ import annotations

import enum
import math

import pytest

from fastipc import (
    OMITTED,
    IPCConfigError,
    IPCEncodeError,
    IPCProtocolError,
)
from fastipc._framing_py import CONTRACT

from .helpers import BAD_FRAMES

FRAME = b'{"type":"message","data":"hello"}\f'


# ---------------------------------------------------------------- contract


def test_contract_names(framing_impl):
    for name in CONTRACT:
        assert hasattr(framing_impl, name), name
    assert framing_impl.IMPLEMENTATION in ("cython", "python")
    assert framing_impl.OMITTED is OMITTED


# ---------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("message", "hello"), FRAME),
        (("ping",), b'{"type":"ping","data":{}}\f'),
        (("ping", OMITTED), b'{"type":"ping","data":{}}\f'),
        (("x", None), b'{"type":"x","data":null}\f'),
        (("x", True), b'{"type":"x","data":true}\f'),
        (("x", False), b'{"type":"x","data":false}\f'),
        (("x", 0), b'{"type":"x","data":0}\f'),
        (("x", -(2**53)), b'{"type":"x","data":-9007199254740992}\f'),
        (("x", 2**70), b'{"type":"x","data":1180591620717411303424}\f'),
        (("x", []), b'{"type":"x","data":[]}\f'),
        (("x", {}), b'{"type":"x","data":{}}\f'),
        (("x", (1, "a")), b'{"type":"x","data":[1,"a"]}\f'),
        (("x", {"a": [1, {"b": None}]}), b'{"type":"x","data":{"a":[1,{"b":null}]}}\f'),
        (("é", "ü€😀"), '{"type":"é","data":"ü€😀"}\f'.encode()),
        (("x", 'q"\\/'), b'{"type":"x","data":"q\\"\\\\/"}\f'),
        (
            ("x", "\f\n\r\t\b\x00\x1f\x7f"),
            b'{"type":"x","data":"\\f\\n\\r\\t\\b\\u0000\\u001f\x7f"}\f',
        ),
        (("x", "\u2028\u2029"), '{"type":"x","data":"\u2028\u2029"}\f'.encode()),
        (("x", "a\ud800b"), b'{"type":"x","data":"a\\ud800b"}\f'),
        (("x", "\udfff\ud83d"), b'{"type":"x","data":"\\udfff\\ud83d"}\f'),
        (("x", "\ud83d\ude00\ud83d"), '{"type":"x","data":"😀\\ud83d"}\f'.encode()),
        (("x", b"\x00\xff"), b'{"type":"x","data":{"type":"Buffer","data":[0,255]}}\f'),
        (("x", bytearray(b"\x01")), b'{"type":"x","data":{"type":"Buffer","data":[1]}}\f'),
        (("x", memoryview(b"")), b'{"type":"x","data":{"type":"Buffer","data":[]}}\f'),
        (("x", "a", "\r\n"), b'{"type":"x","data":"a"}\r\n'),
        (("x", "a", "🙂"), '{"type":"x","data":"a"}🙂'.encode()),
    ],
)
def test_encode_event(framing_impl, args, expected):
    assert framing_impl.encode_event(*args) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (0.0, "0"),
        (1.5, "1.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
        (-1e21, "-1e+21"),
        (1e-6, "0.000001"),
        (1.5e-6, "0.0000015"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.0001, "0.0001"),
        (123.456, "123.456"),
        (-2.5, "-2.5"),
        (math.nan, "null"),
        (math.inf, "null"),
        (-math.inf, "null"),
    ],
)
def test_js_number(framing_impl, value, text):
    assert framing_impl.js_number(value) == text
    frame = framing_impl.encode_event("n", value)
    assert frame == b'{"type":"n","data":' + text.encode() + b"}\f"


def test_dict_keys_follow_javascript(framing_impl):
    enc = framing_impl.encode_event
    # array-index keys first, ascending; others in insertion order
    assert (
        enc("x", {"b": 1, "2": 2, "a": 3, "1": 4})
        == b'{"type":"x","data":{"1":4,"2":2,"b":1,"a":3}}\f'
    )
    # "01" and "4294967295" are not array indices
    assert enc("x", {"01": 1, "4294967295": 2, "4294967294": 3}) == (
        b'{"type":"x","data":{"4294967294":3,"01":1,"4294967295":2}}\f'
    )
    # non-str keys become what String() gives in JavaScript
    assert enc("x", {True: 1, None: 2, 1.5: 3, 2.0: 4, math.nan: 5, -math.inf: 6}) == (
        b'{"type":"x","data":{"2":4,"true":1,"null":2,"1.5":3,"NaN":5,"-Infinity":6}}\f'
    )
    # 1 and "1" name one property, holding the last value, at the first place
    assert enc("x", {1: "a", "k": 0, "1": "b"}) == b'{"type":"x","data":{"1":"b","k":0}}\f'


def test_subclasses_encode_as_their_base(framing_impl):
    class Color(enum.IntEnum):
        RED = 1

    class Name(str, enum.Enum):
        A = "a"

    class D(dict):
        pass

    class L(list):
        pass

    class F(float):
        pass

    frame = framing_impl.encode_event("x", D(c=Color.RED, n=Name.A, l=L([F(2.0)])))
    assert frame == b'{"type":"x","data":{"c":1,"n":"a","l":[2]}}\f'


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({1, 2}, "set"),
        (object(), "object"),
        ({(1, 2): "tuple key"}, "(1, 2)"),
        ([1, 2j], "complex"),
    ],
)
def test_encode_unencodable_names_the_value(framing_impl, data, needle):
    with pytest.raises(IPCEncodeError) as info:
        framing_impl.encode_event("x", data)
    assert needle in str(info.value)
    assert isinstance(info.value, TypeError)


def test_encode_circular_and_deep(framing_impl):
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(IPCEncodeError, match="nested deeper"):
        framing_impl.encode_event("x", loop)
    deep: object = "leaf"
    for _ in range(511):
        deep = [deep]
    assert framing_impl.encode_event("x", deep).count(b"[") == 511
    with pytest.raises(IPCEncodeError):
        framing_impl.encode_event("x", [deep, [deep]] and [[deep]])


def test_encode_bad_type_and_delimiter(framing_impl):
    with pytest.raises(IPCEncodeError, match="event type must be a str"):
        framing_impl.encode_event(5, "x")
    with pytest.raises(IPCConfigError, match="delimiter"):
        framing_impl.encode_event("x", "y", "")
    with pytest.raises(IPCConfigError, match="delimiter"):
        framing_impl.encode_event("x", "y", 5)
    # a delimiter that can occur inside JSON text is refused where it does
    with pytest.raises(IPCEncodeError, match="contains the delimiter"):
        framing_impl.encode_event("x", "a|b", "|")
    assert framing_impl.encode_event("x", "ab", "|") == b'{"type":"x","data":"ab"}|'


# ---------------------------------------------------------------- raw encoding


@pytest.mark.parametrize(
    ("payload", "encoding", "expected"),
    [
        (b"\x00\xff\f", "utf8", b"\x00\xff\f"),
        (bytearray(b"ab"), "hex", b"ab"),
        (memoryview(b"ab"), "utf8", b"ab"),
        ("héllo", "utf8", "héllo".encode()),
        ("héllo", "UTF-8", "héllo".encode()),
        ("\ud800x", "utf8", b"\xef\xbf\xbdx"),
        ("\ud83d\ude00\udc00", "utf8", "😀\ufffd".encode()),
        ("é€x", "ascii", b"\xe9\xacx"),
        ("é€x", "latin1", b"\xe9\xacx"),
        ("é", "binary", b"\xe9"),
        ("😀", "ucs2", b"\x3d\xd8\x00\xde"),
        ("ab", "utf16le", b"a\x00b\x00"),
        ("aGVs bG8=", "base64", b"hello"),
        ("aGVsbG8", "base64", b"hello"),
        ("aGV=sbG8", "base64", b"he"),
        ("a-_b", "base64", b"\x6b\xef\xdb"),
        ("abz1", "hex", b"\xab"),
        ("abc", "hex", b"\xab"),
        ("DEADbeef", "hex", b"\xde\xad\xbe\xef"),
        ([0, 255, 256, -1], "utf8", b"\x00\xff\x00\xff"),
        ((1, 2), "utf8", b"\x01\x02"),
    ],
)
def test_encode_raw(framing_impl, payload, encoding, expected):
    assert framing_impl.encode_raw(payload, encoding) == expected


def test_encode_raw_errors(framing_impl):
    with pytest.raises(IPCConfigError, match="encoding"):
        framing_impl.encode_raw("x", "klingon")
    with pytest.raises(IPCEncodeError, match="raw mode"):
        framing_impl.encode_raw(3.5)
    with pytest.raises(IPCEncodeError, match="item 1"):
        framing_impl.encode_raw([1, "2"])


# ---------------------------------------------------------------- decoding


def test_decode_simple(framing_impl):
    dec = framing_impl.EventDecoder()
    assert dec.feed(FRAME) == [("message", "hello")]
    assert dec.pending == 0
    assert dec.profile == "fast"


def test_decode_keeps_tail_and_splits_delimiters(framing_impl):
    dec = framing_impl.EventDecoder()
    assert dec.feed(FRAME[:10]) == []
    assert dec.pending == 10
    assert dec.feed(FRAME[10:] + FRAME + FRAME[:-1]) == [("message", "hello")] * 2
    assert dec.pending == len(FRAME) - 1
    assert dec.feed(b"\f") == [("message", "hello")]
    assert dec.pending == 0
    assert dec.feed(b"") == []


@pytest.mark.parametrize("delimiter", ["\f", "\r\n", "🙂", "\x00\x01\x00", "END"])
def test_decode_multibyte_delimiter_split_everywhere(framing_impl, delimiter):
    stream = b"".join(
        framing_impl.encode_event(t, d, delimiter)
        for t, d in [("a", 1), ("b", "x y"), ("c", {"k": [1, 2]})]
    )
    for cut in range(len(stream) + 1):
        dec = framing_impl.EventDecoder(delimiter)
        events = dec.feed(stream[:cut]) + dec.feed(stream[cut:])
        assert events == [("a", 1), ("b", "x y"), ("c", {"k": [1, 2]})], cut
        assert dec.pending == 0


def test_decode_one_byte_at_a_time(framing_impl):
    stream = FRAME * 3 + b'{"type":"z","data":[1,{"a":"\xc3\xa9"}]}\f'
    dec = framing_impl.EventDecoder()
    events = []
    for i in range(len(stream)):
        events += dec.feed(stream[i : i + 1])
    assert events == [("message", "hello")] * 3 + [("z", [1, {"a": "é"}])]


def test_decode_accepts_memoryview_and_bytearray(framing_impl):
    dec = framing_impl.EventDecoder()
    assert dec.feed(memoryview(FRAME)) == [("message", "hello")]
    assert dec.feed(bytearray(FRAME)) == [("message", "hello")]


@pytest.mark.parametrize(
    ("frame", "event"),
    [
        (b'{"type":"a","data":"x"}', ("a", "x")),
        (b'{"type":"a"}', ("a", None)),
        (b'{"data":1,"type":"a"}', ("a", 1)),
        (b'{ "type" : "a" , "data" : [ 1 ] }', ("a", [1])),
        (b'{"type":"a","data":1,"extra":2}', ("a", 1)),
        (b'{"type":"a","data":1,"data":2}', ("a", 2)),
        (b'{"type":"a","type":"b","data":0}', ("b", 0)),
        (b'{"type":"a","data":"x","type":"b"}', ("b", "x")),
        (b'{"type":"\\u0061","data":"\\n"}', ("a", "\n")),
        (b'{"type":"a","data":"\\ud800"}', ("a", "\ud800")),
        (b'{"type":"a","data":"\\ud83d\\ude00"}', ("a", "😀")),
        (b'{"type":"a","data":123456789012345678901234567890}', ("a", 1.2345678901234568e29)),
        (b'{"type":"a","data":18446744073709551615}', ("a", 2**64 - 1)),
        (b'{"type":"a","data":-9223372036854775808}', ("a", -(2**63))),
        (b'{"type":"a","data":-9223372036854775809}', ("a", -9.223372036854776e18)),
        (b'{"type":"a","data":1e400}', ("a", math.inf)),
        (b'{"type":"a","data":-0}', ("a", 0)),
        (b'{"type":"a","data":1.5E+2}', ("a", 150.0)),
        (b'{"type":"a","data":{}}', ("a", {})),
        (b'{"type":"a","data":true}', ("a", True)),
        (b'{"type":"a","data":null}', ("a", None)),
        (b'{"type":"a","data":"\xe4\xb8\xad"}', ("a", "中")),
        # node-ipc's Buffer shape becomes bytes, at any depth
        (b'{"type":"a","data":{"type":"Buffer","data":[0,1,255]}}', ("a", b"\x00\x01\xff")),
        (b'{"type":"a","data":[{"type":"Buffer","data":[]}]}', ("a", [b""])),
        (b'{"type":"a","data":{"k":{"type":"Buffer","data":[104,105]}}}', ("a", {"k": b"hi"})),
        # ... but only that exact shape
        (
            b'{"type":"a","data":{"type":"Buffer","data":[256]}}',
            ("a", {"type": "Buffer", "data": [256]}),
        ),
        (
            b'{"type":"a","data":{"type":"Buffer","data":[true]}}',
            ("a", {"type": "Buffer", "data": [True]}),
        ),
        (
            b'{"type":"a","data":{"type":"Buffer","data":[1],"x":1}}',
            ("a", {"type": "Buffer", "data": [1], "x": 1}),
        ),
        (b'{"type":"Buffer","data":[1,2]}', ("Buffer", [1, 2])),
    ],
)
def test_decode_shapes(framing_impl, frame, event):
    dec = framing_impl.EventDecoder()
    got = dec.feed(frame + b"\f")
    assert got == [event]
    assert type(got[0][1]) is type(event[1])


@pytest.mark.parametrize("profile", ["fast", "guarded"])
@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
def test_decode_bad_input(framing_impl, profile, frame, code):
    dec = framing_impl.EventDecoder(profile=profile)
    with pytest.raises(IPCProtocolError) as info:
        dec.feed(FRAME + frame + b"\f" + FRAME)
    assert info.value.code == code
    assert type(info.value).code == code
    # the good event before the bad frame is kept, nothing is held after
    assert info.value.events == [("message", "hello")]
    assert dec.pending == 0
    assert dec.feed(FRAME) == [("message", "hello")]


def test_fast_profile_lets_names_through(framing_impl):
    dec = framing_impl.EventDecoder()
    names = ["connect", "error", "constructor", "__proto__", "x" * 1000]
    stream = b"".join(framing_impl.encode_event(n, 1) for n in names)
    assert [t for t, _ in dec.feed(stream)] == names


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("connect", "ERR_IPC_RESERVED_EVENT"),
        ("socket.disconnected", "ERR_IPC_RESERVED_EVENT"),
        ("data", "ERR_IPC_RESERVED_EVENT"),
        ("error", "ERR_IPC_RESERVED_EVENT"),
        ("__proto__", "ERR_IPC_INVALID_EVENT"),
        ("hasOwnProperty", "ERR_IPC_INVALID_EVENT"),
        ("x" * 257, "ERR_IPC_EVENT_TOO_LARGE"),
        ("😀" * 129, "ERR_IPC_EVENT_TOO_LARGE"),  # 258 UTF-16 code units
    ],
)
def test_guarded_names(framing_impl, name, code):
    dec = framing_impl.EventDecoder(profile="guarded")
    with pytest.raises(IPCProtocolError) as info:
        dec.feed(framing_impl.encode_event(name, 1))
    assert info.value.code == code
    enc = framing_impl.EventEncoder(profile="guarded")
    with pytest.raises(IPCProtocolError) as info:
        enc.encode(name, 1)
    assert info.value.code == code


def test_guarded_limits_are_settable(framing_impl):
    dec = framing_impl.EventDecoder(
        profile="guarded", maxEventNameLength=4, allowReservedEvents=True
    )
    assert dec.feed(framing_impl.encode_event("abcd") + framing_impl.encode_event("data", 1)) == [
        ("abcd", {}),
        ("data", 1),
    ]
    assert framing_impl.EventDecoder(profile="guarded").feed(
        framing_impl.encode_event("😀" * 128)
    ) == [("😀" * 128, {})]
    with pytest.raises(IPCProtocolError) as info:
        dec.feed(framing_impl.encode_event("abcde"))
    assert info.value.code == "ERR_IPC_EVENT_TOO_LARGE"


def test_guarded_frame_size(framing_impl):
    limit = 64
    dec = framing_impl.EventDecoder(profile="guarded", maxMessageSize=limit)
    exact = framing_impl.encode_event("a", "x" * (limit - len(b'{"type":"a","data":""}')))
    assert len(exact) == limit + 1
    assert dec.feed(exact) == [("a", "x" * 42)]
    # one byte too many, complete
    with pytest.raises(IPCProtocolError) as info:
        dec.feed(framing_impl.encode_event("a", "x" * 43))
    assert info.value.code == "ERR_IPC_FRAME_TOO_LARGE"
    assert dec.pending == 0
    # an unfinished frame past the limit is refused before its end arrives
    with pytest.raises(IPCProtocolError) as info:
        dec.feed(b'{"type":"a","data":"' + b"x" * 100)
    assert info.value.code == "ERR_IPC_FRAME_TOO_LARGE"
    assert dec.pending == 0
    # an unfinished frame up to the limit waits
    assert dec.feed(b"y" * limit) == []
    assert dec.pending == limit
    enc = framing_impl.EventEncoder(profile="guarded", maxMessageSize=limit)
    assert enc.encode("a", "x" * 42) == exact
    with pytest.raises(IPCProtocolError) as info:
        enc.encode("a", "x" * 43)
    assert info.value.code == "ERR_IPC_FRAME_TOO_LARGE"


def test_fast_profile_has_no_size_limit(framing_impl):
    big = framing_impl.encode_event("a", "x" * (3 * 1024 * 1024))
    assert framing_impl.EventDecoder(maxMessageSize=10).feed(big) == [
        ("a", "x" * (3 * 1024 * 1024))
    ]


def test_infinite_limits(framing_impl):
    dec = framing_impl.EventDecoder(
        profile="guarded", maxMessageSize=math.inf, maxEventNameLength=math.inf
    )
    assert dec.feed(framing_impl.encode_event("n" * 5000, "x" * 2_000_000)) == [
        ("n" * 5000, "x" * 2_000_000)
    ]


def test_assured(framing_impl):
    with pytest.raises(IPCConfigError, match="allowedEvents"):
        framing_impl.EventDecoder(profile="assured")
    with pytest.raises(IPCConfigError, match="allowedEvents"):
        framing_impl.EventDecoder(profile="assured", allowedEvents=[])
    dec = framing_impl.EventDecoder(
        profile="assured", allowedEvents={"job", "connect"}, allowReservedEvents=True
    )
    assert dec.feed(framing_impl.encode_event("job", 1)) == [("job", 1)]
    for name, code in [
        ("other", "ERR_IPC_EVENT_NOT_ALLOWED"),
        ("connect", "ERR_IPC_RESERVED_EVENT"),  # assured never allows reserved names
        ("", "ERR_IPC_INVALID_EVENT"),
    ]:
        with pytest.raises(IPCProtocolError) as info:
            dec.feed(framing_impl.encode_event(name, 1))
        assert info.value.code == code
    enc = framing_impl.EventEncoder(profile="assured", allowedEvents=["job"])
    assert enc.encode("job") == b'{"type":"job","data":{}}\f'
    with pytest.raises(IPCProtocolError) as info:
        enc.encode("nope")
    assert info.value.code == "ERR_IPC_EVENT_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"profile": "paranoid"}, "parser"),
        ({"delimiter": ""}, "delimiter"),
        ({"delimiter": None}, "delimiter"),
        ({"maxMessageSize": 0}, "maxMessageSize"),
        ({"maxMessageSize": -5}, "maxMessageSize"),
        ({"maxMessageSize": 1.5}, "maxMessageSize"),
        ({"maxMessageSize": True}, "maxMessageSize"),
        ({"maxEventNameLength": "256"}, "maxEventNameLength"),
        ({"allowReservedEvents": "yes"}, "allowReservedEvents"),
        ({"allowedEvents": "job"}, "allowedEvents"),
        ({"allowedEvents": [1]}, "allowedEvents"),
    ],
)
def test_config_errors_name_the_key(framing_impl, kwargs, key):
    with pytest.raises(IPCConfigError, match=key):
        framing_impl.EventDecoder(**kwargs)
    with pytest.raises(IPCConfigError, match=key):
        framing_impl.EventEncoder(**kwargs)


def test_raw_profile_passes_bytes(framing_impl):
    dec = framing_impl.EventDecoder(profile="raw")
    assert dec.profile == "raw"
    assert dec.feed(b"\xff\x00\f{") == [("data", b"\xff\x00\f{")]
    assert dec.feed(b"") == []
    assert dec.pending == 0


def test_reset(framing_impl):
    dec = framing_impl.EventDecoder()
    dec.feed(FRAME[:5])
    dec.reset()
    assert dec.pending == 0
    assert dec.feed(FRAME) == [("message", "hello")]


def test_large_frame_in_chunks(framing_impl):
    payload = "é" * (3 * 1024 * 1024)
    frame = framing_impl.encode_event("big", payload)
    dec = framing_impl.EventDecoder()
    events = []
    for i in range(0, len(frame), 65536):
        events += dec.feed(frame[i : i + 65536])
    assert events == [("big", payload)]
    assert dec.pending == 0
