// The command loop the interop peers share: one JSON command per line on
// stdin, each handed to run(command); a command that throws is reported as
// {ev: 'error'}; the peer exits when stdin closes; {ev: 'ready'} once it
// listens for commands (or the ready message given; null: the peer says
// it is ready itself).
import readline from 'node:readline';

// One JSON object per line on stdout.
export function out(message) {
    process.stdout.write(JSON.stringify(message) + '\n');
}

export function serveCommands(run, report = out, ready = {ev: 'ready'}) {
    const commands = readline.createInterface({input: process.stdin});
    commands.on('line', (line) => {
        if (!line.trim()) return;
        try {
            run(JSON.parse(line));
        } catch (error) {
            report({ev: 'error', message: `command ${line} failed: ${error && error.message}`});
        }
    });
    commands.on('close', () => process.exit(0));
    if (ready !== null) report(ready);
}
