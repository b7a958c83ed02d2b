"""In-process probe: a fastipc server and client in one asyncio loop over a Unix
socket; prints msg/s and CPU ns per message. Used with cProfile to find the
hot spots (bench/PERF_NOTES.md). Usage: inprocess_probe.py N oneway|rtt"""
import asyncio
import os
import sys
import tempfile
import time

from fastipc import IPC

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
MODE = sys.argv[2] if len(sys.argv) > 2 else 'oneway'
PAYLOAD = 'x' * 64
async def main():
    root = tempfile.mkdtemp(prefix='p', dir='/tmp') + '/'
    s = IPC(); s.config.silent = True; s.config.socketRoot = root; s.config.id = 'b'
    srv = s.serve()
    done = asyncio.get_running_loop().create_future()
    count = 0
    def on_m(data, sock):
        nonlocal count
        count += 1
        if MODE == 'rtt':
            sock.emit('m', data)
        if count == N and not done.done():
            done.set_result(None)
    srv.on('m', on_m)
    srv.start(); await srv.wait_started()
    c = IPC(); c.config.silent = True; c.config.socketRoot = root
    cl = c.connectTo('b')
    await cl.wait_connected()
    got = 0
    rdone = asyncio.get_running_loop().create_future()
    def on_reply(data):
        nonlocal got
        got += 1
        if got < N - 63:
            cl.emit('m', PAYLOAD)
        if got == N and not rdone.done(): rdone.set_result(None)
    cl.on('m', on_reply)
    t0 = time.perf_counter(); c0 = time.process_time()
    if MODE == 'oneway':
        for i in range(N):
            if not cl.emit('m', PAYLOAD):
                await cl.drain()
        await done
    else:
        for i in range(64):
            cl.emit('m', PAYLOAD)
        await rdone
    dt = time.perf_counter() - t0; cpu = time.process_time() - c0
    print(f"{MODE}: {N/dt:,.0f} msg/s wall, {cpu/N*1e9:,.0f} ns CPU per message")
    c.disconnect('b'); srv.stop(); await srv.wait_closed()
if os.environ.get('UV'):
    import uvloop; uvloop.run(main())
else:
    asyncio.run(main())
