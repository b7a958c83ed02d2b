#!/usr/bin/env bash
# Builds the compiled codec (src/fastipc/_framing.pyx) for the Windows lane:
# Windows CPython 3.13 (x64, GIL build) on the FULL C API, cross-compiled with
# mingw against CPython 3.13's headers and linked to the lane's python313.dll.
# (The codec cannot use the limited API: it needs PyUnicode_DATA/KIND, the
# buffer protocol, PyBytes_AS_STRING...; so the .pyd serves CPython 3.13 only.)
#
#   CACHE  a cache dir; CPython 3.13's Include/ and PC/pyconfig.h are kept in
#          $CACHE/cpython313-headers between runs, fetched from Debian trixie's
#          python3.13 source package with a temporary apt config under $CACHE
#          (nothing in /etc is touched)
#   LANE   the staged lane (scripts/windows_lane.sh): links $LANE/python/python313.dll,
#          writes $LANE/site/fastipc/_framing.pyd
#   PY     a Python with Cython (e.g. .venv/bin/python)
#
# Usage: CACHE=... LANE=... PY=... bash scripts/windows_cython.sh
# Idempotent: the headers are fetched once, the .pyd is rebuilt on every run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MINGW=x86_64-w64-mingw32-gcc

say() { echo "*** windows cython: $*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

[ -n "${CACHE:-}" ] || die "set CACHE to a cache directory"
[ -n "${LANE:-}" ] || die "set LANE to the staged lane directory (build/windows-lane)"
[ -n "${PY:-}" ] || die "set PY to a Python that has Cython (e.g. .venv/bin/python)"
DLL=$LANE/python/python313.dll
PYX=$ROOT/src/fastipc/_framing.pyx
[ -f "$DLL" ] || die "$DLL is missing: stage the lane first (scripts/windows_lane.sh)"
[ -d "$LANE/site/fastipc" ] || die "$LANE/site/fastipc is missing: stage the lane first"
[ -f "$PYX" ] || die "$PYX is missing"
[ -x "$PY" ] || command -v "$PY" > /dev/null || die "PY=$PY is not an executable"
"$PY" -c 'import Cython' 2> /dev/null || die "$PY has no Cython: $PY -m pip install cython"
command -v "$MINGW" > /dev/null || die "$MINGW is missing: apt-get install gcc-mingw-w64-x86-64"
command -v x86_64-w64-mingw32-objdump > /dev/null || die "x86_64-w64-mingw32-objdump is missing: apt-get install binutils-mingw-w64-x86-64"
mkdir -p "$CACHE" || die "cannot create $CACHE"
CACHE=$(cd "$CACHE" && pwd)

# --------------------------------------------------------------- CPython 3.13 headers
. "$ROOT/scripts/_debian_headers.sh"
HEADERS=$CACHE/cpython313-headers
[ -f "$HEADERS/VERSION" ] || say "fetching CPython 3.13's headers from Debian trixie's python3.13 source package"
debian_cpython_headers trixie python3.13 "$HEADERS"
case "$(cat "$HEADERS/VERSION")" in
    3.13.*) ;;
    *) die "$HEADERS holds CPython $(cat "$HEADERS/VERSION"), not 3.13.x" ;;
esac
say "CPython headers: $(cat "$HEADERS/VERSION")"

# --------------------------------------------------------------- cythonize + compile
BUILD=$CACHE/cython313-build
rm -rf "$BUILD" && mkdir -p "$BUILD"
cp "$PYX" "$BUILD/_framing.pyx"
# the directives of setup.py
"$PY" -m cython -3 -X boundscheck=False -X wraparound=False -X cdivision=True -X embedsignature=True \
    --module-name fastipc._framing "$BUILD/_framing.pyx" -o "$BUILD/_framing.c" \
    || die "cython could not translate $PYX"
# pyconfig.h defines MS_WIN64 itself for mingw's _WIN64
"$MINGW" -O2 -Wall -shared -static-libgcc -DNDEBUG \
    -I"$HEADERS/Include" -I"$HEADERS/PC" "$BUILD/_framing.c" "$DLL" \
    -o "$BUILD/_framing.pyd" || die "compiling _framing.c with mingw (full API, CPython 3.13) failed"
dump=$(x86_64-w64-mingw32-objdump -p "$BUILD/_framing.pyd") || die "objdump cannot read $BUILD/_framing.pyd"
grep -q 'DLL Name: python313.dll' <<< "$dump" || die "_framing.pyd does not import python313.dll"
grep -q 'PyInit__framing' <<< "$dump" || die "_framing.pyd does not export PyInit__framing"

# a tagged stale copy would win over _framing.pyd at import
rm -f "$LANE"/site/fastipc/_framing.*.pyd
cp "$BUILD/_framing.pyd" "$LANE/site/fastipc/_framing.pyd.tmp" \
    && mv -f "$LANE/site/fastipc/_framing.pyd.tmp" "$LANE/site/fastipc/_framing.pyd" \
    || die "cannot write $LANE/site/fastipc/_framing.pyd"
say "built $LANE/site/fastipc/_framing.pyd (fastipc._framing for Windows CPython 3.13 x64)"
