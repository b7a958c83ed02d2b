// A hostile peer on plain node:net, for fastipc's guarded-profile tests.
//
//   node hostile.mjs SPEC_JSON
//
// SPEC: {"role": "client" | "server",
//        "path": "..." | null,             a Unix socket path, or
//        "host": "...", "port": N,         TCP
//        "hex": H,                         bytes written once connected (a
//                                          server writes them to every client)
//        "hold": true,                     keep the connection open after
//                                          writing (false: end it)
//        "read": true}                     false: never read (socket.pause())
//
// Output, one JSON object per line: {"ev": "ready"} (client: connecting;
// server: listening), {"ev": "connected", "n": N} per connection, {"ev":
// "data", "hex": H} for what is read, {"ev": "closed", "n": N} when a
// connection ends, {"ev": "error", "code": C} on a socket error.
// Commands on stdin: {"cmd": "write", "hex": H} writes to every open
// connection. The process exits when stdin closes.
import net from 'node:net';
import readline from 'node:readline';

const spec = JSON.parse(process.argv[2]);
const payload = Buffer.from(spec.hex || '', 'hex');
const open = new Set();
let count = 0;

function out(message) {
    process.stdout.write(JSON.stringify(message) + '\n');
}

function attach(socket) {
    const n = ++count;
    open.add(socket);
    out({ev: 'connected', n});
    if (spec.read === false) {
        socket.pause();
    } else {
        socket.on('data', (data) => out({ev: 'data', n, hex: data.toString('hex')}));
    }
    socket.on('error', (error) => out({ev: 'error', n, code: error.code}));
    socket.on('close', () => {
        open.delete(socket);
        out({ev: 'closed', n});
    });
    if (payload.length) socket.write(payload);
    if (spec.hold === false) socket.end();
}

const where = spec.path ? {path: spec.path} : {host: spec.host, port: spec.port};

if (spec.role === 'server') {
    const server = net.createServer(attach);
    server.listen(where, () => out({ev: 'ready'}));
} else {
    const socket = net.connect(where, () => attach(socket));
    socket.on('error', (error) => out({ev: 'error', n: 0, code: error.code}));
    out({ev: 'ready'});
}

const commands = readline.createInterface({input: process.stdin});
commands.on('line', (line) => {
    if (!line.trim()) return;
    const command = JSON.parse(line);
    if (command.cmd === 'write') {
        for (const socket of open) socket.write(Buffer.from(command.hex, 'hex'));
    }
});
commands.on('close', () => process.exit(0));
