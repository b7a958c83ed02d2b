// A node-ipc TLS peer for fastipc's TLS interop tests.
//
//   node tls_peer.mjs SPEC_JSON
//
// SPEC: {"version": "14" | "9",        node-ipc 14.0.0 or 9.2.1
//        "role": "server" | "client",
//        "host": "...", "port": N,
//        "tls": {...},                  ipc.config.tls as given (file paths in
//                                       private/public/trustedConnections)
//        "rawBuffer": bool,             raw mode (bytes travel as hex in JSON)
//        "config": {...}}               merged into ipc.config
//
// Server: answers 'message' with data + ' world!' (raw: echoes the bytes
// reversed) and prints {"ev": "connect", "authorized": bool|null,
// "peer": CN|null} once a client's handshake is over.
// Client: on 'connect' emits 'message' 'hello from node' (raw: the bytes of
// spec.send, hex) and prints what comes back.
// Output, one JSON object per line: {"ev": "ready"}, "start", "connect",
// "event" (type, data), "data" (hex), "error" (message, code),
// "disconnect", "destroy", "socket.disconnected".
// Commands on stdin, one JSON object per line: {"cmd": "emit", "type", "data"}
// (client). The peer exits when stdin closes, so it never outlives its test.
import {createRequire} from 'node:module';
import readline from 'node:readline';
import ipc14 from 'node-ipc';

const spec = JSON.parse(process.argv[2]);
const ipc = spec.version === '9'
    ? new (createRequire(import.meta.url)('node-ipc-9').IPC)()
    : new ipc14.IPC();

Object.assign(ipc.config, {silent: true, retry: 100, maxRetries: 0, rawBuffer: Boolean(spec.rawBuffer)}, spec.config || {});
ipc.config.tls = spec.tls;

function out(message) {
    process.stdout.write(JSON.stringify(message) + '\n');
}

function error(err) {
    out({ev: 'error', message: String(err && err.message), code: (err && err.code) || null});
}

function peerName(socket) {
    if (typeof socket.getPeerCertificate !== 'function') return null;
    const cert = socket.getPeerCertificate();
    if (!cert || !cert.subject) return null;
    return cert.subject.CN || (cert.subjectaltname || null);
}

if (spec.role === 'server') {
    ipc.serveNet(spec.host, spec.port, () => out({ev: 'start'}));
    const server = ipc.server;
    server.on('connect', (socket) => {
        out({ev: 'connect', authorized: socket.authorized ?? null, peer: peerName(socket)});
    });
    server.on('message', (data, socket) => {
        out({ev: 'event', type: 'message', data});
        server.emit(socket, 'message', data + ' world!');
    });
    server.on('data', (data, socket) => {
        if (!spec.rawBuffer) return;
        out({ev: 'data', hex: Buffer.from(data).toString('hex')});
        server.emit(socket, Buffer.from(data).reverse());
    });
    server.on('socket.disconnected', () => out({ev: 'socket.disconnected'}));
    server.on('error', error);
    server.start();
} else {
    ipc.connectToNet('world', spec.host, spec.port, () => {
        const client = ipc.of.world;
        client.on('connect', () => {
            const socket = client.socket;
            out({ev: 'connect', authorized: socket.authorized ?? null, peer: peerName(socket)});
            if (spec.rawBuffer) client.emit(Buffer.from(spec.send, 'hex'));
            else client.emit('message', 'hello from node');
        });
        client.on('message', (data) => out({ev: 'event', type: 'message', data}));
        client.on('data', (data) => {
            if (spec.rawBuffer) out({ev: 'data', hex: Buffer.from(data).toString('hex')});
        });
        client.on('disconnect', () => out({ev: 'disconnect'}));
        client.on('destroy', () => out({ev: 'destroy'}));
        client.on('error', error);
    });
}

const commands = readline.createInterface({input: process.stdin});
commands.on('line', (line) => {
    if (!line.trim()) return;
    try {
        const command = JSON.parse(line);
        if (command.cmd === 'emit') ipc.of.world.emit(command.type, command.data);
    } catch (err) {
        error(err);
    }
});
commands.on('close', () => process.exit(0));
out({ev: 'ready'});
