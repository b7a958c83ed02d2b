# cython: language_level=3
"""The compiled codec: node-ipc's framing and JSON envelope, sans I/O.

This module and the pure-Python ``_framing_py`` define the same public names
(``CONTRACT``) with the same behaviour, checked by one test suite run over
both. Here the work a busy connection repeats for every frame is done in C:

* ``EventDecoder.feed`` keeps the unfinished tail in a buffer of its own and
  searches each byte for the delimiter once (``memchr``, plus ``memcmp`` for a
  delimiter longer than a byte). Complete frames are decoded straight out of
  the chunk they arrived in; only the unfinished tail is copied.
* A frame shaped as node-ipc writes it, ``{"type":"<T>","data":<D>}``, is
  split without building the envelope: the type and a plain string, ``{}``,
  ``null``, ``true``, ``false`` or small integer ``data`` are decoded
  directly, other ``data`` is parsed on its own. Anything else gets the same
  full parse as the twin.
* ``encode_event`` writes the frame into one buffer with a JSON writer that
  prints strings, numbers, lists and dicts exactly as ``JSON.stringify`` and
  the twin do.

Rare paths (error messages, dicts whose keys JavaScript would reorder,
subclasses, config validation, raw mode) call the twin's helpers, so the two
cannot drift apart there.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.conversion cimport PyOS_double_to_string
from cpython.dict cimport PyDict_Next, PyDict_Size
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.number cimport PyNumber_Float
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject, PyObject_IsInstance
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport (
    PyUnicode_Check,
    PyUnicode_CheckExact,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.math cimport INFINITY
from libc.string cimport memchr, memcmp, memcpy, memset

from fastipc import _framing_py as _py
from fastipc import _json
from fastipc._constants import (
    DEFAULT_DELIMITER,
    DEFAULT_MAX_EVENT_NAME_LENGTH,
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_DEPTH,
    OMITTED,
    RESERVED_EVENTS,
    UNSAFE_EVENTS,
)
from fastipc.errors import IPCEncodeError, IPCProtocolError, protocol_error

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    const Py_ssize_t PY_SSIZE_T_MAX

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* Make sure a str has its PEP 393 form (a no-op from Python 3.12). */
    static CYTHON_INLINE int fastipc_str_ready(PyObject *s) {
    #if PY_VERSION_HEX < 0x030C0000
        return PyUnicode_READY(s);
    #else
        (void)s;
        return 0;
    #endif
    }

    /* The length of the longest prefix of p[0:n] holding no '"', no '\\\\'
       and no byte below 0x20: the bytes a JSON string literal carries as
       they are. Eight bytes per step while none of them is such a byte. */
    static CYTHON_INLINE Py_ssize_t fastipc_plain_run(const unsigned char *p, Py_ssize_t n) {
        const uint64_t ones = 0x0101010101010101ULL;
        const uint64_t highs = 0x8080808080808080ULL;
        Py_ssize_t i = 0;
        while (i + 8 <= n) {
            uint64_t w, q, b;
            memcpy(&w, p + i, 8);
            q = w ^ (ones * 0x22);
            b = w ^ (ones * 0x5C);
            if ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
                break;
            i += 8;
        }
        while (i < n && p[i] >= 0x20 && p[i] != 0x22 && p[i] != 0x5C)
            i++;
        return i;
    }

    /* Strict UTF-8 decode; `otherwise` (a new reference) when the bytes are
       not UTF-8, NULL with the error set on any other failure. */
    static PyObject *fastipc_utf8_or(const char *s, Py_ssize_t n, PyObject *otherwise) {
        PyObject *r = PyUnicode_DecodeUTF8(s, n, NULL);
        if (r == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyErr_Clear();
            Py_INCREF(otherwise);
            return otherwise;
        }
        return r;
    }
    """
    int fastipc_str_ready(object s) except -1
    Py_ssize_t fastipc_plain_run(const unsigned char *p, Py_ssize_t n) noexcept nogil
    object fastipc_utf8_or(const char *s, Py_ssize_t n, object otherwise)

__all__ = [
    "IMPLEMENTATION",
    "OMITTED",
    "encode_event",
    "encode_raw",
    "js_number",
    "EventDecoder",
    "EventEncoder",
]

#: The codec implementation: ``'cython'`` (the compiled
#: ``fastipc._framing``) or ``'python'`` (the pure-Python
#: ``fastipc._framing_py``). ``fastipc.framing.IMPLEMENTATION`` is that of
#: the codec it loaded; ``FASTIPC_NO_EXTENSIONS=1`` forces ``'python'``.
IMPLEMENTATION = "cython"

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

# The twin's rare-path helpers, bound once.
_Profile = _py._Profile
_delimiter_bytes = _py._delimiter_bytes
_js_items = _py._js_items
_revive_buffers = _py._revive_buffers
_short_repr = _py._short_repr

cdef object _loads = _json.loads
cdef object _quote = _json.dumps_str
cdef object _OMITTED = OMITTED
cdef object _DEFAULT_DELIMITER = DEFAULT_DELIMITER
cdef object _NOT_DECODED = object()  # "take the full parse" marker
cdef frozenset _UNSAFE = frozenset(UNSAFE_EVENTS)
cdef frozenset _RESERVED = frozenset(RESERVED_EVENTS)
cdef tuple _CONTAINERS = (dict, list, tuple)
cdef tuple _BYTES_LIKE = (bytes, bytearray, memoryview)
cdef bytes _FORM_FEED = b"\f"
cdef int _MAX_DEPTH = MAX_DEPTH
cdef str _TOO_DEEP = (
    f"cannot encode data nested deeper than {MAX_DEPTH} levels "
    "(or holding a reference to itself)"
)

# Frames whose data is a list or an object longer than this are parsed
# whole, so that nesting near the JSON engines' depth limits gives the twin's
# result; the envelope is a small cost next to parsing that much data.
cdef enum:
    _SPLIT_LIMIT = 1024
    # A decoder buffer above this size is shrunk once it holds little.
    _SHRINK_ABOVE = 4 * 1024 * 1024
    # Slots of the decoder's cache of event types.
    _NAME_CACHE = 16

cdef const char *_HEX = b"0123456789abcdef"
# The short escapes JSON.stringify writes; 0 where it writes \u00XX.
cdef char _SHORT_ESCAPE[0x20]


cdef void _init_tables() noexcept:
    cdef int c
    for c in range(0x20):
        _SHORT_ESCAPE[c] = 0
    _SHORT_ESCAPE[0x08] = b"b"
    _SHORT_ESCAPE[0x09] = b"t"
    _SHORT_ESCAPE[0x0A] = b"n"
    _SHORT_ESCAPE[0x0C] = b"f"
    _SHORT_ESCAPE[0x0D] = b"r"


_init_tables()


# --------------------------------------------------------------------------
# the output buffer of the encoder

cdef struct _Out:
    char *data
    Py_ssize_t length
    Py_ssize_t capacity
    char small[512]


cdef inline void _out_init(_Out *o) noexcept:
    o.data = o.small
    o.length = 0
    o.capacity = sizeof(o.small)


cdef inline void _out_release(_Out *o) noexcept:
    if o.data != o.small:
        PyMem_Free(o.data)
    o.data = o.small


cdef int _out_grow(_Out *o, Py_ssize_t extra) except -1:
    cdef Py_ssize_t need = o.length + extra
    cdef Py_ssize_t capacity = o.capacity * 2
    cdef char *data
    if capacity < need:
        capacity = need
    if o.data == o.small:
        data = <char *>PyMem_Malloc(capacity)
        if data != NULL:
            memcpy(data, o.small, o.length)
    else:
        data = <char *>PyMem_Realloc(o.data, capacity)
    if data == NULL:
        raise MemoryError()
    o.data = data
    o.capacity = capacity
    return 0


cdef inline int _reserve(_Out *o, Py_ssize_t extra) except -1:
    if o.length + extra > o.capacity:
        _out_grow(o, extra)
    return 0


cdef inline int _put(_Out *o, const char *text, Py_ssize_t n) except -1:
    if o.length + n > o.capacity:
        _out_grow(o, n)
    memcpy(o.data + o.length, text, n)
    o.length += n
    return 0


cdef inline int _put_bytes(_Out *o, bytes text) except -1:
    return _put(o, PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text))


cdef int _put_ascii(_Out *o, str text) except -1:
    # `text` is the repr of an int: ASCII.
    fastipc_str_ready(text)
    return _put(o, <const char *>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text))


# --------------------------------------------------------------------------
# JSON writer

cdef inline void _put_escape(_Out *o, unsigned int c) noexcept:
    # The escape JSON.stringify writes for c (a control character, '"', '\\'
    # or a lone surrogate); the caller reserved 6 bytes.
    cdef char *w = o.data + o.length
    w[0] = b"\\"
    if c == 0x22 or c == 0x5C:
        w[1] = <char>c
        o.length += 2
    elif c < 0x20 and _SHORT_ESCAPE[c]:
        w[1] = _SHORT_ESCAPE[c]
        o.length += 2
    else:
        w[1] = b"u"
        w[2] = _HEX[(c >> 12) & 15]
        w[3] = _HEX[(c >> 8) & 15]
        w[4] = _HEX[(c >> 4) & 15]
        w[5] = _HEX[c & 15]
        o.length += 6


cdef int _write_ascii_str(_Out *o, const unsigned char *s, Py_ssize_t n) except -1:
    # Strings are most of what is sent: copy runs of plain bytes whole,
    # found eight bytes at a time, and escape the rest one by one.
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t run
    _reserve(o, n + 2)
    o.data[o.length] = b'"'
    o.length += 1
    while True:
        run = fastipc_plain_run(s + i, n - i)
        memcpy(o.data + o.length, s + i, run)
        o.length += run
        i += run
        if i >= n:
            break
        _reserve(o, 6 + n - i)
        _put_escape(o, s[i])
        i += 1
    o.data[o.length] = b'"'
    o.length += 1
    return 0


cdef int _write_str(_Out *o, object s) except -1:
    # One JSON string literal as JSON.stringify writes it: UTF-8, non-ASCII
    # as itself, a surrogate pair as the character it forms and a lone
    # surrogate as \udxxx (what the twin writes too).
    cdef Py_ssize_t n, i
    cdef unsigned int kind
    cdef void *data
    cdef unsigned int c, low
    cdef char *w
    fastipc_str_ready(s)
    n = PyUnicode_GET_LENGTH(s)
    data = PyUnicode_DATA(s)
    if PyUnicode_IS_ASCII(s):
        return _write_ascii_str(o, <const unsigned char *>data, n)
    kind = PyUnicode_KIND(s)
    _reserve(o, n * (kind + 1 if kind < 4 else 4) + 2)
    o.data[o.length] = b'"'
    o.length += 1
    i = 0
    while i < n:
        c = PyUnicode_READ(kind, data, i)
        i += 1
        w = o.data + o.length
        if c < 0x80:
            if c < 0x20 or c == 0x22 or c == 0x5C:
                _reserve(o, 6 + (n - i) * 4)
                _put_escape(o, c)
            else:
                w[0] = <char>c
                o.length += 1
            continue
        if c < 0x800:
            w[0] = <char>(0xC0 | (c >> 6))
            w[1] = <char>(0x80 | (c & 0x3F))
            o.length += 2
            continue
        if 0xD800 <= c <= 0xDFFF:
            # A high+low pair is the astral character a JavaScript string
            # holds; a lone surrogate is written \udxxx.
            low = PyUnicode_READ(kind, data, i) if c <= 0xDBFF and i < n else 0
            if not 0xDC00 <= low <= 0xDFFF:
                _reserve(o, 6 + (n - i) * 4)
                _put_escape(o, c)
                continue
            c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00)
            i += 1
        if c < 0x10000:
            w[0] = <char>(0xE0 | (c >> 12))
            w[1] = <char>(0x80 | ((c >> 6) & 0x3F))
            w[2] = <char>(0x80 | (c & 0x3F))
            o.length += 3
        else:
            w[0] = <char>(0xF0 | (c >> 18))
            w[1] = <char>(0x80 | ((c >> 12) & 0x3F))
            w[2] = <char>(0x80 | ((c >> 6) & 0x3F))
            w[3] = <char>(0x80 | (c & 0x3F))
            o.length += 4
    _reserve(o, 1)
    o.data[o.length] = b'"'
    o.length += 1
    return 0


cdef int _write_key(_Out *o, object key) except -1:
    if PyUnicode_Check(key):
        return _write_str(o, key)
    return _put_bytes(o, _quote(key))  # raises as the twin does


cdef int _write_int(_Out *o, object value) except -1:
    # `value` is an exact int: its decimal form, any size.
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef unsigned long long u
    cdef char digits[24]
    cdef int i = 24
    if overflow:
        return _put_ascii(o, int.__repr__(value))
    u = (0ULL - <unsigned long long>v) if v < 0 else <unsigned long long>v
    while True:
        i -= 1
        digits[i] = <char>(48 + u % 10)
        u //= 10
        if u == 0:
            break
    if v < 0:
        i -= 1
        digits[i] = b"-"
    return _put(o, digits + i, 24 - i)


cdef int _write_double(_Out *o, double x) except -1:
    # Number#toString: Python's repr and JavaScript both print the shortest
    # digits that round-trip; re-lay them out where JavaScript's rules (an
    # exponent only from 1e21 up or below 1e-6) differ from repr's.
    cdef char *text
    cdef char *s
    cdef char digits[40]
    cdef char out[48]
    cdef int k = 0, int_len = 0, exponent = 0, lead = 0, point, n = 0
    cdef bint neg, in_fraction = False, exp_neg = False
    if x != x or x == INFINITY or x == -INFINITY:
        return _put(o, b"null", 4)
    if x == 0.0:
        return _put(o, b"0", 1)
    text = PyOS_double_to_string(x, b"r", 0, 0, NULL)
    s = text
    neg = s[0] == b"-"
    if neg:
        s += 1
    while (b"0" <= s[0] <= b"9" or s[0] == b".") and k < 40:
        if s[0] == b".":
            in_fraction = True
        else:
            digits[k] = s[0]
            k += 1
            if not in_fraction:
                int_len += 1
        s += 1
    if s[0] == b"e":
        s += 1
        if s[0] == b"-" or s[0] == b"+":
            exp_neg = s[0] == b"-"
            s += 1
        while b"0" <= s[0] <= b"9":
            exponent = exponent * 10 + (s[0] - 48)
            s += 1
    PyMem_Free(text)
    if exp_neg:
        exponent = -exponent
    point = int_len + exponent  # value = 0.<digits> * 10**point
    while k > 0 and digits[k - 1] == b"0":
        k -= 1
    while lead < k and digits[lead] == b"0":
        lead += 1
    point -= lead
    k -= lead
    if neg:
        out[n] = b"-"
        n += 1
    if k <= point <= 21:
        memcpy(out + n, digits + lead, k)
        n += k
        memset(out + n, b"0", point - k)
        n += point - k
    elif 0 < point <= 21:
        memcpy(out + n, digits + lead, point)
        n += point
        out[n] = b"."
        n += 1
        memcpy(out + n, digits + lead + point, k - point)
        n += k - point
    elif -6 < point <= 0:
        out[n] = b"0"
        out[n + 1] = b"."
        n += 2
        memset(out + n, b"0", -point)
        n += -point
        memcpy(out + n, digits + lead, k)
        n += k
    else:
        out[n] = digits[lead]
        n += 1
        if k > 1:
            out[n] = b"."
            n += 1
            memcpy(out + n, digits + lead + 1, k - 1)
            n += k - 1
        exponent = point - 1
        out[n] = b"e"
        out[n + 1] = b"-" if exponent < 0 else b"+"
        n += 2
        if exponent < 0:
            exponent = -exponent
        if exponent >= 100:
            out[n] = <char>(48 + exponent // 100)
            n += 1
        if exponent >= 10:
            out[n] = <char>(48 + exponent // 10 % 10)
            n += 1
        out[n] = <char>(48 + exponent % 10)
        n += 1
    return _put(o, out, n)


cdef int _write_buffer(_Out *o, const unsigned char *b, Py_ssize_t n) except -1:
    # What JSON.stringify writes for a Node Buffer.
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef char *w
    _reserve(o, 27 + 4 * n)
    _put(o, b'{"type":"Buffer","data":[', 25)
    w = o.data + o.length
    for i in range(n):
        if i:
            w[0] = b","
            w += 1
        c = b[i]
        if c >= 100:
            w[0] = <char>(48 + c // 100)
            w += 1
        if c >= 10:
            w[0] = <char>(48 + c // 10 % 10)
            w += 1
        w[0] = <char>(48 + c % 10)
        w += 1
    w[0] = b"]"
    w[1] = b"}"
    o.length = w + 2 - o.data
    return 0


cdef bint _is_index_key(str key) noexcept:
    # JavaScript lists keys that are array indices ("0" to "4294967294")
    # first; see the twin's _js_items.
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(key), i
    cdef unsigned int kind
    cdef void *data
    cdef unsigned int c
    cdef unsigned long long value = 0
    if n == 0 or n > 10:
        return False
    kind = PyUnicode_KIND(key)
    data = PyUnicode_DATA(key)
    c = PyUnicode_READ(kind, data, 0)
    if c < 48 or c > 57 or (c == 48 and n > 1):
        return False
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c < 48 or c > 57:
            return False
        value = value * 10 + (c - 48)
    return value <= 4294967294ULL


cdef int _write_dict(_Out *o, dict d, int depth) except -1:
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t size = PyDict_Size(d)
    cdef PyObject *k = NULL
    cdef PyObject *v = NULL
    cdef bint first = True
    cdef object key, value
    # Keys JavaScript would reorder or convert go through the twin's rules.
    while PyDict_Next(d, &pos, &k, &v):
        key = <object>k
        if not PyUnicode_CheckExact(key) or _is_index_key(<str>key):
            return _write_items(o, _js_items(d), depth)
    _put(o, b"{", 1)
    pos = 0
    while PyDict_Next(d, &pos, &k, &v):
        key = <object>k
        value = <object>v
        if not first:
            _put(o, b",", 1)
        first = False
        _write_str(o, key)
        _put(o, b":", 1)
        _write_value(o, value, depth + 1)
        if PyDict_Size(d) != size:
            raise RuntimeError("dictionary changed size during iteration")
    return _put(o, b"}", 1)


cdef int _write_items(_Out *o, object items, int depth) except -1:
    cdef bint first = True
    _put(o, b"{", 1)
    for key, value in items:
        if not first:
            _put(o, b",", 1)
        first = False
        _write_key(o, key)
        _put(o, b":", 1)
        _write_value(o, value, depth + 1)
    return _put(o, b"}", 1)


cdef int _write_list(_Out *o, list items, int depth) except -1:
    cdef Py_ssize_t i = 0
    _put(o, b"[", 1)
    while i < len(items):  # re-read: a subclass's __iter__ may change it
        if i:
            _put(o, b",", 1)
        _write_value(o, items[i], depth + 1)
        i += 1
    return _put(o, b"]", 1)


cdef int _write_tuple(_Out *o, tuple items, int depth) except -1:
    cdef Py_ssize_t i
    _put(o, b"[", 1)
    for i in range(len(items)):
        if i:
            _put(o, b",", 1)
        _write_value(o, items[i], depth + 1)
    return _put(o, b"]", 1)


cdef int _write_iterable(_Out *o, object items, int depth) except -1:
    cdef bint first = True
    _put(o, b"[", 1)
    for value in items:
        if not first:
            _put(o, b",", 1)
        first = False
        _write_value(o, value, depth + 1)
    return _put(o, b"]", 1)


cdef int _write_value(_Out *o, object obj, int depth) except -1:
    # Exact built-in types first, in one type lookup each; everything else
    # (subclasses, bytes-likes, unknown types) follows the twin's order.
    cdef type kind = type(obj)
    cdef bytes raw
    if kind is str:
        return _write_str(o, obj)
    if obj is None:
        return _put(o, b"null", 4)
    if obj is True:
        return _put(o, b"true", 4)
    if obj is False:
        return _put(o, b"false", 5)
    if kind is int:
        return _write_int(o, obj)
    if kind is float:
        return _write_double(o, PyFloat_AS_DOUBLE(obj))
    if kind is dict or kind is list or kind is tuple:
        if depth >= _MAX_DEPTH:
            raise IPCEncodeError(_TOO_DEEP)
        if kind is dict:
            return _write_dict(o, obj, depth)
        if kind is list:
            return _write_list(o, obj, depth)
        return _write_tuple(o, obj, depth)
    if kind is bytes:
        return _write_buffer(
            o, <const unsigned char *>PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj)
        )
    if kind is bytearray:
        return _write_buffer(
            o, <const unsigned char *>PyByteArray_AS_STRING(obj), PyByteArray_GET_SIZE(obj)
        )
    # isinstance() as Python spells it (PyObject_IsInstance honours
    # __class__), in the twin's order.
    if PyObject_IsInstance(obj, _CONTAINERS):
        if depth >= _MAX_DEPTH:
            raise IPCEncodeError(_TOO_DEEP)
        if PyObject_IsInstance(obj, dict):
            return _write_items(o, _js_items(obj), depth)
        return _write_iterable(o, obj, depth)
    if PyObject_IsInstance(obj, str):
        return _write_str(o, str.__str__(obj))
    if PyObject_IsInstance(obj, int):  # bool handled above; IntEnum and co.
        return _put_ascii(o, int.__repr__(obj))
    if PyObject_IsInstance(obj, float):
        return _write_double(o, PyFloat_AS_DOUBLE(PyNumber_Float(obj)))
    if PyObject_IsInstance(obj, _BYTES_LIKE):
        raw = bytes(obj)
        return _write_buffer(o, <const unsigned char *>PyBytes_AS_STRING(raw), len(raw))
    raise IPCEncodeError(
        f"cannot encode value {_short_repr(obj)} of type {kind.__name__}: "
        "data must be str, int, float, bool, None, bytes, list, tuple or dict"
    )


# --------------------------------------------------------------------------
# delimiters

cdef inline Py_ssize_t _search(
    const char *p, Py_ssize_t n, Py_ssize_t pos, const char *d, Py_ssize_t dlen
) noexcept:
    # The first d in p[pos:n], or -1: memchr finds candidates for the first
    # byte, memcmp confirms the rest (memmem is missing on Windows).
    cdef const char *hit
    cdef Py_ssize_t last = n - dlen
    if dlen == 1:
        if pos >= n:
            return -1
        hit = <const char *>memchr(p + pos, d[0], n - pos)
        return -1 if hit == NULL else hit - p
    while pos <= last:
        hit = <const char *>memchr(p + pos, d[0], last - pos + 1)
        if hit == NULL:
            return -1
        if memcmp(hit + 1, d + 1, dlen - 1) == 0:
            return hit - p
        pos = hit - p + 1
    return -1


cdef bint _needs_delimiter_check(bytes delim) noexcept:
    # Compact JSON never holds a raw byte below 0x20 (strings escape them),
    # so a delimiter made only of such bytes can never occur inside a frame.
    cdef const unsigned char *d = <const unsigned char *>PyBytes_AS_STRING(delim)
    cdef Py_ssize_t i
    for i in range(PyBytes_GET_SIZE(delim)):
        if d[i] >= 0x20:
            return True
    return False


cdef bint _has_buffer_mark(const char *p, Py_ssize_t n) noexcept:
    # Whether the frame holds the bytes "Buffer": only then can its data
    # hold a Node Buffer to revive (the twin's test, byte for byte).
    cdef Py_ssize_t i = 1
    cdef const char *hit
    while i + 7 <= n:
        hit = <const char *>memchr(p + i, b"B", n - 7 - i + 1)
        if hit == NULL:
            return False
        if (hit - 1)[0] == b'"' and memcmp(hit + 1, b'uffer"', 6) == 0:
            return True
        i = hit - p + 1
    return False


# --------------------------------------------------------------------------
# encoding

cdef bytes _encode_event(object name, object data, object delimiter, bytes delim):
    # One frame into one buffer, copied once into the bytes returned. `delim`
    # is the delimiter's bytes when the caller has them, else None.
    cdef _Out out
    cdef Py_ssize_t body
    if not PyUnicode_Check(name) and not PyObject_IsInstance(name, str):
        raise IPCEncodeError(
            f"event type must be a str, got {type(name).__name__} {_short_repr(name)}"
        )
    if delim is None:
        if delimiter is _DEFAULT_DELIMITER:
            delim = _FORM_FEED
        else:
            delim = _delimiter_bytes(delimiter)
    _out_init(&out)
    try:
        _put(&out, b'{"type":', 8)
        if PyUnicode_Check(name):
            _write_str(&out, name)
        else:  # claims to be a str through __class__: as the twin, or fail as it does
            _put_bytes(&out, _quote(name))
        _put(&out, b',"data":', 8)
        if data is _OMITTED:
            _put(&out, b"{}", 2)
        else:
            _write_value(&out, data, 0)
        _put(&out, b"}", 1)
        body = out.length
        if _needs_delimiter_check(delim) and _search(
            out.data, body, 0, PyBytes_AS_STRING(delim), PyBytes_GET_SIZE(delim)
        ) >= 0:
            raise IPCEncodeError(
                f"the encoded event {name!r} contains the delimiter {delimiter!r}; "
                "a peer would split it in two"
            )
        _put_bytes(&out, delim)
        return PyBytes_FromStringAndSize(out.data, out.length)
    finally:
        _out_release(&out)


def encode_event(type, data=OMITTED, delimiter=DEFAULT_DELIMITER):
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
    return _encode_event(type, data, delimiter, None)


def encode_raw(payload, encoding="utf8"):
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
    if type(payload) is bytes:
        return payload
    return _py.encode_raw(payload, encoding)


def js_number(value):
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
    cdef _Out out
    if type(value) is not float:
        return _py.js_number(value)
    _out_init(&out)
    _write_double(&out, PyFloat_AS_DOUBLE(value))
    return out.data[:out.length].decode("ascii")


# --------------------------------------------------------------------------
# profile checks

cdef Py_ssize_t _as_limit(object value):
    # The twin's limits are positive ints or math.inf; past Py_ssize_t is
    # as good as no limit.
    if isinstance(value, float) or value > PY_SSIZE_T_MAX:
        return PY_SSIZE_T_MAX
    return value


cdef class _Checks:
    """A parser profile's rules in C fields; the twin's _Profile raises."""

    cdef object rules
    cdef bint guarded
    cdef bint allow_reserved
    cdef Py_ssize_t max_size
    cdef Py_ssize_t max_name
    cdef object allowed

    def __init__(self, rules):
        self.rules = rules
        self.guarded = rules.guarded
        self.allow_reserved = rules.allow_reserved
        self.max_size = _as_limit(rules.max_message_size)
        self.max_name = _as_limit(rules.max_event_name_length)
        self.allowed = rules.allowed

    cdef int check_name(self, object name) except -1:
        # Every frame's type comes through here: a non-empty str is all the
        # fast profile asks; guarded adds a length and a few set lookups.
        # On a violation the twin's check_type raises the error.
        cdef Py_ssize_t n, units, i
        cdef void *data
        if type(name) is not str or PyUnicode_GET_LENGTH(name) == 0:
            self.rules.check_type(name)
            return 0
        if not self.guarded:
            return 0
        fastipc_str_ready(name)
        n = PyUnicode_GET_LENGTH(name)
        units = n
        if PyUnicode_KIND(name) == 4:  # astral characters are two UTF-16 units
            data = PyUnicode_DATA(name)
            for i in range(n):
                if PyUnicode_READ(4, data, i) > 0xFFFF:
                    units += 1
        if (
            units > self.max_name
            or name in _UNSAFE
            or (not self.allow_reserved and name in _RESERVED)
            or (self.allowed is not None and name not in self.allowed)
        ):
            self.rules.check_type(name)
        return 0

    cdef inline int check_size(self, Py_ssize_t size, bint unfinished) except -1:
        if size > self.max_size:
            self.rules.check_size(size, unfinished)
        return 0


cdef _Checks _make_checks(
    profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents
):
    return _Checks(
        _Profile(profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents)
    )


# --------------------------------------------------------------------------
# decoding

cdef object _small_int(const unsigned char *p, Py_ssize_t n):
    # A JSON integer of at most 18 digits, which every engine returns as an
    # exact int; anything else is left to the engine.
    cdef Py_ssize_t i = 0
    cdef long long value = 0
    cdef bint neg = p[0] == b"-"
    if neg:
        i = 1
    if n - i < 1 or n - i > 18 or (p[i] == b"0" and n - i > 1):
        return _NOT_DECODED
    while i < n:
        if not (b"0" <= p[i] <= b"9"):
            return _NOT_DECODED
        value = value * 10 + (p[i] - 48)
        i += 1
    return PyLong_FromLongLong(-value if neg else value)


cdef class EventDecoder:
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

    cdef _Checks _checks
    cdef bytes _delim
    cdef const char *_d
    cdef Py_ssize_t _dlen
    cdef bint _raw
    cdef bint _guarded
    cdef Py_ssize_t _max_size
    # The unfinished tail: _buf[0:_len], of _cap bytes allocated; bytes
    # before _scan were searched for a delimiter already.
    cdef char *_buf
    cdef Py_ssize_t _len
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _scan
    # Set while feed() runs: a second feed() at the same time (another
    # thread, while the JSON engine runs Python code) would pull the buffer
    # from under the first, so it is refused.
    cdef bint _busy
    # Event types decoded lately (ASCII, checked): most streams repeat a few.
    cdef PyObject *_names[_NAME_CACHE]

    def __init__(
        self,
        delimiter=DEFAULT_DELIMITER,
        profile="fast",
        maxMessageSize=DEFAULT_MAX_MESSAGE_SIZE,
        maxEventNameLength=DEFAULT_MAX_EVENT_NAME_LENGTH,
        allowReservedEvents=False,
        allowedEvents=None,
    ):
        cdef int i
        self._checks = _make_checks(
            profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents
        )
        self._delim = _delimiter_bytes(delimiter)
        self._d = PyBytes_AS_STRING(self._delim)
        self._dlen = PyBytes_GET_SIZE(self._delim)
        self._raw = profile == "raw"
        self._guarded = self._checks.guarded
        self._max_size = self._checks.max_size
        self._len = 0
        self._scan = 0
        for i in range(_NAME_CACHE):
            Py_XDECREF(self._names[i])
            self._names[i] = NULL

    def __dealloc__(self):
        cdef int i
        PyMem_Free(self._buf)
        for i in range(_NAME_CACHE):
            Py_XDECREF(self._names[i])

    @property
    def profile(self):
        """The parser profile this decoder applies."""
        return self._checks.rules.profile

    @property
    def pending(self):
        """Bytes held: the unfinished frame waiting for its delimiter."""
        return self._len

    def reset(self):
        """Forget any unfinished frame.

        ``pending`` becomes ``0`` and the next ``feed`` starts a new frame;
        events already returned are not affected. ``feed`` does this itself
        when it raises a protocol error.
        """
        self._len = 0
        self._scan = 0
        if self._cap > 65536 and not self._busy:
            PyMem_Free(self._buf)
            self._buf = NULL
            self._cap = 0

    def feed(self, chunk):
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
        cdef Py_buffer view
        cdef list events
        cdef Py_ssize_t held, scan
        if self._raw:
            return [("data", bytes(chunk))] if len(chunk) else []
        if self._busy or self._checks is None:
            raise RuntimeError(
                "EventDecoder.feed() is already running (from another thread?)"
                if self._busy
                else "EventDecoder.__init__() was not called"
            )
        try:
            PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE)
        except Exception:
            raise TypeError(
                f"can't concat {type(chunk).__name__} to bytearray"
            ) from None
        events = []
        held = self._len
        scan = self._scan
        self._busy = True
        try:
            self._consume(<const char *>view.buf, view.len, events)
        except IPCProtocolError as exc:
            self._busy = False
            exc.events = events
            self.reset()
            raise
        except BaseException:
            # As the twin leaves it: the whole chunk appended, nothing consumed.
            self._len = held
            self._scan = scan
            self._append(<const char *>view.buf, view.len)
            raise
        finally:
            self._busy = False
            PyBuffer_Release(&view)
        return events

    cdef int _reserve(self, Py_ssize_t need) except -1:
        # Geometric growth: a frame arriving in many chunks costs amortised
        # linear time.
        cdef Py_ssize_t cap
        cdef char *buf
        if need <= self._cap:
            return 0
        cap = self._cap * 2 if self._cap else 4096
        if cap < need:
            cap = need
        buf = <char *>PyMem_Realloc(self._buf, cap)
        if buf == NULL:
            raise MemoryError()
        self._buf = buf
        self._cap = cap
        return 0

    cdef int _append(self, const char *p, Py_ssize_t n) except -1:
        self._reserve(self._len + n)
        memcpy(self._buf + self._len, p, n)
        self._len += n
        return 0

    cdef Py_ssize_t _straddle(self, const char *p, Py_ssize_t n) noexcept:
        # A delimiter that starts in the held tail and ends in the chunk:
        # where it starts in the tail, or -1.
        cdef Py_ssize_t dlen = self._dlen
        cdef Py_ssize_t k = self._len - dlen + 1
        cdef Py_ssize_t head
        if k < self._scan:
            k = self._scan
        if k < 0:
            k = 0
        while k < self._len:
            head = self._len - k
            if dlen - head > n:
                return -1  # later starts need even more of the chunk
            if (
                memcmp(self._buf + k, self._d, head) == 0
                and memcmp(p, self._d + head, dlen - head) == 0
            ):
                return k
            k += 1
        return -1

    cdef int _consume(self, const char *p, Py_ssize_t n, list events) except -1:
        # Each byte is searched once. Frames that end in this chunk are
        # decoded where they lie; the held tail is only completed (one copy
        # of the part of the chunk that finishes it) and the new tail copied.
        # self._len is committed last, so an exception leaves it untouched.
        cdef Py_ssize_t dlen = self._dlen
        cdef Py_ssize_t held = self._len
        cdef Py_ssize_t pos = 0, end, k, tail
        if held:
            k = self._straddle(p, n) if dlen > 1 else -1
            if k >= 0:
                self._frame(self._buf, k, events)
                pos = dlen - (held - k)
            else:
                end = _search(p, n, 0, self._d, dlen)
                if end < 0:
                    self._append(p, n)
                    self._scan = max(0, self._len - dlen + 1)
                    if self._guarded:
                        self._checks.check_size(self._len, True)
                    return 0
                self._reserve(held + end)
                memcpy(self._buf + held, p, end)
                self._frame(self._buf, held + end, events)
                pos = end + dlen
        while True:
            end = _search(p, n, pos, self._d, dlen)
            if end < 0:
                break
            self._frame(p + pos, end - pos, events)
            pos = end + dlen
        tail = n - pos
        self._len = 0
        if tail:
            self._append(p + pos, tail)
        self._scan = max(0, tail - dlen + 1)
        if self._cap > _SHRINK_ABOVE and tail < self._cap // 4:
            self._shrink()
        if self._guarded:
            self._checks.check_size(tail, True)
        return 0

    cdef void _shrink(self) noexcept:
        # Let go of the memory a huge frame needed once it is decoded.
        cdef Py_ssize_t cap = max(self._len * 2, 65536)
        cdef char *buf = <char *>PyMem_Realloc(self._buf, cap)
        if buf != NULL:
            self._buf = buf
            self._cap = cap

    cdef inline int _frame(self, const char *p, Py_ssize_t n, list events) except -1:
        if self._guarded and n > self._max_size:
            self._checks.check_size(n, False)
        events.append(self._decode(<const unsigned char *>p, n))
        return 0

    cdef object _decode(self, const unsigned char *p, Py_ssize_t n):
        # node-ipc writes {"type":"<T>","data":<D>}: take T and D apart
        # without building the envelope, and decode the common kinds of D
        # here. Any other shape, and any D the JSON engine refuses, gets the
        # full parse, so the result is always the twin's.
        cdef Py_ssize_t i, t, ds, de, j
        cdef int slot
        cdef PyObject *hit
        cdef object name = None, data
        cdef bint checked = False
        cdef unsigned char c
        if n < 21 or p[n - 1] != b"}" or memcmp(p, b'{"type":"', 9) != 0:
            return self._decode_full(p, n)
        t = fastipc_plain_run(p + 9, n - 10)
        i = 9 + t
        if t == 0 or p[i] != b'"' or i + 11 > n or memcmp(p + i, b'","data":', 9) != 0:
            return self._decode_full(p, n)
        slot = (t + p[9] * 7 + p[i - 1] * 31) % _NAME_CACHE
        hit = self._names[slot]
        if (
            hit != NULL
            and PyUnicode_GET_LENGTH(<object>hit) == t
            and memcmp(PyUnicode_DATA(<object>hit), p + 9, t) == 0
        ):
            name = <object>hit
            checked = True
        else:
            name = fastipc_utf8_or(<const char *>p + 9, t, _NOT_DECODED)
            if name is _NOT_DECODED:
                return self._decode_full(p, n)
        ds = i + 9
        de = n - 1
        c = p[ds]
        if c == b'"':
            j = ds + 1 + fastipc_plain_run(p + ds + 1, de - ds - 1)
            if j == de - 1 and p[j] == b'"':
                data = fastipc_utf8_or(<const char *>p + ds + 1, j - ds - 1, _NOT_DECODED)
            else:
                data = self._decode_data(p + ds, de - ds)
        elif de - ds == 2 and c == b"{" and p[ds + 1] == b"}":
            data = {}
        elif de - ds == 4 and memcmp(p + ds, b"null", 4) == 0:
            data = None
        elif de - ds == 4 and memcmp(p + ds, b"true", 4) == 0:
            data = True
        elif de - ds == 5 and memcmp(p + ds, b"false", 5) == 0:
            data = False
        elif c == b"-" or b"0" <= c <= b"9":
            data = _small_int(p + ds, de - ds)
            if data is _NOT_DECODED:
                data = self._decode_data(p + ds, de - ds)
        elif de - ds > _SPLIT_LIMIT:
            return self._decode_full(p, n)
        else:
            data = self._decode_data(p + ds, de - ds)
        if data is _NOT_DECODED:
            return self._decode_full(p, n)
        if not checked:
            self._checks.check_name(name)
            if t <= 64 and PyUnicode_IS_ASCII(name):
                Py_XDECREF(self._names[slot])
                Py_INCREF(name)
                self._names[slot] = <PyObject *>name
        if (type(data) is list or (type(data) is dict and data)) and _has_buffer_mark(
            <const char *>p, n
        ):
            data = _revive_buffers(data)
        return (name, data)

    cdef object _decode_data(self, const unsigned char *p, Py_ssize_t n):
        try:
            return _loads(PyBytes_FromStringAndSize(<const char *>p, n))
        except ValueError:
            return _NOT_DECODED

    cdef object _decode_full(self, const unsigned char *p, Py_ssize_t n):
        # The twin's _decode_frame, with the common checks in C.
        cdef bytes frame = PyBytes_FromStringAndSize(<const char *>p, n)
        cdef object message, name, data
        try:
            message = _loads(frame)
        except ValueError:
            raise protocol_error(
                "ERR_IPC_INVALID_JSON",
                f"received a frame of {n} bytes that is not valid UTF-8 JSON: "
                f"{_short_repr(frame[:40])}",
            ) from None
        if type(message) is not dict:
            raise protocol_error(
                "ERR_IPC_INVALID_MESSAGE",
                f"received message must be a JSON object, got {type(message).__name__}",
            )
        name = (<dict>message).get("type")
        self._checks.check_name(name)
        data = (<dict>message).get("data")
        if (type(data) is dict or type(data) is list) and _has_buffer_mark(
            <const char *>p, n
        ):
            data = _revive_buffers(data)
        return (name, data)


# --------------------------------------------------------------------------
# encoding under a profile


cdef class EventEncoder:
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

    cdef _Checks _checks
    cdef object _delimiter
    cdef bytes _delim
    cdef bytes _fixed_delim  # _delim when the delimiter cannot change, else None
    cdef bint _check

    def __init__(
        self,
        delimiter=DEFAULT_DELIMITER,
        profile="fast",
        maxMessageSize=DEFAULT_MAX_MESSAGE_SIZE,
        maxEventNameLength=DEFAULT_MAX_EVENT_NAME_LENGTH,
        allowReservedEvents=False,
        allowedEvents=None,
    ):
        self._checks = _make_checks(
            profile, maxMessageSize, maxEventNameLength, allowReservedEvents, allowedEvents
        )
        self._delimiter = delimiter
        self._delim = _delimiter_bytes(delimiter)
        self._fixed_delim = (
            self._delim if type(delimiter) is str or type(delimiter) is bytes else None
        )
        self._check = self._checks.guarded

    @property
    def profile(self):
        """The parser profile this encoder applies."""
        return self._checks.rules.profile

    def encode(self, type, data=OMITTED):
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
        cdef bytes frame
        if self._check:
            self._checks.check_name(type)
        frame = _encode_event(type, data, self._delimiter, self._fixed_delim)
        if self._check:
            self._checks.check_size(len(frame) - len(self._delim), False)
        return frame
