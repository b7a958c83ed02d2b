// A node-ipc UDP peer for fastipc's UDP interop tests, driven over stdio.
//
//   node udp_peer.mjs SPEC_JSON
//
// SPEC: {"version": "14" | "9",            node-ipc 14.0.0 or 9.2.1
//        "type": "udp4" | "udp6",
//        "host": "127.0.0.1" | "::1", "port": N,
//        "id": "world" | "hello" | ...,    its config.id
//        "role": "world" | "hello" | "peer",
//        "target": {"address": A, "port": P},   hello: whom to greet
//        "config": {...}}                  merged into ipc.config
//
// Roles, as node-ipc's README UDP example:
//   world  answers every 'message' with server.emit(socket, 'message',
//          {from: id, message: data.message + ' world!'})
//   hello  once started, emits 'message' {from: id, message: 'Hello'} to
//          "target"
//   peer   only reports what it gets
//
// Commands, one JSON object per line on stdin:
//   {"cmd": "emit", "address": A, "port": P, "type": T, "data": D}
//          server.emit({address, port}, T, D); no "data" key means emit(T)
//   {"cmd": "emit_raw", "address": A, "port": P, "hex": H}
//          raw mode: server.emit({address, port}, Buffer.from(H, 'hex'))
//   {"cmd": "broadcast", "type": T, "data": D}
//   {"cmd": "send", "address": A, "port": P, "hex": H}
//          one datagram of exactly these bytes through the server's socket
//   {"cmd": "exit"}
// The peer exits when stdin closes, so it never outlives its test.
//
// Output, one JSON object per line on stdout: {"ev": "ready", "port": N}
// once bound; {"ev": "event", "type": T, "data": D, "from": {address, port}}
// for every application event; {"ev": "data", "hex": H, "from": ...} in raw
// mode; {"ev": "error", "code": C, "message": M}.
import {createRequire} from 'node:module';
import {out, serveCommands} from './commands.mjs';
import ipc14 from 'node-ipc';

const spec = JSON.parse(process.argv[2]);
const ipc = spec.version === '9'
    ? new (createRequire(import.meta.url)('node-ipc-9').IPC)()
    : new ipc14.IPC();

Object.assign(ipc.config, {silent: true}, spec.config || {});
if (spec.id) ipc.config.id = spec.id;

const LIFECYCLE = new Set([
    'start', 'connect', 'disconnect', 'destroy', 'close', 'socket.disconnected', 'error', 'data',
]);

function from(socket) {
    return socket && socket.address !== undefined
        ? {address: socket.address, port: socket.port}
        : null;
}

let ready = false;
function announce() {
    if (ready) return;
    ready = true;
    // 14: server.server is the bound dgram socket; 9.2.1 announces on its
    // 'connect', which it publishes once the socket listens.
    const bound = ipc.server.server.address();
    out({ev: 'ready', port: bound.port, address: bound.address});
    if (spec.role === 'hello') {
        ipc.server.emit(spec.target, 'message', {from: ipc.config.id, message: 'Hello'});
    }
}

ipc.serveNet(spec.host, spec.port, spec.type, () => {
    if (spec.version !== '9') announce();
});
const server = ipc.server;

// Every event goes through the instance's publish() in both versions (see
// peer.mjs for why not a '*' handler).
const publish = server.publish;
server.publish = function (type, ...args) {
    if (!LIFECYCLE.has(type)) {
        const data = args[0];
        out(data === undefined
            ? {ev: 'event', type, from: from(args[1])}
            : {ev: 'event', type, data, from: from(args[1])});
    }
    return publish.call(this, type, ...args);
};
server.on('connect', () => {
    if (spec.version === '9') announce();
});
server.on('data', (data, socket) => {
    out({ev: 'data', hex: Buffer.from(data).toString('hex'), from: from(socket)});
});
server.on('error', (error) => {
    out({ev: 'error', code: error && error.code, message: String(error && error.message)});
});
if (spec.role === 'world') {
    server.on('message', (data, socket) => {
        server.emit(socket, 'message', {from: ipc.config.id, message: data.message + ' world!'});
    });
}

function run(command) {
    const to = {address: command.address, port: command.port};
    switch (command.cmd) {
    case 'emit':
        if ('data' in command) server.emit(to, command.type, command.data);
        else server.emit(to, command.type);
        break;
    case 'emit_raw':
        server.emit(to, Buffer.from(command.hex, 'hex'));
        break;
    case 'broadcast':
        if ('data' in command) server.broadcast(command.type, command.data);
        else server.broadcast(command.type);
        break;
    case 'send':
        server.server.send(Buffer.from(command.hex, 'hex'), command.port, command.address);
        break;
    case 'exit':
        process.exit(0);
        break;
    default:
        out({ev: 'error', message: `unknown command ${command.cmd}`});
    }
}

serveCommands(run, out, null);
server.start();
