// A node-ipc 14 server for tests/test_cli.py.
//   node server.mjs path <socketPath> <greetJson>
//   node server.mjs tcp <port> <greetJson>
// Emits each [type, data] of greetJson to every client that connects ('buffer'
// data as a Buffer of those bytes), prints every event it receives as a JSON
// line {"type", "data"}, and prints "listening" once it serves. Stops on SIGTERM.
import ipc from 'node-ipc';

const [mode, where, greetJson = '[]'] = process.argv.slice(2);
const greet = JSON.parse(greetJson);
ipc.config.id = 'node-server';
ipc.config.silent = !process.env.NODE_IPC_LOG;

function started() {
    ipc.server.on('connect', (socket) => {
        for (const [type, data] of greet) {
            // 'buffer' greets with a Node Buffer of the given bytes
            ipc.server.emit(socket, type, type === 'buffer' ? Buffer.from(data) : data);
        }
    });
    for (const type of ['message', 'ping', 'obj', 'hello']) {
        ipc.server.on(type, (data) => {
            process.stdout.write(JSON.stringify({ type, data }) + '\n');
        });
    }
    process.stdout.write('listening\n');
}

if (mode === 'tcp') {
    ipc.serveNet('127.0.0.1', Number(where), started);
} else {
    ipc.serve(where, started);
}
ipc.server.start();
process.on('SIGTERM', () => {
    ipc.server.stop();
    process.exit(0);
});
