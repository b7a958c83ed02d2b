// One process of the end-to-end benchmark, Node side: node-ipc 14 as a server
// or a client, mirroring bench/e2e/peer.py (same arguments, same JSON lines on
// stdout, same payloads). Run with Node 22: node_modules/.bin/node.
//
//   node peer.mjs --role server|client --workload oneway|rtt|latency|fanout|large|connections|request
//                 --transport unix|tcp --addr PATH|PORT --n N [--warmup W] [--clients 4]
//                 [--latency-n L]   (request: L one-at-a-time round trips after the N)
//
// Senders honour backpressure as a careful node-ipc user does: when emit /
// broadcast (socket.write) returns false they wait for 'drain'.
import ipcModule from 'node-ipc';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const MIB = 1024 * 1024;
const WINDOW = 64;

const args = {warmup: '0', clients: '4'};
for (let i = 2; i < process.argv.length; i += 2) {
    args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const n = Number(args.n);
const warmup = Number(args.warmup);
const nClients = Number(args.clients);
const workload = args.workload;
const tcp = args.transport === 'tcp';

const Y = 'y'.repeat(MIB - 10);
const smallPayload = (i) => String(i).padStart(10, '0') + ALPHABET.slice(0, 54);
const largePayload = (i) => String(i).padStart(10, '0') + Y;
const makePayloads = (w, count) => {
    const make = w === 'large' ? largePayload : smallPayload;
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = make(i);
    return out;
};
const lastPayload = (w, count) => (w === 'large' ? largePayload : smallPayload)(count - 1);
const now = () => Number(process.hrtime.bigint()); // CLOCK_MONOTONIC, as Python's monotonic_ns
const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
};
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const ipc = new ipcModule.IPC();
ipc.config.silent = true;
ipc.config.maxConnections = 100000;

function serve(callback) {
    ipc.config.id = 'bench';
    if (tcp) ipc.serveNet('127.0.0.1', Number(args.addr), callback);
    else ipc.serve(args.addr, callback);
    ipc.server.start();
}

function connect(callback) {
    ipc.config.id = `client${process.pid}`;
    ipc.config.maxRetries = 0;
    ipc.config.stopRetrying = true;
    if (tcp) ipc.connectToNet('bench', '127.0.0.1', Number(args.addr), callback);
    else ipc.connectTo('bench', args.addr, callback);
}

const waitDrain = (socket) => new Promise((resolve) => socket.once('drain', resolve));

function runServer() {
    serve(() => {
        const server = ipc.server;
        if (workload === 'oneway' || workload === 'large') {
            const want = lastPayload(workload, n);
            let count = 0;
            server.on('m', (data, socket) => {
                count++;
                if (count === n) {
                    say({role: 'server', count, last_ok: data === want, t_last: now(), cpu: cpu()});
                    server.emit(socket, 'done', count);
                }
            });
        } else if (workload === 'rtt' || workload === 'latency') {
            let count = 0;
            server.on('m', (data, socket) => {
                count++;
                server.emit(socket, 'm', data);
            });
            server.on('fin', (data, socket) => {
                say({role: 'server', count, cpu: cpu()});
                server.emit(socket, 'done', count);
            });
        } else if (workload === 'fanout') {
            let hellos = 0;
            let fins = 0;
            let tStart = 0;
            const blast = async () => {
                const data = makePayloads('fanout', n);
                tStart = now();
                for (let i = 0; i < n; i++) {
                    if (!server.broadcast('m', data[i])) {
                        for (const s of server.sockets) {
                            if (s.writableNeedDrain) await waitDrain(s);
                        }
                    }
                }
            };
            server.on('hello', () => {
                hellos++;
                if (hellos === nClients) blast();
            });
            server.on('fin', () => {
                fins++;
                if (fins === nClients) say({role: 'server', t_start: tStart, cpu: cpu()});
            });
        } else if (workload === 'request') {
            // fastipc's request/reply wire form, answered with plain node-ipc code
            let count = 0;
            server.on('fastipc.request', (req, socket) => {
                let data = req.data;
                if (req.type === 'fin') {
                    say({role: 'server', count, cpu: cpu()});
                    data = count;
                } else {
                    count++;
                }
                server.emit(socket, 'fastipc.reply', {id: req.id, data});
            });
        } else if (workload === 'connections') {
            let held = 0;
            server.on('hello', () => {
                held++;
                if (held === n) say({role: 'server', count: held, cpu: cpu()});
            });
        }
        say({ready: true, pid: process.pid});
    });
}

function runClient() {
    let client;
    let onConnect;
    const handlers = {};
    connect(() => {
        client = ipc.of.bench;
        client.on('connect', () => onConnect && onConnect());
        client.on('done', (d) => handlers.done && handlers.done(d));
        client.on('m', (d) => handlers.m(d));
        client.on('fastipc.reply', (d) => handlers.reply(d));
    });
    const finish = () => {
        ipc.disconnect('bench');
        setTimeout(() => process.exit(0), 20);
    };
    const connected = new Promise((resolve) => { onConnect = resolve; });
    const doneP = new Promise((resolve) => { handlers.done = resolve; });

    (async () => {
        if (workload === 'oneway' || workload === 'large') {
            const data = makePayloads(workload, n);
            handlers.m = () => {};
            await connected;
            const socket = client.socket;
            const tStart = now();
            for (let i = 0; i < n; i++) {
                if (!client.emit('m', data[i])) await waitDrain(socket);
            }
            await doneP;
            say({role: 'client', t_start: tStart, cpu: cpu()});
        } else if (workload === 'rtt') {
            const data = makePayloads(workload, n);
            const want = data[n - 1];
            let sent = 0;
            let got = 0;
            let resolveEnd;
            const end = new Promise((resolve) => { resolveEnd = resolve; });
            handlers.m = (d) => {
                got++;
                if (sent < n) client.emit('m', data[sent++]);
                if (got === n) resolveEnd([now(), d === want]);
            };
            await connected;
            const tStart = now();
            const first = Math.min(WINDOW, n);
            for (; sent < first;) client.emit('m', data[sent++]);
            const [tEnd, lastOk] = await end;
            const c = cpu();
            client.emit('fin', null);
            await doneP;
            say({role: 'client', count: got, last_ok: lastOk, t_start: tStart, t_end: tEnd, cpu: c});
        } else if (workload === 'latency') {
            const data = makePayloads(workload, n + warmup);
            let resolveOne;
            handlers.m = (d) => resolveOne(d);
            await connected;
            const samples = [];
            let ok = 0;
            for (let i = 0; i < data.length; i++) {
                const p = new Promise((resolve) => { resolveOne = resolve; });
                const t0 = process.hrtime.bigint();
                client.emit('m', data[i]);
                const d = await p;
                samples.push(Number(process.hrtime.bigint() - t0));
                if (d === data[i]) ok++;
            }
            const c = cpu();
            client.emit('fin', null);
            await doneP;
            say({role: 'client', count: samples.length, matched: ok, samples_ns: samples.slice(warmup), cpu: c});
        } else if (workload === 'request') {
            // requests in fastipc's wire form, correlated by id with plain node-ipc code
            const latencyN = Number(args['latency-n'] || 0);
            const total = warmup + n + latencyN;
            const data = new Array(total);
            for (let i = 0; i < total; i++) data[i] = {seq: i, text: smallPayload(i)};
            const same = (a, b) => a !== null && typeof a === 'object' && a.seq === b.seq && a.text === b.text;
            const pending = new Map(); // id -> callback(data)
            let nextId = 0;
            handlers.reply = (r) => {
                const cb = pending.get(r.id);
                pending.delete(r.id);
                cb(r.data);
            };
            const request = (type, value, cb) => {
                const id = ++nextId;
                pending.set(id, cb);
                client.emit('fastipc.request', {id, type, data: value});
            };
            const ask = (type, value) => new Promise((resolve) => request(type, value, resolve));
            await connected;
            let ok = 0;
            for (let i = 0; i < warmup; i++) if (same(await ask('echo', data[i]), data[i])) ok++;
            const end = warmup + n;
            let sent = warmup;
            let got = 0;
            let resolveEnd;
            const ended = new Promise((resolve) => { resolveEnd = resolve; });
            const send = (i) => request('echo', data[i], (d) => {
                if (same(d, data[i])) ok++;
                got++;
                if (sent < end) send(sent++);
                if (got === n) resolveEnd(now());
            });
            const tStart = now();
            while (sent < Math.min(warmup + WINDOW, end)) send(sent++);
            const tEnd = await ended;
            const samples = [];
            for (let i = end; i < total; i++) {
                const t0 = process.hrtime.bigint();
                const d = await ask('echo', data[i]);
                samples.push(Number(process.hrtime.bigint() - t0));
                if (same(d, data[i])) ok++;
            }
            const serverCount = await ask('fin', null);
            say({role: 'client', count: total, matched: ok, t_start: tStart, t_end: tEnd,
                 samples_ns: samples, server_count: serverCount, cpu: cpu()});
        } else if (workload === 'fanout') {
            const want = lastPayload('fanout', n);
            let count = 0;
            let resolveEnd;
            const end = new Promise((resolve) => { resolveEnd = resolve; });
            handlers.m = (d) => {
                count++;
                if (count === n) resolveEnd([now(), d === want]);
            };
            await connected;
            client.emit('hello', null);
            const [tLast, lastOk] = await end;
            const c = cpu();
            client.emit('fin', null);
            say({role: 'client', count, last_ok: lastOk, t_last: tLast, cpu: c});
            await new Promise((r) => setTimeout(r, 50));
        }
        finish();
    })();
}

if (args.role === 'server') runServer();
else runClient();
