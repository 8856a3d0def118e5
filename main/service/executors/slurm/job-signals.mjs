/**
 * Imported first by the job's Node (`--import`, before tsx: nodeHostCommand in job-host.ts), so a
 * USR1, TERM or INT that reaches the host while tsx still transforms job-entry.ts and its imports
 * (about a second on a cold transform cache, more on a busy node) is noted instead of meeting
 * Node's defaults: TERM or INT would end the host before it forked the run, and USR1 would open
 * Node's inspector on 127.0.0.1:9229 (any user of the node could attach to it) while the
 * checkpoint-and-requeue it asked for was lost. job-entry.ts takes the noted signals over
 * (takeEarlySignals) when it installs its own handlers.
 * Plain JavaScript: it runs before any TypeScript can be loaded.
 */
const noted = [];
const note = (signal) => noted.push(signal);
for (const signal of ['SIGUSR1', 'SIGTERM', 'SIGINT']) process.on(signal, note);
globalThis[Symbol.for('ablate.earlySignals')] = { noted, note };
