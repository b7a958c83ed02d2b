"""Local socket paths: the socket root, stale sockets, file modes."""

from __future__ import annotations

import os
import stat

from .errors import SocketRootError, UnlinkNotSocketError

__all__ = ["path_in_root", "pipe_path", "prepare_socket_root", "unlink_socket", "widen_socket_mode"]


def _relative(root: str, path: str) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.abspath(root))


def _outside(relative: str) -> bool:
    return relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative)


def path_in_root(root: str, path: str) -> bool:
    """Whether ``path`` sits directly inside ``root`` (what assured requires)."""
    relative = _relative(root, path)
    return relative not in ("", ".") and not _outside(relative) and os.path.dirname(relative) == ""


def prepare_socket_root(root: str, path: str, secure: bool) -> None:
    """Create the socket root for ``path`` and check it, as node-ipc 14 does.

    Nothing happens when ``path`` is outside ``root``. Otherwise the root is
    created owner-only (0700); with ``secure``, it must be a real directory
    (not a symlink) owned by you, and group/other bits are removed.

    Raises:
        SocketRootError: Raised when the root is a symlink, not a directory
            or owned by another user.
    """
    if _outside(_relative(root, path)):
        return
    # no trailing separator: lstat("link/") would follow the symlink
    root = os.path.abspath(root)
    os.makedirs(root, mode=0o700, exist_ok=True)
    if not secure:
        return
    info = os.lstat(root)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise SocketRootError(
            f"socketRoot {root!r} must be a real directory, not a symlink or file"
        )
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise SocketRootError(
            f"socketRoot {root!r} must be owned by the current user (uid {os.getuid()}), "
            f"it is owned by uid {info.st_uid}"
        )
    if info.st_mode & 0o077:
        os.chmod(root, 0o700)


def unlink_socket(path: str) -> None:
    """Remove a stale socket at ``path``; refuse anything that is not a socket.

    Raises:
        UnlinkNotSocketError: Raised when ``path`` exists and is not a socket.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise UnlinkNotSocketError(f"refusing to unlink {path!r}: it is not a socket")
    os.unlink(path)


def widen_socket_mode(path: str, readable_all: bool, writable_all: bool) -> None:
    """Add read and/or write permission for everyone, as ``readableAll`` /
    ``writableAll`` do in Node."""
    extra = (0o444 if readable_all else 0) | (0o222 if writable_all else 0)
    if not extra:
        return
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & extra != extra:
        os.chmod(path, mode | extra)


def pipe_path(path: str) -> str:
    r"""The Windows named pipe node-ipc uses for a local socket path.

    ``/tmp/app.world`` becomes ``\\.\pipe\tmp-app.world``: the leading slash
    is dropped and every other ``/`` becomes ``-``. A path that already is a
    pipe name is kept.
    """
    if path.startswith("\\\\.\\pipe\\"):
        return path
    trimmed = path[1:] if path.startswith("/") else path
    return "\\\\.\\pipe\\" + trimmed.replace("/", "-")
