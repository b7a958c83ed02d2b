// A plain node:net server (no node-ipc) that records the bytes each
// connection sends, for byte-parity checks.
//
//   node recorder.mjs SOCKET_PATH
//
// Prints {"ev": "listening"} once it listens, then for every connection, when
// the peer closes it, {"ev": "recorded", "conn": N, "b64": "<all bytes>"}.
// It exits when stdin closes.
import fs from 'node:fs';
import net from 'node:net';

const [socketPath] = process.argv.slice(2);
let count = 0;

function out(message) {
    process.stdout.write(JSON.stringify(message) + '\n');
}

try {
    fs.unlinkSync(socketPath);
} catch {
    // nothing stale to remove
}

const server = net.createServer((socket) => {
    const conn = count++;
    const chunks = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => out({ev: 'recorded', conn, b64: Buffer.concat(chunks).toString('base64')}));
});
server.listen(socketPath, () => out({ev: 'listening'}));

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
