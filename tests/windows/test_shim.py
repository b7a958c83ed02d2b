r"""The ``fastipc._pipe_win`` shim, read back from the OS: the pipe's DACL
(owner-only, widened by readableAll/writableAll), first-instance protection,
and the process ids at both ends of a connected instance."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from asyncio.windows_utils import PipeHandle

import pytest

from fastipc._config import pipe_path
from fastipc._transports import winpipe

from ..helpers import make_ipc

GENERIC_ALL = 0x10000000
#: SDDL's names for the rights our ACEs use (Windows writes FR for 0x120089)
ALIASES = {"GA": GENERIC_ALL, "FR": 0x120089, "FW": 0x120116, "GR": 0x80000000, "GW": 0x40000000}


def aces(sddl: str) -> set[tuple[str, int, str]]:
    """The ACEs of an SDDL DACL as (type, access mask, trustee)."""
    assert sddl.startswith("D:P("), f"not a protected DACL: {sddl}"
    found = set()
    for kind, rights, trustee in re.findall(r"\((\w+);[^;]*;([^;]*);[^;]*;[^;]*;([^)]*)\)", sddl):
        mask = ALIASES[rights] if rights in ALIASES else int(rights, 16)
        found.add((kind, mask, trustee))
    return found


def name() -> str:
    return rf"\\.\pipe\fipc-shim-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    "readable, writable",
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["owner-only", "readableAll", "writableAll", "both"],
)
def test_dacl_read_back_from_the_os(shim, readable, writable):
    me = shim.user_sid()
    assert me.startswith("S-1-5-")
    handle = shim.create_pipe(name(), first=True, readable_all=readable, writable_all=writable)
    try:
        got = aces(shim.security_descriptor(handle))
    finally:
        PipeHandle(handle).close()
    expected = {("A", GENERIC_ALL, me)}
    if readable:
        expected.add(("A", shim.READ_ALL_RIGHTS, "WD"))
    if writable:
        expected.add(("A", shim.WRITE_ALL_RIGHTS, "WD"))
    assert got == expected
    # Everyone never gets FILE_CREATE_PIPE_INSTANCE (0x4): nobody else can serve the name
    assert all(mask & 0x4 == 0 for _, mask, who in got if who == "WD")
    assert aces(shim.pipe_sddl(readable_all=readable, writable_all=writable)) == expected


@pytest.mark.parametrize("readable, writable", [(False, False), (True, True)])
def test_server_pipes_carry_the_configured_dacl(run, root, shim, readable, writable):
    async def body():
        ipc = make_ipc(root, id="acl", readableAll=readable, writableAll=writable)
        ipc.serve(lambda: None)
        ipc.server.start()
        await ipc.server.wait_started()
        listener = ipc.server._serving
        assert isinstance(listener, winpipe.PipeServer)
        first = aces(listener.security_descriptor())
        # every later instance, made as clients connect, has the same DACL
        client = make_ipc(root)
        client.connectTo("acl", lambda: None)
        await client.of.acl.wait_connected()
        # a second client connects only to the instance made after the first
        second = make_ipc(root)
        second.connectTo("acl", lambda: None)
        await second.of.acl.wait_connected()
        assert aces(listener.security_descriptor()) == first
        everyone = {mask for _, mask, who in first if who == "WD"}
        assert everyone == ({shim.READ_ALL_RIGHTS, shim.WRITE_ALL_RIGHTS} if readable else set())
        client.disconnect("acl")
        second.disconnect("acl")
        ipc.server.stop()
        await ipc.server.wait_closed()

    run(body)


def test_first_instance_protection(shim):
    pipe = name()
    handle = shim.create_pipe(pipe, first=True)
    try:
        with pytest.raises(PermissionError) as raised:
            shim.create_pipe(pipe, first=True)
        assert raised.value.winerror == 5  # ERROR_ACCESS_DENIED
        more = shim.create_pipe(pipe)  # the server's own next instance is fine
        PipeHandle(more).close()
    finally:
        PipeHandle(handle).close()
    # once closed, the name is free again
    again = shim.create_pipe(pipe, first=True)
    PipeHandle(again).close()


def test_process_ids_at_both_ends(run, shim):
    async def body():
        loop = asyncio.get_running_loop()
        address = name()
        connected = loop.create_future()
        server = await winpipe.start_pipe_server(loop, lambda: _Recorder(connected), address)
        transport, _ = await loop.create_pipe_connection(asyncio.Protocol, address)
        server_side = await asyncio.wait_for(connected, 10)
        assert winpipe.client_pid_of(server_side) == os.getpid()
        assert winpipe.server_pid_of(transport) == os.getpid()
        transport.close()
        server_side.close()
        server.close()
        await server.wait_closed()

    run(body)


class _Recorder(asyncio.Protocol):
    def __init__(self, connected: asyncio.Future) -> None:
        self.connected = connected

    def connection_made(self, transport):
        self.connected.set_result(transport)


def test_bad_handle_raises_oserror(shim):
    with pytest.raises(OSError):
        shim.client_process_id(0)
    with pytest.raises(OSError):
        shim.create_pipe(r"\\.\not-a-pipe-namespace\x", first=True)
    assert pipe_path("/x") == r"\\.\pipe\x"
