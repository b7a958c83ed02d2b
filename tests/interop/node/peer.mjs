// A node-ipc peer for fastipc's API interop tests, driven over stdio.
//
//   node peer.mjs SPEC_JSON
//
// SPEC: {"version": "14" | "9",            node-ipc 14.0.0 or 9.2.1
//        "role": "server" | "client",
//        "transport": "unix" | "tcp",
//        "id": "...",                      server: its config.id; client: the
//                                          id it connects to (ipc.of[id])
//        "path": "..." | null,             unix: explicit socket path, or null
//                                          for socketRoot + appspace + id
//        "host": "...", "port": N,         tcp
//        "config": {...}}                  merged into ipc.config (socketRoot,
//                                          appspace, delimiter, retry, ...)
//
// Commands, one JSON object per line on stdin:
//   {"cmd": "emit", "type": T, "data": D}  client: ipc.of[id].emit; server:
//                                          server.emit(socket, ...) to socket
//                                          number "to" (default: the newest).
//                                          No "data" key means emit(T).
//   {"cmd": "broadcast", "type": T, "data": D}            server only
//   {"cmd": "burst", "type": T, "count": N}   emit T with data 0..N-1 in one
//                                          synchronous loop
//   {"cmd": "collect", "type": T, "count": N} stop printing events of type T;
//                                          print {"ev": "collected"} with all
//                                          their data once N have arrived
//                                          (acknowledged by {"ev": "collecting"})
//   {"cmd": "report", "type": T}           print what T has collected so far
//   {"cmd": "end"}                         client: end the socket once all it
//                                          wrote is sent (set stopRetrying)
//   {"cmd": "disconnect"}                  client: ipc.disconnect(id)
//   {"cmd": "stop"}                        server: ipc.server.stop()
//   {"cmd": "exit"}                        exit now
// The peer exits when stdin closes, so it never outlives its test.
//
// Output, one JSON object per line on stdout (or the file FASTIPC_PEER_OUT
// names): {"ev": "ready", "pid": N} once set up,
// then lifecycle events ("start", "connect", "disconnect", "destroy",
// "socket.disconnected" with "id", "error" with "message") and
// {"ev": "event", "type": T, "data": D} for every application event.
import fs from 'node:fs';
import {createRequire} from 'node:module';
import {serveCommands} from './commands.mjs';
import ipc14 from 'node-ipc';

const spec = JSON.parse(process.argv[2]);
const ipc = spec.version === '9'
    ? new (createRequire(import.meta.url)('node-ipc-9').IPC)()
    : new ipc14.IPC();

Object.assign(ipc.config, {silent: true, retry: 100}, spec.config || {});

const LIFECYCLE = new Set([
    'start', 'connect', 'disconnect', 'destroy', 'close', 'socket.disconnected', 'error', 'data',
]);
const collecting = new Map();  // type -> {count, data: []}
const sockets = [];

// Under Wine, Windows Node cannot write to a pipe (EBADF): there the peer
// reports to the file FASTIPC_PEER_OUT names instead of stdout.
const sink = process.env.FASTIPC_PEER_OUT ? fs.openSync(process.env.FASTIPC_PEER_OUT, 'a') : null;

function out(message) {
    const line = JSON.stringify(message) + '\n';
    if (sink === null) process.stdout.write(line);
    else fs.writeSync(sink, line);
}

function received(type, data) {
    const bucket = collecting.get(type);
    if (bucket) {
        bucket.data.push(data);
        if (bucket.data.length === bucket.count) {
            out({ev: 'collected', type, data: bucket.data});
        }
        return;
    }
    out(data === undefined ? {ev: 'event', type} : {ev: 'event', type, data});
}

function onEvents(emitter) {
    // Every event goes through the instance's publish() in both versions.
    // (A '*' handler would not do: 9.2.1's event-pubsub runs its ES5 build
    // on Node >= 10 and there a catch-all handler breaks on string data.)
    const publish = emitter.publish;
    emitter.publish = function (type, ...args) {
        if (!LIFECYCLE.has(type)) received(type, args[0]);
        return publish.call(this, type, ...args);
    };
}

let target = null;  // what "emit" writes through

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
    server.on('error', (error) => out({ev: 'error', message: String(error && error.message)}));
    onEvents(server);
    target = {
        emit(command, type, ...data) {
            const socket = sockets[command.to ?? sockets.length - 1];
            server.emit(socket, type, ...data);
        },
    };
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
        client.on('error', (error) => out({ev: 'error', message: String(error && error.message)}));
        onEvents(client);
    });
    target = {
        emit(command, type, ...data) {
            ipc.of[spec.id].emit(type, ...data);
        },
    };
}

function run(command) {
    switch (command.cmd) {
    case 'emit':
        if ('data' in command) target.emit(command, command.type, command.data);
        else target.emit(command, command.type);
        break;
    case 'broadcast':
        if ('data' in command) ipc.server.broadcast(command.type, command.data);
        else ipc.server.broadcast(command.type);
        break;
    case 'burst':
        for (let i = 0; i < command.count; i++) target.emit(command, command.type, i);
        out({ev: 'burst-sent', type: command.type, count: command.count});
        break;
    case 'collect':
        collecting.set(command.type, {count: command.count, data: []});
        out({ev: 'collecting', type: command.type});
        break;
    case 'report':
        out({ev: 'collected', type: command.type, data: collecting.get(command.type)?.data ?? [], partial: true});
        break;
    case 'disconnect':
        ipc.disconnect(spec.id);
        out({ev: 'disconnected-by-command'});
        break;
    case 'end':
        // client: half-close after everything written has been sent
        ipc.of[spec.id].socket.end();
        out({ev: 'ended'});
        break;
    case 'stop':
        ipc.server.stop();
        out({ev: 'stopped'});
        break;
    case 'exit':
        process.exit(0);
        break;
    default:
        out({ev: 'error', message: `unknown command ${command.cmd}`});
    }
}

serveCommands(run, out, {ev: 'ready', pid: process.pid});
