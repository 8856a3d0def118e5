/**
 * Inference (attention maps, `ablate translate`) in one long-lived run process, never in the app or
 * server process: a model's weights stay out of the process that answers IPC and writes metrics, a
 * slow beam decode blocks nothing there, and the one-model-per-process limit of the tfjs engine
 * (global variable names) holds by construction — the process swaps models between requests.
 *
 * The process starts on the first request and is kept for the next ones; if it dies, the requests
 * in flight fail with the reason and the next request starts a fresh one.
 */
import type { BackendName } from '../../contract/backends';
import { UserError, fromWireError } from '../../contract/errors';
import type { InferenceRequest, InferenceResults } from '../../contract/run-protocol';
import type { RunProcess, RunSpawner } from './run-host';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class InferenceHost {
  private proc: RunProcess | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stderrTail: string[] = [];

  constructor(
    private readonly spawner: RunSpawner,
    /** Inference runs on a CPU backend by default: one sentence or a test set is small work. */
    private readonly backend: BackendName = 'wasm',
  ) {}

  /** Answers one request; requests are served in order. */
  request<K extends InferenceRequest['kind']>(request: Extract<InferenceRequest, { kind: K }>): Promise<InferenceResults[K]> {
    const proc = this.ensureProcess();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      proc.send({ type: 'infer', id, request });
    });
  }

  /** The process's pid, once started (tests check it is not this process). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Stops the process (pending requests fail). */
  close(): void {
    const proc = this.proc;
    this.proc = null;
    if (proc) {
      proc.send({ type: 'stop' });
      proc.kill();
    }
    this.failAll(new UserError('inference stopped: the workbench is closing'));
  }

  private ensureProcess(): RunProcess {
    if (this.proc) return this.proc;
    const proc = this.spawner({ backend: this.backend });
    this.proc = proc;
    this.stderrTail = [];
    proc.onMessage((m) => {
      if (m.type !== 'inferred' && m.type !== 'infer-failed') return;
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if (m.type === 'inferred') call.resolve(m.result);
      else call.reject(fromWireError(m.error));
    });
    proc.onOutput((stream, line) => {
      if (stream !== 'stderr') return;
      this.stderrTail.push(line);
      if (this.stderrTail.length > 3) this.stderrTail.shift();
    });
    proc.onExit((exit) => {
      if (this.proc === proc) this.proc = null;
      const how = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const tail = this.stderrTail.length ? `: ${this.stderrTail.join(' | ').slice(-300)}` : '';
      this.failAll(new UserError(`the inference process ${how}${tail}`));
    });
    return proc;
  }

  private failAll(err: Error): void {
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }
}
