// node-ipc 14's lifecycle and runtime-config behaviour, one scenario per run,
// for tests/interop/test_lifecycle_interop.py.
//
//   node lifecycle.mjs SCENARIO SOCKET_ROOT
//
// Runs the scenario with node-ipc 14 (server and clients are separate IPC
// instances in this one process, each with its own config object, as separate
// programs would be) and prints one JSON line: {"logs": {PARTY: [EVENT, ...]}}.
// PARTY is "server", "c1", "c2" or "timeouts" (a wait that ran out, named).
// EVENT is the event name, with the server socket's tag ("s0", "s1": the order
// in which the server saw them connect) and, for errors, the error's code:
//   server: start, connect:sN, close:sN, socket.disconnected:sN:<id as JSON>,
//           error:<code>
//   client: connect, disconnect, destroy, error:<code>
// What happens while the scenario cleans up after itself is not recorded.
// test_lifecycle_interop.py runs the same steps with fastipc and compares.
import ipc14 from 'node-ipc';

const [scenario, socketRoot] = process.argv.slice(2);
const SERVER_ID = 'srv';
const WAIT = 20000;

const logs = {};
let recording = true;

function record(party, entry) {
    if (recording) {
        (logs[party] ??= []).push(entry);
    }
}

function count(party, entry) {
    return (logs[party] || []).filter((e) => e === entry).length;
}

function errorTag(error) {
    return `error:${error?.code || error?.name || 'error'}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Wait until ready() holds, at most WAIT ms; a wait that runs out is recorded
// (so the logs differ) and the scenario carries on to its end.
async function until(what, ready, timeout = WAIT) {
    const deadline = Date.now() + timeout;
    while (!ready()) {
        if (Date.now() > deadline) {
            record('timeouts', what);
            return false;
        }
        await sleep(5);
    }
    return true;
}

function makeIpc(config) {
    const ipc = new ipc14.IPC();
    Object.assign(ipc.config, {silent: true, socketRoot: `${socketRoot}/`, appspace: 'lc.'}, config);
    return ipc;
}

const instances = [];
const serverSockets = [];  // the server's sockets, by tag number

// A server on socketRoot + appspace + 'srv'; serve() only: call start().
function makeServer(config = {}, party = 'server') {
    const ipc = makeIpc({id: SERVER_ID, ...config});
    const tags = new Map();
    const tag = (socket) => tags.get(socket) ?? '?';
    serverSockets.length = 0;
    ipc.serve(() => {});
    const server = ipc.server;
    server.on('start', () => record(party, 'start'));
    server.on('connect', (socket) => {
        tags.set(socket, `s${tags.size}`);
        serverSockets.push(socket);
        record(party, `connect:${tag(socket)}`);
    });
    server.on('hello', (data, socket) => record(party, `hello:${tag(socket)}`));
    server.on('close', (socket) => record(party, `close:${tag(socket)}`));
    server.on('socket.disconnected', (socket, id) => {
        record(party, `socket.disconnected:${tag(socket)}:${JSON.stringify(id)}`);
    });
    server.on('error', (error) => record(party, errorTag(error)));
    instances.push({ipc, server: true});
    return ipc;
}

// A client named `name` connecting to 'srv'; onEvent(entry, ipc) runs after
// each of its events is recorded.
function makeClient(name, config = {}, {onEvent = () => {}, onConnectTo = () => {}} = {}) {
    const ipc = makeIpc(config);
    instances.push({ipc, server: false});
    ipc.connectTo(SERVER_ID, () => {
        const client = ipc.of[SERVER_ID];
        const log = (entry) => {
            record(name, entry);
            onEvent(entry, ipc);
        };
        client.on('connect', () => log('connect'));
        client.on('disconnect', () => log('disconnect'));
        client.on('destroy', () => log('destroy'));
        client.on('error', (error) => log(errorTag(error)));
        onConnectTo(ipc);
    });
    return ipc;
}

async function startServer(config) {
    const ipc = makeServer(config);
    ipc.server.start();
    await until('server start', () => count('server', 'start') >= 1);
    return ipc;
}

async function connectClient(name, config, hooks, serverConnects) {
    const ipc = makeClient(name, config, hooks);
    await until(`${name} connect`, () => count(name, 'connect') >= 1);
    await until(`server connect ${serverConnects}`, () => (logs.server || []).filter(
        (e) => e.startsWith('connect:')).length >= serverConnects);
    return ipc;
}

const destroyedOr = (party, limit) => () => count(party, 'destroy') >= 1 ||
    count(party, 'disconnect') >= limit;

const scenarios = {
    // a. server.stop() with two clients connected
    async stop_with_two_clients() {
        const server = await startServer();
        await connectClient('c1', {retry: 50, maxRetries: 2}, {}, 1);
        await connectClient('c2', {retry: 50, maxRetries: 2}, {}, 2);
        server.server.stop();
        await until('c1 destroy', destroyedOr('c1', 10));
        await until('c2 destroy', destroyedOr('c2', 10));
        await sleep(100);
    },

    // b. retry exhaustion against a missing server
    async retry_exhaustion() {
        makeClient('c1', {retry: 20, maxRetries: 2});
        await until('c1 destroy', destroyedOr('c1', 10));
        await sleep(100);
    },

    // c. stopRetrying set in the 3rd disconnect handler
    async stop_retrying_at_runtime() {
        const onEvent = (entry, ipc) => {
            if (entry === 'disconnect' && count('c1', 'disconnect') === 3) {
                ipc.config.stopRetrying = true;
            }
        };
        makeClient('c1', {retry: 20}, {onEvent});
        await until('c1 destroy', destroyedOr('c1', 10));
        await sleep(100);
    },

    // c. maxRetries raised after connectTo: the re-arm on connect uses it
    async max_retries_at_runtime() {
        const server = await startServer();
        const onConnectTo = (ipc) => {
            ipc.config.maxRetries = 3;
        };
        await connectClient('c1', {retry: 20, maxRetries: 1}, {onConnectTo}, 1);
        server.server.stop();
        await until('c1 destroy', destroyedOr('c1', 10));
        await sleep(100);
    },

    // c. retry changed in the 1st disconnect handler: the next timer uses it
    async retry_at_runtime() {
        const onEvent = (entry, ipc) => {
            if (entry === 'disconnect' && count('c1', 'disconnect') === 1) {
                ipc.config.retry = 600000;
            }
        };
        makeClient('c1', {retry: 20, maxRetries: 5}, {onEvent});
        await until('c1 two errors', () => count('c1', 'error:ENOENT') >= 2);
        await sleep(1500);
    },

    // c. maxConnections set between serve() and start()
    async max_connections_before_start() {
        const server = makeServer();
        server.config.maxConnections = 1;
        server.server.start();
        await until('server start', () => count('server', 'start') >= 1);
        await connectClient('c1', {}, {}, 1);
        makeClient('c2', {maxRetries: 0});
        await until('c2 destroy', destroyedOr('c2', 10));
        await sleep(100);
    },

    // c. maxConnections raised after start()
    async max_connections_after_start() {
        const server = await startServer({maxConnections: 1});
        server.config.maxConnections = 5;
        await connectClient('c1', {}, {}, 1);
        makeClient('c2', {maxRetries: 0});
        await until('c2 destroy', destroyedOr('c2', 10));
        await sleep(100);
    },

    // c. stopRetrying set while connected: the close that follows is final
    async stop_retrying_while_connected() {
        const server = await startServer();
        const client = await connectClient('c1', {retry: 20}, {}, 1);
        client.config.stopRetrying = true;
        server.server.stop();
        await until('c1 destroy', destroyedOr('c1', 10));
        await sleep(100);
    },

    // c. identifyPeer set after serve() does nothing: node-ipc picks the
    // dispatcher when the server is made
    async identify_peer_after_serve() {
        const server = makeServer();
        server.config.identifyPeer = true;
        server.server.start();
        await until('server start', () => count('server', 'start') >= 1);
        const client = await connectClient('c1', {}, {}, 1);
        client.of[SERVER_ID].emit('hello', {id: 'c1'});
        await until('server hello', () => count('server', 'hello:s0') >= 1);
        client.disconnect(SERVER_ID);
        await until('server close', () => count('server', 'close:s0') >= 1);
        await sleep(100);
    },

    // c. unlink=false set after serve(), before start(): start() reads it, so
    // a second server on the same path fails with EADDRINUSE instead of
    // taking the path over
    async unlink_at_start() {
        await startServer();
        const second = makeServer({}, 'server2');
        second.config.unlink = false;
        second.server.start();
        await until('server2 error', () => (logs.server2 || []).length >= 1);
        await sleep(100);
    },

    // d. the server destroys one client's socket: the client retries and
    // connects again
    async server_destroys_socket() {
        await startServer();
        await connectClient('c1', {retry: 20}, {}, 1);
        serverSockets[0].destroy();
        await until('c1 reconnect', () => count('c1', 'connect') >= 2);
        await until('server second connect', () => count('server', 'connect:s1') >= 1);
        await sleep(100);
    },

    // d. ipc.disconnect(id) while connected
    async disconnect_while_connected() {
        await startServer();
        const client = await connectClient('c1', {retry: 50}, {}, 1);
        client.disconnect(SERVER_ID);
        await until('server close', () => count('server', 'close:s0') >= 1);
        await sleep(200);
    },

    // d. ipc.disconnect(id) between two attempts; a server started afterwards
    // sees no connection (no retry follows)
    async disconnect_while_retrying() {
        const client = makeClient('c1', {retry: 300});
        await until('c1 disconnect', () => count('c1', 'disconnect') >= 1);
        client.disconnect(SERVER_ID);
        await startServer();
        await sleep(1000);
    },

    // e. the server restarts while a client retries: it reconnects, and that
    // connect re-arms its retry budget
    async server_restart() {
        const server = await startServer();
        await connectClient('c1', {retry: 300, maxRetries: 2}, {}, 1);
        server.server.stop();
        await until('c1 first failed retry', () => count('c1', 'error:ENOENT') >= 1);
        server.server.start();
        await until('c1 reconnect', () => count('c1', 'connect') >= 2);
        await until('server second connect', () => count('server', 'connect:s1') >= 1);
        server.server.stop();
        await until('c1 destroy', destroyedOr('c1', 10));
        await sleep(100);
    },
};

async function main() {
    const run = scenarios[scenario];
    if (!run) {
        throw new Error(`unknown scenario ${scenario}`);
    }
    try {
        await run();
    } finally {
        recording = false;
        for (const {ipc, server} of instances) {
            if (server) {
                ipc.server.stop();
            } else {
                ipc.disconnect(SERVER_ID);
            }
        }
    }
    process.stdout.write(JSON.stringify({logs}) + '\n');
    process.exit(0);
}

main().catch((error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
});
