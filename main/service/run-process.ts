/**
 * Entry of a run process. Either it trains: waits for `{type:'start', job}`, trains the run with
 * experiments/'s runJob and forwards every protocol message to the parent (`{type:'stop'}` makes
 * runJob stop within one step; the process exits when the run ends). Or it serves inference:
 * answers `{type:'infer'}` requests one at a time, keeping the last checkpoint's model loaded, until
 * the parent stops it. Talks over Node's IPC channel (child_process.fork) or Electron's
 * `process.parentPort` (utilityProcess). It exits at once when its parent goes away (a killed
 * worker must not leave orphans training and writing checkpoints).
 */
import type { InferenceRequest, InferenceResults, ParentToRun, RunToParent, FailureKind } from '../../contract/run-protocol';
import { toWireError } from '../../contract/errors';

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

// ---- inference ----

type Inference = typeof import('../../experiments/run/inference');
type LoadedRun = Awaited<ReturnType<Inference['openForInference']>>;
let inference: Inference | null = null;
/** The one model this process holds (tfjs variable names are global: one live model per process). */
let loaded: LoadedRun | null = null;
/** The engine `loaded` was opened for (a fused run's checkpoint decodes on the fused decoder where it can). */
let loadedEngine: InferenceRequest['engine'];
/** Requests run one after another: a model is swapped only between requests. */
let inferenceQueue: Promise<void> = Promise.resolve();

async function answer(request: InferenceRequest): Promise<InferenceResults[InferenceRequest['kind']]> {
  inference ??= await import('../../experiments/run/inference');
  if (loaded?.path !== request.checkpoint || loadedEngine !== request.engine) {
    loaded?.dispose();
    loaded = null;
    loaded = await inference.openForInference(request.checkpoint, { engine: request.engine });
    loadedEngine = request.engine;
    if (loaded.decoder === 'tfjs' && loaded.fusedUnavailable) process.stderr.write(`inference: the fused decoder is unavailable (${loaded.fusedUnavailable}); decoding on tfjs\n`);
  }
  if (request.kind === 'attention') return inference.attentionMaps(loaded, request.sentence);
  const out: string[] = [];
  // Batches of 64 sentences keep memory flat for long inputs; empty lines stay empty.
  for (let i = 0; i < request.sentences.length; i += 64) {
    const chunk = request.sentences.slice(i, i + 64);
    const nonEmpty = chunk.filter((l) => l.trim() !== '');
    const translated = nonEmpty.length ? await inference.translate(loaded, nonEmpty, { beam: request.beam, alpha: request.alpha }) : [];
    let k = 0;
    for (const l of chunk) out.push(l.trim() === '' ? '' : translated[k++]);
  }
  return out;
}

function infer(message: Extract<ParentToRun, { type: 'infer' }>): void {
  inferenceQueue = inferenceQueue.then(async () => {
    try {
      const result = await answer(message.request);
      emit({ type: 'inferred', id: message.id, result });
    } catch (err) {
      emit({ type: 'infer-failed', id: message.id, error: toWireError(err) });
    }
  });
}

function onParentMessage(raw: unknown): void {
  const message = raw as ParentToRun;
  if (message.type === 'stop') {
    stopRequested = true;
    if (!started) exitWhenFlushed(0);
  } else if (message.type === 'start' && !started) {
    started = true;
    start(message).catch(failAndExit);
  } else if (message.type === 'infer' && !started) {
    infer(message);
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
  // Slurm's TERM (scancel, requeue, preemption) reaches every process of the job: the host decides (stop → checkpoint).
  process.on('SIGTERM', () => undefined);
} else {
  process.stderr.write('run-process: no parent channel (start me with child_process.fork or utilityProcess.fork)\n');
  process.exit(2);
}
