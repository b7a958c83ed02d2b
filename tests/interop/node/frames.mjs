// Frame oracle for fastipc's interop tests: node-ipc itself produces the
// expected bytes, so no expected frame is ever typed by hand.
//
//   node frames.mjs encode  CASES.json           node-ipc 14's parser.encode
//   node frames.mjs reencode FRAMES.json         parse with node-ipc 14's
//                                                reader, encode again
//   node frames.mjs emit14|emit9 SOCKET CASES.json
//                                                a real node-ipc client (14 or
//                                                9.2.1) connects to SOCKET and
//                                                emits every case
//
// CASES.json: [{"type": "...", "js": "<JS expression or null for no data>",
//               "delimiter": "\f"?}]. FRAMES.json: {"delimiter": "...",
// "frames": ["<base64>", ...]}. Output: JSON on stdout, frames as base64.
import fs from 'node:fs';
import {createRequire} from 'node:module';
import {Parser} from 'node-ipc/parsers';

const [mode, ...args] = process.argv.slice(2);

function value(js) {
    // Case values are JS source written in the test next to the Python
    // value, because JSON cannot carry -0, NaN, lone surrogates or Buffers.
    return js === null ? undefined : new Function(`return (${js});`)();
}

function b64(text) {
    return Buffer.from(text, 'utf8').toString('base64');
}

function encode(file) {
    const cases = JSON.parse(fs.readFileSync(file, 'utf8'));
    const out = cases.map((c) => {
        const parser = new Parser({delimiter: c.delimiter ?? '\f'});
        const v = value(c.js);
        return b64(v === undefined ? parser.encode(c.type) : parser.encode(c.type, v));
    });
    process.stdout.write(JSON.stringify(out));
}

function reencode(file) {
    const {delimiter, frames} = JSON.parse(fs.readFileSync(file, 'utf8'));
    const parser = new Parser({delimiter});
    const out = [];
    for (const f of frames) {
        // Through node-ipc's own stream reader, as a socket would feed it.
        const rest = parser.read('', Buffer.from(f, 'base64').toString('utf8'), (message) => {
            out.push(b64(parser.encode(message.type, message.data)));
        });
        if (rest !== '') throw new Error(`frame left a remainder: ${JSON.stringify(rest)}`);
    }
    process.stdout.write(JSON.stringify(out));
}

async function emit(version, socketPath, file) {
    const cases = JSON.parse(fs.readFileSync(file, 'utf8'));
    let ipc;
    if (version === 14) {
        ipc = (await import('node-ipc')).default;
    } else {
        ipc = createRequire(import.meta.url)('node-ipc-9');
    }
    ipc.config.silent = true;
    ipc.config.maxRetries = 0;
    ipc.connectTo('oracle', socketPath, () => {
        const client = ipc.of.oracle;
        client.on('connect', () => {
            for (const c of cases) {
                const v = value(c.js);
                if (v === undefined) client.emit(c.type);
                else client.emit(c.type, v);
            }
            // Let the writes drain, then close: the server reads to EOF.
            client.socket.end(() => process.exit(0));
        });
        client.on('error', (err) => {
            console.error(String(err));
            process.exit(2);
        });
    });
}

if (mode === 'encode') encode(args[0]);
else if (mode === 'reencode') reencode(args[0]);
else if (mode === 'emit14') await emit(14, args[0], args[1]);
else if (mode === 'emit9') await emit(9, args[0], args[1]);
else {
    console.error(`unknown mode ${mode}`);
    process.exit(64);
}
