"""examples/udp_world.py and udp_hello.py, node-ipc's UDP example, run as
real processes on both families."""

from __future__ import annotations

import pytest

from .helpers import example, free_udp_port


@pytest.mark.parametrize(("udp", "host"), [("udp4", "127.0.0.1"), ("udp6", "::1")])
def test_udp_world_and_hello(udp, host):
    world_port, hello_port = str(free_udp_port(host)), str(free_udp_port(host))
    with example("udp_world.py", "--udp", udp, "--port", world_port, "--messages", "2") as world:
        world.expect(rf"^serving 'world' on {udp} {host} port {world_port}$")
        for _ in range(2):
            with example(
                "udp_hello.py", "--udp", udp, "--port", hello_port, "--world-port", world_port
            ) as hello:
                assert hello.wait() == 0, hello.report()
            assert hello.out == ["got a message from world: 'Hello world!'"], hello.report()
        assert world.wait() == 0, world.report()  # stops by itself after 2 messages
    assert world.out[1:] == [
        "got a message from hello: 'Hello'",
        "got a message from hello: 'Hello'",
        "answered enough messages; stopping",
    ], world.report()
    assert world.err == [], world.report()
