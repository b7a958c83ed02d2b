"""fastipc: node-ipc for Python.

Local and network inter-process communication that speaks node-ipc's wire
protocol, with a compiled codec on the hot path.
"""

from __future__ import annotations

import importlib.metadata as _metadata

from . import errors
from ._client import Client
from ._config import Config
from ._constants import OMITTED
from ._ipc import IPC, ClientStore, ipc
from ._server import IPCSocket, Server
from ._udp import UDPPeer, UDPServer
from .errors import *  # noqa: F403  (fastipc re-exports fastipc.errors whole)


def _version() -> str:
    try:
        return _metadata.version("fastipc-node")
    except _metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


#: The installed distribution's version (``fastipc-node``), from its metadata.
__version__ = _version()

__all__ = (
    "IPC",
    "OMITTED",
    "Client",
    "ClientStore",
    "Config",
    "IPCSocket",
    "Server",
    "UDPPeer",
    "UDPServer",
    "__version__",
    "ipc",
    *errors.__all__,
)
