// node-ipc 14's own parser, measured the way a node-ipc socket drives it.
//
// Run with Node 22 from npm (the `node` on PATH may be older):
//
//     node_modules/.bin/node bench/node_codec_bench.mjs [--n 200000] [--runs 5]
//         [--warmup 2] [--stream FILE] [--large-n 32] [--large-stream FILE]
//
// Small events are {"type":"m","data":<64 ASCII chars>}\f, payload i being
// `smallPayload(i)` below (bench/codec_bench.py builds the same bytes).
// Large events carry a 1 MiB string, `largePayload(i)`.
//
// What is timed:
//   decode: the stream's bytes (a Buffer) are cut into 64 KiB chunks outside
//     the timer; inside it each chunk goes through a StringDecoder('utf8')
//     (what socket.setEncoding('utf8') does) and then
//     `ipcBuffer = parser.read(ipcBuffer, text, receive)`, exactly the call in
//     node-ipc's dao/socketServer.js and dao/client.js. receive() counts the
//     messages and keeps the last one.
//   encode: `Buffer.from(parser.encode('m', payload), 'utf8')` per event (the
//     frame string, then its UTF-8 bytes, which socket.write(string) must
//     produce), each Buffer kept in an array. `encode_string` times
//     parser.encode alone, for reference.
//
// Checks (exit status 1 on any mismatch): each decode run counts N messages
// whose last one is {type:'m', data: payload(N-1)}; the encoded frames joined
// equal the stream's bytes (so Python and Node measure the same stream).
//
// Prints one JSON object on stdout.

import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {StringDecoder} from 'node:string_decoder';
import {performance} from 'node:perf_hooks';
import os from 'node:os';
import {Parser} from 'node-ipc/parsers';

const CHUNK = 64 * 1024;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const SMALL_LEN = 64;
const LARGE_LEN = 1024 * 1024;

function smallPayload(i) {
    const head = String(i).padStart(10, '0');
    return head + ALPHABET.slice(0, SMALL_LEN - head.length);
}

function largePayload(i) {
    const head = String(i).padStart(10, '0');
    return head + 'y'.repeat(LARGE_LEN - head.length);
}

function parseArgs(argv) {
    const opts = {n: 200000, runs: 5, warmup: 2, stream: null, largeN: 32, largeStream: null};
    const names = {
        '--n': 'n', '--runs': 'runs', '--warmup': 'warmup', '--stream': 'stream',
        '--large-n': 'largeN', '--large-stream': 'largeStream',
    };
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (!key || i + 1 >= argv.length) {
            fail(`unknown or incomplete argument ${argv[i]}`);
        }
        const value = argv[i + 1];
        opts[key] = key === 'stream' || key === 'largeStream' ? value : Number(value);
        if (typeof opts[key] === 'number' && !(Number.isInteger(opts[key]) && opts[key] >= 0)) {
            fail(`${argv[i]} needs a non-negative integer, got ${value}`);
        }
    }
    if (opts.n < 1 || opts.runs < 1) {
        fail('--n and --runs must be at least 1');
    }
    return opts;
}

function fail(message) {
    process.stderr.write(`node_codec_bench: ${message}\n`);
    process.exit(1);
}

function chunksOf(buffer) {
    const chunks = [];
    for (let at = 0; at < buffer.length; at += CHUNK) {
        chunks.push(buffer.subarray(at, at + CHUNK));
    }
    return chunks;
}

function decodeOnce(parser, chunks) {
    let count = 0;
    let last;
    const receive = (message) => {
        count++;
        last = message;
    };
    const t0 = performance.now();
    const decoder = new StringDecoder('utf8');
    let ipcBuffer = '';
    for (let i = 0; i < chunks.length; i++) {
        ipcBuffer = parser.read(ipcBuffer, decoder.write(chunks[i]), receive);
    }
    const tail = decoder.end();
    if (tail) {
        ipcBuffer = parser.read(ipcBuffer, tail, receive);
    }
    const seconds = (performance.now() - t0) / 1000;
    return {seconds, count, last, pending: ipcBuffer.length};
}

function checkDecoded(result, n, payloadOf, what) {
    const want = payloadOf(n - 1);
    if (result.count !== n) {
        fail(`${what}: decoded ${result.count} messages, expected ${n}`);
    }
    if (!result.last || result.last.type !== 'm' || result.last.data !== want) {
        const got = result.last ? String(result.last.data).slice(0, 40) : result.last;
        fail(`${what}: last message is wrong (data starts ${JSON.stringify(got)})`);
    }
    if (result.pending !== 0) {
        fail(`${what}: ${result.pending} characters left undecoded`);
    }
}

function encodeOnce(parser, payloads) {
    const frames = new Array(payloads.length);
    const t0 = performance.now();
    for (let i = 0; i < payloads.length; i++) {
        frames[i] = Buffer.from(parser.encode('m', payloads[i]), 'utf8');
    }
    const seconds = (performance.now() - t0) / 1000;
    return {seconds, frames};
}

function encodeStringOnce(parser, payloads) {
    const frames = new Array(payloads.length);
    const t0 = performance.now();
    for (let i = 0; i < payloads.length; i++) {
        frames[i] = parser.encode('m', payloads[i]);
    }
    const seconds = (performance.now() - t0) / 1000;
    return {seconds, frames};
}

function streamFor(parser, n, payloadOf) {
    const frames = [];
    for (let i = 0; i < n; i++) {
        frames.push(Buffer.from(parser.encode('m', payloadOf(i)), 'utf8'));
    }
    return Buffer.concat(frames);
}

function loadStream(file, parser, n, payloadOf, what) {
    const ours = streamFor(parser, n, payloadOf);
    if (!file) {
        return ours;
    }
    const given = readFileSync(file);
    if (!given.equals(ours)) {
        fail(`${what}: ${file} (${given.length} bytes) is not the stream node-ipc encodes ` +
            `for these ${n} events (${ours.length} bytes)`);
    }
    return given;
}

function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summary(seconds, units) {
    const rates = seconds.map((s) => units / s);
    return {seconds, rates, median_rate: median(rates)};
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    const parser = new Parser({delimiter: '\f'});
    // node-ipc's exports map hides package.json: find it beside the parser.
    const parserFile = fileURLToPath(import.meta.resolve('node-ipc/parsers'));
    const nodeIpcVersion = JSON.parse(
        readFileSync(new URL('../package.json', `file://${parserFile}`), 'utf8')).version;

    // small events
    const stream = loadStream(opts.stream, parser, opts.n, smallPayload, 'small stream');
    const chunks = chunksOf(stream);
    const payloads = Array.from({length: opts.n}, (_, i) => smallPayload(i));

    for (let i = 0; i < opts.warmup; i++) {
        checkDecoded(decodeOnce(parser, chunks), opts.n, smallPayload, 'decode warm-up');
        encodeOnce(parser, payloads);
        encodeStringOnce(parser, payloads);
    }
    const decodeSeconds = [];
    const encodeSeconds = [];
    const encodeStringSeconds = [];
    for (let run = 0; run < opts.runs; run++) {
        const decoded = decodeOnce(parser, chunks);
        checkDecoded(decoded, opts.n, smallPayload, `decode run ${run}`);
        decodeSeconds.push(decoded.seconds);

        const encoded = encodeOnce(parser, payloads);
        if (!Buffer.concat(encoded.frames).equals(stream)) {
            fail(`encode run ${run}: the frames do not join into the stream`);
        }
        encodeSeconds.push(encoded.seconds);

        const strings = encodeStringOnce(parser, payloads);
        if (strings.frames.length !== opts.n ||
            strings.frames[opts.n - 1] !== stream.subarray(stream.lastIndexOf('{')).toString()) {
            fail(`encode_string run ${run}: the last frame is wrong`);
        }
        encodeStringSeconds.push(strings.seconds);
    }

    const result = {
        subject: 'node-ipc',
        node: process.version,
        node_ipc: nodeIpcVersion,
        v8: process.versions.v8,
        cpus: os.cpus().length,
        chunk_bytes: CHUNK,
        n: opts.n,
        stream_bytes: stream.length,
        warmup: opts.warmup,
        runs: opts.runs,
        timed: {
            decode: 'StringDecoder(utf8).write(64 KiB chunk) + parser.read(ipcBuffer, text, receive) per chunk',
            encode: "Buffer.from(parser.encode('m', payload), 'utf8') per event",
            encode_string: "parser.encode('m', payload) per event",
        },
        decode: summary(decodeSeconds, opts.n),
        encode: summary(encodeSeconds, opts.n),
        encode_string: summary(encodeStringSeconds, opts.n),
    };

    // large events: decode MB/s
    if (opts.largeN > 0) {
        const big = loadStream(opts.largeStream, parser, opts.largeN, largePayload, 'large stream');
        const bigChunks = chunksOf(big);
        checkDecoded(decodeOnce(parser, bigChunks), opts.largeN, largePayload, 'large warm-up');
        const seconds = [];
        for (let run = 0; run < opts.runs; run++) {
            const decoded = decodeOnce(parser, bigChunks);
            checkDecoded(decoded, opts.largeN, largePayload, `large decode run ${run}`);
            seconds.push(decoded.seconds);
        }
        const mb = big.length / 1e6;
        const rates = seconds.map((s) => mb / s);
        result.large = {
            n: opts.largeN,
            payload_chars: LARGE_LEN,
            stream_bytes: big.length,
            seconds,
            mb_per_s: rates,
            median_mb_per_s: median(rates),
            median_events_per_s: median(seconds.map((s) => opts.largeN / s)),
        };
    }

    process.stdout.write(JSON.stringify(result) + '\n');
}

main();
