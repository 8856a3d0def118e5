/**
 * Entry of a run process: waits for `{type:'start', job}`, trains the run with experiments/'s
 * runJob and forwards every protocol message to the parent. A `{type:'stop'}` makes runJob stop
 * within one step. Talks over Node's IPC channel (child_process.fork) or Electron's
 * `process.parentPort` (utilityProcess). The process exits when the run ends, and at once when its
 * parent goes away (a killed worker must not leave orphans training and writing checkpoints).
 */
import type { ParentToRun, RunToParent, FailureKind } from '../../contract/run-protocol';

interface ParentPortLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
let pendingSends = 0;
let stopRequested = false;
let started = false;
let finished = false;

function emit(message: RunToParent): void {
  if (message.type === 'done' || message.type === 'failed' || message.type === 'stopped') finished = true;
  if (parentPort) {
    parentPort.postMessage(message);
  } else if (process.send && process.connected) {
    pendingSends++;
    process.send(message, () => {
      pendingSends--;
    });
  }
}

/** Exits once every message is handed to the IPC channel (process.send is asynchronous). */
function exitWhenFlushed(code: number): void {
  const deadline = Date.now() + 5000;
  const tick = () => {
    if (pendingSends <= 0 || Date.now() > deadline) process.exit(code);
    else setTimeout(tick, 10);
  };
  setTimeout(tick, 0);
}

/** runJob's own classifier once its module loaded; before that (a broken import) every error is kind 'error'. */
let classify: (err: unknown) => { kind: FailureKind; reason: string } = (err) => ({ kind: 'error', reason: err instanceof Error ? err.message.split('\n')[0] : String(err) });

function failAndExit(err: unknown): void {
  if (!finished) emit({ type: 'failed', ...classify(err), step: 0 });
  exitWhenFlushed(1);
}

async function start(message: Extract<ParentToRun, { type: 'start' }>): Promise<void> {
  // Imported on demand: a broken import (missing backend, syntax error) becomes a 'failed' message.
  const { runJob, classifyFailure } = await import('../../experiments/run/run-job');
  classify = classifyFailure;
  await runJob(message.job, { emit, shouldStop: () => stopRequested });
  if (!finished) emit({ type: 'failed', kind: 'error', reason: 'run process ended without a result', step: 0 });
  exitWhenFlushed(0);
}

function onParentMessage(raw: unknown): void {
  const message = raw as ParentToRun;
  if (message.type === 'stop') {
    stopRequested = true;
    if (!started) exitWhenFlushed(0);
  } else if (message.type === 'start' && !started) {
    started = true;
    start(message).catch(failAndExit);
  }
}

process.on('uncaughtException', failAndExit);
process.on('unhandledRejection', failAndExit);

if (parentPort) {
  parentPort.on('message', (e) => onParentMessage(e.data));
} else if (process.send) {
  process.on('message', onParentMessage);
  // The parent died (kill -9 of a worker): stop training at once, the next worker resumes the run.
  process.on('disconnect', () => process.exit(2));
  // Ctrl-C in a terminal reaches the whole process group; the parent decides how its runs stop.
  process.on('SIGINT', () => undefined);
} else {
  process.stderr.write('run-process: no parent channel (start me with child_process.fork or utilityProcess.fork)\n');
  process.exit(2);
}
