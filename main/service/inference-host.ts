/**
 * Inference (attention maps, `ablate translate`) in one long-lived run process, never in the app or
 * server process: a model's weights stay out of the process that answers IPC and writes metrics, a
 * slow beam decode blocks nothing there, and the one-model-per-process limit of the tfjs engine
 * (global variable names) holds by construction — the process swaps models between requests.
 *
 * The process starts on the first request and is kept for the next ones; if it dies, the requests
 * in flight fail with the reason and the next request starts a fresh one. Requests for a fused run's
 * checkpoint (`engine: 'fused'`) go to a second process started for backend `fused`, which the app
 * runs in a plain Node that can load Dawn (routeByBackend); it decodes on the fused WebGPU decoder
 * where an adapter exists, on tfjs otherwise.
 */
import type { BackendName } from '../../contract/backends';
import { UserError, fromWireError } from '../../contract/errors';
import type { InferenceRequest, InferenceResults } from '../../contract/run-protocol';
import type { RunProcess, RunSpawner } from './run-host';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One inference process and the requests it has not answered yet. */
interface Worker {
  readonly proc: RunProcess;
  readonly pending: Map<number, Pending>;
  readonly stderrTail: string[];
}

type Route = 'default' | 'fused';

export class InferenceHost {
  private readonly workers = new Map<Route, Worker>();
  private nextId = 1;
  private lastPid: number | undefined;

  constructor(
    private readonly spawner: RunSpawner,
    /** Inference runs on a CPU backend by default: one sentence or a test set is small work. */
    private readonly backend: BackendName = 'wasm',
  ) {}

  /** Answers one request; requests are served in order. */
  request<K extends InferenceRequest['kind']>(request: Extract<InferenceRequest, { kind: K }>): Promise<InferenceResults[K]> {
    const worker = this.ensureWorker(request.engine === 'fused' ? 'fused' : 'default');
    this.lastPid = worker.proc.pid;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      worker.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.proc.send({ type: 'infer', id, request });
    });
  }

  /** The pid of the process that took the latest request (tests check it is not this process). */
  get pid(): number | undefined {
    return this.lastPid;
  }

  /** Stops the processes (pending requests fail). */
  close(): void {
    const workers = [...this.workers.values()];
    this.workers.clear();
    for (const w of workers) {
      w.proc.send({ type: 'stop' });
      w.proc.kill();
      failAll(w, new UserError('inference stopped: the workbench is closing'));
    }
  }

  private ensureWorker(route: Route): Worker {
    const existing = this.workers.get(route);
    if (existing) return existing;
    const proc = this.spawner({ backend: route === 'fused' ? 'fused' : this.backend });
    const worker: Worker = { proc, pending: new Map(), stderrTail: [] };
    this.workers.set(route, worker);
    proc.onMessage((m) => {
      if (m.type !== 'inferred' && m.type !== 'infer-failed') return;
      const call = worker.pending.get(m.id);
      if (!call) return;
      worker.pending.delete(m.id);
      if (m.type === 'inferred') call.resolve(m.result);
      else call.reject(fromWireError(m.error));
    });
    proc.onOutput((stream, line) => {
      if (stream !== 'stderr') return;
      worker.stderrTail.push(line);
      if (worker.stderrTail.length > 3) worker.stderrTail.shift();
    });
    proc.onExit((exit) => {
      if (this.workers.get(route) === worker) this.workers.delete(route);
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const tail = worker.stderrTail.length ? `: ${worker.stderrTail.join(' | ').slice(-300)}` : '';
      failAll(worker, new UserError(`the inference process ${how}${tail}`));
    });
    return worker;
  }
}

function failAll(worker: Worker, err: Error): void {
  for (const call of worker.pending.values()) call.reject(err);
  worker.pending.clear();
}
