# Sourced by the Windows lane's scripts: CPython's C headers for a Windows
# build, from a Debian source package, with an apt configuration of its own
# (a temporary deb-src list under the cache; nothing in /etc is touched).
#
#   debian_cpython_headers SUITE PACKAGE DEST
#     SUITE    Debian suite with the source package (bookworm, trixie)
#     PACKAGE  its name (python3.11, python3.13)
#     DEST     where Include/, PC/pyconfig.h and VERSION land; nothing is
#              done when they are there already
# It calls die() (the caller's) on any failure.

debian_cpython_headers() {
    local suite=$1 package=$2 dest=$3
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    if [ -f "$dest/Include/Python.h" ] && [ -f "$dest/PC/pyconfig.h" ] && [ -f "$dest/VERSION" ]; then
        return 0
    fi
    command -v apt-get > /dev/null || die "apt-get is missing (needed to fetch Debian's $package source)"
    [ -f "$keyring" ] || die "$keyring is missing: apt-get install debian-archive-keyring"
    local apt=$dest.apt
    rm -rf "$apt" "$dest.tmp"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src" "$dest.tmp"
    echo "deb-src [signed-by=$keyring] http://deb.debian.org/debian $suite main" > "$apt/sources.list"
    local options=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache")
    apt-get "${options[@]}" update > "$apt/update.log" 2>&1 \
        || { cat "$apt/update.log" >&2; die "apt-get update for $suite's deb-src (config in $apt) failed"; }
    (cd "$apt/src" && apt-get "${options[@]}" source --download-only "$package") > "$apt/source.log" 2>&1 \
        || { cat "$apt/source.log" >&2; die "cannot download Debian $suite's $package source package"; }
    local orig
    orig=$(ls "$apt"/src/"${package}"_*.orig.tar.* 2> /dev/null | grep -v '\.asc$' | head -n1) || true
    [ -n "$orig" ] || die "no ${package}_*.orig.tar.* in $apt/src"
    tar -xf "$orig" -C "$dest.tmp" --strip-components=1 --wildcards '*/Include/*' '*/PC/pyconfig.h*' \
        || die "cannot extract Include/ and PC/pyconfig.h from $orig"
    # 3.13 ships PC/pyconfig.h.in, whose one placeholder (the free-threading
    # switch) stays commented out: the GIL build's header
    if [ ! -f "$dest.tmp/PC/pyconfig.h" ]; then
        [ -f "$dest.tmp/PC/pyconfig.h.in" ] || die "$orig has neither PC/pyconfig.h nor PC/pyconfig.h.in"
        cp "$dest.tmp/PC/pyconfig.h.in" "$dest.tmp/PC/pyconfig.h"
    fi
    if grep -Eq '^[[:space:]]*#[[:space:]]*define[[:space:]]+Py_GIL_DISABLED' "$dest.tmp/PC/pyconfig.h"; then
        die "$orig: PC/pyconfig.h defines Py_GIL_DISABLED, not the GIL build's header"
    fi
    local version
    version=$(sed -n 's/^#define PY_VERSION[[:space:]]*"\(.*\)"/\1/p' "$dest.tmp/Include/patchlevel.h")
    echo "$version from $(basename "$orig")" > "$dest.tmp/VERSION"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    rm -rf "$apt"
}
