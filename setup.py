"""Build script: cythonize the codec when possible, degrade loudly when not.

* ``FASTIPC_NO_EXTENSIONS=1``: build no extension; the pure-Python codec is
  used.
* ``FASTIPC_BUILD_EXTENSION=1``: a failed compile is an error (CI and wheel
  builds set this).
* otherwise: try to compile; on failure, warn and install the pure-Python
  codec.

The build prints which kind it produced. On Windows it also builds the
named-pipe shim ``fastipc._pipe_win`` (C, limited API), required under
``FASTIPC_BUILD_EXTENSION=1`` like the codec.
"""

from __future__ import annotations

import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NO_EXTENSIONS = os.environ.get("FASTIPC_NO_EXTENSIONS", "") not in ("", "0")
REQUIRE_EXTENSION = os.environ.get("FASTIPC_BUILD_EXTENSION", "") not in ("", "0")
CPYTHON = platform.python_implementation() == "CPython"
PIPE_SHIM = "fastipc._pipe_win"


def _say(message: str) -> None:
    print(f"*** fastipc build: {message}", file=sys.stderr, flush=True)


class OptionalBuildExt(build_ext):
    """build_ext that may fail without failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            self._failed(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._failed(exc, ext.name)
        else:
            if ext.name == PIPE_SHIM:
                _say(f"built the named-pipe shim {ext.name}")
            else:
                _say(f"built the compiled codec {ext.name} (IMPLEMENTATION = 'cython')")

    def _failed(self, exc: Exception, name: str | None = None) -> None:
        if REQUIRE_EXTENSION:
            _say(f"compiling {name or 'an extension'} failed and FASTIPC_BUILD_EXTENSION=1: {exc}")
            raise exc
        if name == PIPE_SHIM:
            _say(
                f"WARNING: compiling the named-pipe shim failed ({exc}); local sockets "
                "(serve/connectTo) cannot be used on this Windows install"
            )
            return
        _say(
            f"WARNING: compiling the codec failed ({exc}); installing the pure-Python "
            "codec (IMPLEMENTATION = 'python'), which is several times slower"
        )


def _extensions() -> list[Extension]:
    if NO_EXTENSIONS or not CPYTHON:
        why = "FASTIPC_NO_EXTENSIONS is set" if NO_EXTENSIONS else "not CPython"
        if REQUIRE_EXTENSION:
            raise SystemExit(f"FASTIPC_BUILD_EXTENSION=1 but {why}")
        _say(f"{why}: building the pure-Python codec only")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRE_EXTENSION:
            raise
        _say("WARNING: Cython is missing: building the pure-Python codec only")
        return []
    extension = Extension(
        "fastipc._framing",
        ["src/fastipc/_framing.pyx"],
        extra_compile_args=["-O3"] if sys.platform != "win32" else ["/O2"],
    )
    return cythonize(
        [extension],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
        quiet=True,
    )


def _windows_extensions() -> list[Extension]:
    """The named-pipe shim: plain C on the limited API (one build serves every
    CPython 3.10+), Windows only, whatever FASTIPC_NO_EXTENSIONS says: it is
    not a speed-up but the local transport itself."""
    if sys.platform != "win32":
        return []
    return [
        Extension(
            PIPE_SHIM,
            ["src/fastipc/_pipe_win.c"],
            libraries=["advapi32"],
            define_macros=[("Py_LIMITED_API", "0x030A0000")],
            py_limited_api=True,
        )
    ]


setup(ext_modules=_extensions() + _windows_extensions(), cmdclass={"build_ext": OptionalBuildExt})
