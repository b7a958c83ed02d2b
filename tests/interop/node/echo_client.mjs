// A node-ipc 14 client for examples/codec_echo_server.py: emits the events
// given as JSON on the command line and prints every reply as a JSON line.
import ipc from 'node-ipc';

const [socketPath, eventsJson] = process.argv.slice(2);
const events = JSON.parse(eventsJson);
ipc.config.silent = true;
ipc.config.maxRetries = 3;
ipc.config.retry = 100;
ipc.connectTo('echo', socketPath, () => {
    const client = ipc.of.echo;
    let left = events.length;
    client.on('connect', () => {
        for (const [type, data] of events) client.emit(type, data);
    });
    client.on('echo', (data) => {
        console.log(JSON.stringify(data));
        if (--left === 0) {
            ipc.disconnect('echo');
        }
    });
});
