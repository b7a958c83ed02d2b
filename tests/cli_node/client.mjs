// A node-ipc 14 client for tests/test_cli.py.
//   node client.mjs path <socketPath> <eventsJson>
//   node client.mjs tcp <port> <eventsJson>
// Emits each [type, data] of eventsJson once connected, then disconnects
// and exits 0.
import ipc from 'node-ipc';

const [mode, where, eventsJson] = process.argv.slice(2);
const events = JSON.parse(eventsJson);
ipc.config.id = 'node-client';
ipc.config.silent = true;
ipc.config.retry = 100;
ipc.config.maxRetries = 50;

function connecting() {
    const server = ipc.of.target;
    server.on('connect', () => {
        for (const [type, data] of events) {
            if (data === undefined) server.emit(type);
            else server.emit(type, data);
        }
        // let the writes reach the socket before closing it
        setTimeout(() => ipc.disconnect('target'), 100);
    });
}

if (mode === 'tcp') {
    ipc.connectToNet('target', '127.0.0.1', Number(where), connecting);
} else {
    ipc.connectTo('target', where, connecting);
}
