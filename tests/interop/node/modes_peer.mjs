// A node-ipc peer for fastipc's raw, sync and guarded interop tests.
//
//   node modes_peer.mjs SPEC_JSON
//
// SPEC: {"version": "14" | "9",            node-ipc 14.0.0 or 9.2.1
//        "role": "server" | "client",
//        "transport": "unix" | "tcp",
//        "id": "...",                      server: its config.id; client: the
//                                          id it connects to (ipc.of[id])
//        "path": "..." | null,             unix: socket path (null: by id)
//        "host": "...", "port": N,         tcp
//        "replyDelay": MS,                 server: answer each "req" after MS
//        "echoRaw": true,                  raw server: send every chunk back
//        "config": {...}}                  merged into ipc.config (rawBuffer,
//                                          encoding, sync, parser, ...)
//
// Raw mode (config.rawBuffer): every chunk received is printed as
// {"ev": "data", "hex": H}. Framed mode: a server answers "req" with "ack"
// (same data) after replyDelay ms and counts how many requests were waiting
// for their answer at once; it echoes "seq" at once. Every application event
// is printed as {"ev": "event", "type": T, "data": D}.
//
// Commands, one JSON object per line on stdin:
//   {"cmd": "raw", "hex": H}               emit Buffer.from(H, 'hex')
//   {"cmd": "rawstr", "text": S}           emit the string S (node-ipc encodes
//                                          it with config.encoding)
//   {"cmd": "rawbroadcast", "hex": H}      server: broadcast the bytes
//   {"cmd": "emit", "type": T, "data": D}  emit an event
//   {"cmd": "burst", "type": T, "count": N} emit T with data 0..N-1 at once
//   {"cmd": "report"}                      print {"ev": "report", "received":
//                                          [data of every "req"], "maxInFlight": N}
//   {"cmd": "exit"}                        exit now
// Servers emit to the newest socket. The peer exits when stdin closes.
// Lifecycle lines: {"ev": "ready"}, "start", "connect", "disconnect",
// "destroy", "socket.disconnected", and "error" with "code" and "message".
import {createRequire} from 'node:module';
import {out, serveCommands} from './commands.mjs';
import ipc14 from 'node-ipc';

const spec = JSON.parse(process.argv[2]);
const ipc = spec.version === '9'
    ? new (createRequire(import.meta.url)('node-ipc-9').IPC)()
    : new ipc14.IPC();

Object.assign(ipc.config, {silent: true, retry: 100}, spec.config || {});
if (spec.role === 'server' && spec.id) ipc.config.id = spec.id;
const raw = Boolean(ipc.config.rawBuffer);

const LIFECYCLE = new Set([
    'start', 'connect', 'disconnect', 'destroy', 'close', 'socket.disconnected', 'error', 'data',
]);
const sockets = [];
const received = [];
let inFlight = 0;
let maxInFlight = 0;

function onError(error) {
    out({ev: 'error', code: error && error.code, message: String(error && error.message)});
}

function onEvents(emitter, answer) {
    // Every event passes through the instance's publish() in both versions.
    const publish = emitter.publish;
    emitter.publish = function (type, ...args) {
        if (!LIFECYCLE.has(type)) {
            out(args[0] === undefined ? {ev: 'event', type} : {ev: 'event', type, data: args[0]});
            if (answer) answer(type, args[0], args[1]);
        }
        return publish.call(this, type, ...args);
    };
}

let send = null;  // (payload...) => emit on the newest socket or the client

if (spec.role === 'server') {
    const started = (spec.transport === 'tcp')
        ? (cb) => ipc.serveNet(spec.host, spec.port, cb)
        : (cb) => (spec.path ? ipc.serve(spec.path, cb) : ipc.serve(cb));
    started(() => out({ev: 'start'}));
    const server = ipc.server;
    server.on('connect', (socket) => {
        sockets.push(socket);
        out({ev: 'connect', clients: sockets.length});
    });
    server.on('socket.disconnected', (socket, id) => {
        const index = sockets.indexOf(socket);
        if (index !== -1) sockets.splice(index, 1);
        out({ev: 'socket.disconnected', id});
    });
    server.on('error', onError);
    if (raw) {
        server.on('data', (data, socket) => {
            out({ev: 'data', hex: Buffer.from(data).toString('hex')});
            if (spec.echoRaw) server.emit(socket, data);
        });
    } else {
        onEvents(server, (type, data, socket) => {
            if (type === 'seq') {
                server.emit(socket, 'seq', data);
            } else if (type === 'req') {
                received.push(data);
                inFlight += 1;
                maxInFlight = Math.max(maxInFlight, inFlight);
                setTimeout(() => {
                    inFlight -= 1;
                    server.emit(socket, 'ack', data);
                }, spec.replyDelay || 0);
            }
        });
    }
    send = (...payload) => server.emit(sockets[sockets.length - 1], ...payload);
    server.start();
} else {
    const connect = (spec.transport === 'tcp')
        ? (cb) => ipc.connectToNet(spec.id, spec.host, spec.port, cb)
        : (cb) => (spec.path ? ipc.connectTo(spec.id, spec.path, cb) : ipc.connectTo(spec.id, cb));
    connect(() => {
        const client = ipc.of[spec.id];
        for (const name of ['connect', 'disconnect', 'destroy']) {
            client.on(name, () => out({ev: name}));
        }
        client.on('error', onError);
        if (raw) {
            client.on('data', (data) => out({ev: 'data', hex: Buffer.from(data).toString('hex')}));
        } else {
            onEvents(client, null);
        }
    });
    send = (...payload) => ipc.of[spec.id].emit(...payload);
}

function run(command) {
    switch (command.cmd) {
    case 'raw':
        send(Buffer.from(command.hex, 'hex'));
        break;
    case 'rawstr':
        send(command.text);
        break;
    case 'rawbroadcast':
        ipc.server.broadcast(Buffer.from(command.hex, 'hex'));
        break;
    case 'emit':
        if ('data' in command) send(command.type, command.data);
        else send(command.type);
        break;
    case 'burst':
        for (let i = 0; i < command.count; i++) send(command.type, i);
        out({ev: 'burst-sent', count: command.count});
        break;
    case 'report':
        out({ev: 'report', received, maxInFlight});
        break;
    case 'exit':
        process.exit(0);
        break;
    default:
        out({ev: 'error', message: `unknown command ${command.cmd}`});
    }
}

serveCommands(run);
