// A node-ipc 14 peer for fastipc's request/reply interop tests.
//
//   node rpc_peer.mjs SPEC_JSON
//
// SPEC: {"role": "server" | "client",
//        "transport": "unix" | "tcp",
//        "id": "...",                      server: its config.id; client: the
//                                          id it connects to (ipc.of[id])
//        "path": "..." | null,             unix: socket path (null: by id)
//        "host": "...", "port": N,         tcp
//        "config": {...}}                  merged into ipc.config
//
// Either role answers fastipc's requests with plain node-ipc code: it
// listens for 'fastipc.request' ({id, type, data}) and emits
// 'fastipc.reply' ({id, data} or {id, error: {type, message, traceback}})
// to the socket (server) or the server (client) that asked. By type:
//   add       {a, b} -> a + b
//   echo      data -> data
//   fail      an error answer: a TypeError thrown and caught, its stack as
//             the traceback
//   gather    data {i, total}: held until `total` gather requests are held,
//             then all answered in reverse order of arrival with {i, square}
//   jitter    data {i}: answered with {i, square} after a random 0-20 ms
//   hold      held until the "release" command
//   anything else: an error answer {type: 'LookupError', ...}
// Every request is printed as {"ev": "request", "msg": M} (with "gather"
// only the last of a batch, to keep the output short).
//
// It also asks, with the same few lines a user would write: every
// 'fastipc.reply' that arrives is printed as {"ev": "reply", "msg": M}.
//
// Commands, one JSON object per line on stdin:
//   {"cmd": "request", "type": T, "data": D}   send one request (no "data"
//                                          key: a request without data);
//                                          prints {"ev": "sent", "id": N}
//   {"cmd": "burst", "type": T, "count": N}    send N requests of T at once
//                                          with data 0..N-1; prints
//                                          {"ev": "burst-sent", "ids": [...]}
//   {"cmd": "release"}                     answer the held requests, in order
//                                          of arrival, with their data;
//                                          prints {"ev": "released", "ids": [...]}
//   {"cmd": "exit"}                        exit now
// A server sends to its newest socket. The peer exits when stdin closes.
// Lifecycle lines: {"ev": "ready"}, "start", "connect",
// "socket.disconnected", "disconnect", and "error" with "message".
import {out, serveCommands} from './commands.mjs';
import ipc14 from 'node-ipc';

const spec = JSON.parse(process.argv[2]);
const ipc = new ipc14.IPC();
Object.assign(ipc.config, {silent: true, retry: 100}, spec.config || {});

const sockets = [];
const gathered = [];  // [msg, reply] until the batch is complete
const held = [];      // [msg, reply] until "release"
let nextId = 0;

// The answering side: what a user's node-ipc code does with a request.
function answer(msg, reply) {
    if (msg.type !== 'gather') out({ev: 'request', msg});
    switch (msg.type) {
    case 'add':
        reply({id: msg.id, data: msg.data.a + msg.data.b});
        break;
    case 'echo':
        reply({id: msg.id, data: msg.data});
        break;
    case 'fail':
        try {
            throw new TypeError(`cannot take ${JSON.stringify(msg.data)}`);
        } catch (error) {
            reply({id: msg.id, error: {type: error.name, message: error.message, traceback: error.stack}});
        }
        break;
    case 'gather':
        gathered.push([msg, reply]);
        if (gathered.length === msg.data.total) {
            out({ev: 'request', msg});
            for (const [m, r] of gathered.splice(0).reverse()) {
                r({id: m.id, data: {i: m.data.i, square: m.data.i * m.data.i}});
            }
        }
        break;
    case 'jitter':
        setTimeout(() => reply({id: msg.id, data: {i: msg.data.i, square: msg.data.i * msg.data.i}}),
            Math.random() * 20);
        break;
    case 'hold':
        held.push([msg, reply]);
        break;
    default:
        reply({id: msg.id, error: {type: 'LookupError', message: `no handler for ${msg.type}`}});
    }
}

let send = null;  // (type, data) => emit to the newest socket or the server

if (spec.role === 'server') {
    const serve = (spec.transport === 'tcp')
        ? (cb) => ipc.serveNet(spec.host, spec.port, cb)
        : (cb) => (spec.path ? ipc.serve(spec.path, cb) : ipc.serve(cb));
    ipc.config.id = spec.id;
    serve(() => out({ev: 'start'}));
    const server = ipc.server;
    server.on('connect', (socket) => {
        sockets.push(socket);
        out({ev: 'connect', clients: sockets.length});
    });
    server.on('socket.disconnected', (socket) => {
        const index = sockets.indexOf(socket);
        if (index !== -1) sockets.splice(index, 1);
        out({ev: 'socket.disconnected'});
    });
    server.on('error', (error) => out({ev: 'error', message: String(error && error.message)}));
    server.on('fastipc.request', (msg, socket) => {
        answer(msg, (payload) => server.emit(socket, 'fastipc.reply', payload));
    });
    server.on('fastipc.reply', (msg) => out({ev: 'reply', msg}));
    send = (type, data) => server.emit(sockets[sockets.length - 1], type, data);
    server.start();
} else {
    const connect = (spec.transport === 'tcp')
        ? (cb) => ipc.connectToNet(spec.id, spec.host, spec.port, cb)
        : (cb) => (spec.path ? ipc.connectTo(spec.id, spec.path, cb) : ipc.connectTo(spec.id, cb));
    connect(() => {
        const client = ipc.of[spec.id];
        client.on('connect', () => out({ev: 'connect'}));
        client.on('disconnect', () => out({ev: 'disconnect'}));
        client.on('error', (error) => out({ev: 'error', message: String(error && error.message)}));
        client.on('fastipc.request', (msg) => {
            answer(msg, (payload) => client.emit('fastipc.reply', payload));
        });
        client.on('fastipc.reply', (msg) => out({ev: 'reply', msg}));
    });
    send = (type, data) => ipc.of[spec.id].emit(type, data);
}

function request(type, data, withData) {
    nextId += 1;
    send('fastipc.request', withData ? {id: nextId, type, data} : {id: nextId, type});
    return nextId;
}

function run(command) {
    switch (command.cmd) {
    case 'request':
        out({ev: 'sent', id: request(command.type, command.data, 'data' in command)});
        break;
    case 'burst': {
        const ids = [];
        for (let i = 0; i < command.count; i++) ids.push(request(command.type, i, true));
        out({ev: 'burst-sent', ids});
        break;
    }
    case 'release': {
        const ids = [];
        for (const [m, r] of held.splice(0)) {
            ids.push(m.id);
            r({id: m.id, data: m.data});
        }
        out({ev: 'released', ids});
        break;
    }
    case 'exit':
        process.exit(0);
        break;
    default:
        out({ev: 'error', message: `unknown command ${command.cmd}`});
    }
}

serveCommands(run);
