"""The package as users install it: public surface, build, codec selection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest

import fastipc
import fastipc.errors
import fastipc.framing
from fastipc import _framing_py

from .helpers import ROOT

CODES = [
    "ERR_IPC_INVALID_JSON",
    "ERR_IPC_INVALID_MESSAGE",
    "ERR_IPC_INVALID_EVENT",
    "ERR_IPC_EVENT_TOO_LARGE",
    "ERR_IPC_RESERVED_EVENT",
    "ERR_IPC_EVENT_NOT_ALLOWED",
    "ERR_IPC_FRAME_TOO_LARGE",
    "ERR_IPC_BACKPRESSURE",
    "ERR_IPC_MESSAGE_TIMEOUT",
    "ERR_IPC_ASSURED_TRANSPORT",
    "ERR_IPC_ASSURED_TLS",
    "ERR_IPC_TLS_CONFIGURATION",
    "ERR_IPC_SOCKET_ROOT",
    "ERR_IPC_UNLINK_NOT_SOCKET",
]


def _public(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations",)
    }


@pytest.mark.parametrize(
    "module", [fastipc, fastipc.errors, fastipc.framing], ids=lambda m: m.__name__
)
def test_all_matches_exports(module):
    assert set(module.__all__) == _public(module) | ({"__version__"} & set(module.__all__))
    assert len(module.__all__) == len(set(module.__all__))


def test_framing_exports_the_contract():
    assert set(fastipc.framing.__all__) == set(_framing_py.CONTRACT)


def test_every_design_code_has_a_class():
    codes = {
        getattr(fastipc.errors, n).code
        for n in fastipc.errors.__all__
        if n[0].isupper() and isinstance(getattr(fastipc.errors, n), type)
    }
    assert set(CODES) <= codes
    for code, cls in fastipc.errors.PROTOCOL_ERRORS.items():
        assert issubclass(cls, fastipc.IPCProtocolError)
        assert cls.code == code
    assert issubclass(fastipc.IPCConfigError, ValueError)
    assert issubclass(fastipc.IPCEncodeError, TypeError)
    assert issubclass(fastipc.UnlinkNotSocketError, OSError)
    assert not issubclass(fastipc.IPCProtocolError, fastipc.IPCConfigError)


def test_errors_pickle_with_their_code():
    import pickle

    err = fastipc.errors.protocol_error("ERR_IPC_FRAME_TOO_LARGE", "too big")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is fastipc.FrameTooLargeError
    assert back.code == "ERR_IPC_FRAME_TOO_LARGE" and str(back) == "too big"
    assert pickle.loads(pickle.dumps(fastipc.OMITTED)) is fastipc.OMITTED


def test_compiled_codec_loaded_when_required():
    """When the build was meant to compile the codec, the compiled one runs."""
    if os.environ.get("FASTIPC_REQUIRE_EXTENSION", "") in ("", "0"):
        pytest.skip("FASTIPC_REQUIRE_EXTENSION is not set: either codec may load")
    assert fastipc.framing.IMPLEMENTATION == "cython"
    assert fastipc.framing.EventDecoder.__module__ == "fastipc._framing"
    assert fastipc.framing.encode_event is not _framing_py.encode_event


def _python(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
        timeout=120,
    )
    return out.stdout.strip()


def test_no_extensions_forces_the_python_codec():
    code = "import fastipc.framing as f; print(f.IMPLEMENTATION, f.EventDecoder.__module__)"
    assert _python(code, FASTIPC_NO_EXTENSIONS="1") == "python fastipc._framing_py"


_CORPUS = r"""
import json
from fastipc import _json, _framing_py
from tests.helpers import BAD_FRAMES, FRAME_CASES
out = {"engine": _json.ENGINE, "frames": [], "events": []}
frames = []
for _, name, value, _ in FRAME_CASES:
    frames.append(_framing_py.encode_event(name, value))
frames += [frame + b"\f" for frame, _ in BAD_FRAMES]
frames += [
    b'{"type":"a","data":123456789012345678901234567890}\f',
    b'{"type":"a","data":[18446744073709551615,-9223372036854775809]}\f',
    b'{"type":"a","data":"\\ud800\\udc00\\udc00"}\f',
    b'{"type":"a","data":1e400}\f',
    b'{"type":"a","data":{"type":"Buffer","data":[1,2]}}\f',
]
out["frames"] = [f.hex() for f in frames]
for frame in frames:
    try:
        out["events"].append(repr(_framing_py.EventDecoder().feed(frame)))
    except Exception as exc:
        out["events"].append(exc.code)
print(json.dumps(out))
"""


def test_stdlib_json_gives_identical_bytes_and_events():
    """With orjson and with the standard library alone, nothing differs."""
    pytest.importorskip("orjson")
    # ROOT (which holds no fastipc; src/ does) on the path only for tests.helpers'
    # tables: the child imports fastipc as installed
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    fast = json.loads(_python(_CORPUS, PYTHONPATH=path))
    slow = json.loads(_python(_CORPUS, PYTHONPATH=path, FASTIPC_JSON="json"))
    assert fast["engine"] == "orjson" and slow["engine"] == "json"
    assert fast["frames"] == slow["frames"]
    assert fast["events"] == slow["events"]
    assert len(fast["events"]) > 70
