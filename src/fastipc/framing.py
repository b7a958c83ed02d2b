"""The codec: node-ipc's framing and JSON envelope, sans I/O.

This is the one place that picks an implementation: the compiled
``fastipc._framing`` where it was built, the pure-Python
``fastipc._framing_py`` when ``FASTIPC_NO_EXTENSIONS=1`` is set, on an
interpreter other than CPython, or when the extension is missing.
``IMPLEMENTATION`` says which one was loaded (``'cython'`` or ``'python'``).
"""

from __future__ import annotations

import os
import platform

from . import _framing_py


def _want_extension() -> bool:
    flag = os.environ.get("FASTIPC_NO_EXTENSIONS", "")
    return flag in ("", "0") and platform.python_implementation() == "CPython"


# Each implementation exports the same names: its __all__, CONTRACT.
if _want_extension():
    try:
        from ._framing import *  # noqa: F403
    except ImportError:
        from ._framing_py import *  # type: ignore[assignment]  # noqa: F403
else:
    from ._framing_py import *  # type: ignore[assignment]  # noqa: F403

__all__ = list(_framing_py.CONTRACT)
