/**
 * Routing in the inference host, with in-memory processes: a fused run's requests go to a process
 * started for backend `fused` (the app runs those in a plain Node that can load Dawn), every other
 * request to the default one; each process keeps its own requests, so one dying fails only its own.
 */
import { describe, expect, it } from 'vitest';
import type { ParentToRun, RunToParent } from '../../contract/run-protocol';
import type { BackendName } from '../../contract/backends';
import { InferenceHost } from './inference-host';
import type { RunExit, RunProcess, RunSpawner } from './run-host';

interface FakeProcess extends RunProcess {
  readonly backend: BackendName;
  readonly received: ParentToRun[];
  answer(message: RunToParent): void;
  die(exit: RunExit): void;
}

function fakeSpawner(): { spawner: RunSpawner; started: FakeProcess[] } {
  const started: FakeProcess[] = [];
  const spawner: RunSpawner = ({ backend }) => {
    const onMessage: ((m: RunToParent) => void)[] = [];
    const onExit: ((e: RunExit) => void)[] = [];
    const proc: FakeProcess = {
      backend,
      pid: 1000 + started.length,
      received: [],
      send: (m) => void proc.received.push(m),
      onMessage: (l) => void onMessage.push(l),
      onOutput: () => undefined,
      onExit: (l) => void onExit.push(l),
      kill: () => proc.die({ code: null, signal: 'SIGKILL' }),
      answer: (m) => onMessage.forEach((l) => l(m)),
      die: (e) => onExit.forEach((l) => l(e)),
    };
    started.push(proc);
    return proc;
  };
  return { spawner, started };
}

const lastInfer = (p: FakeProcess) => {
  const m = p.received.at(-1);
  if (m?.type !== 'infer') throw new Error(`no infer message: ${JSON.stringify(m)}`);
  return m;
};

describe('inference host routing', () => {
  it('sends a fused run\'s requests to a process started for backend fused and the others to the default process', async () => {
    const { spawner, started } = fakeSpawner();
    const host = new InferenceHost(spawner, 'wasm');
    const tfjs = host.request({ kind: 'translate', checkpoint: 'a.ckpt', engine: 'tfjs', sentences: ['x'], beam: 1, alpha: 0.6 });
    const fused = host.request({ kind: 'translate', checkpoint: 'b.ckpt', engine: 'fused', sentences: ['y'], beam: 4, alpha: 0.6 });
    const again = host.request({ kind: 'attention', checkpoint: 'b.ckpt', engine: 'fused', sentence: 'y' });
    expect(started.map((p) => p.backend)).toEqual(['wasm', 'fused']);
    const [plain, gpu] = started;
    expect(plain.received.map((m) => m.type === 'infer' && m.request.checkpoint)).toEqual(['a.ckpt']);
    expect(gpu.received.map((m) => m.type === 'infer' && m.request.checkpoint)).toEqual(['b.ckpt', 'b.ckpt']);
    expect(host.pid).toBe(gpu.pid);
    plain.answer({ type: 'inferred', id: lastInfer(plain).id, result: ['from tfjs'] });
    gpu.answer({ type: 'inferred', id: (gpu.received[0] as Extract<ParentToRun, { type: 'infer' }>).id, result: ['from fused'] });
    expect(await tfjs).toEqual(['from tfjs']);
    expect(await fused).toEqual(['from fused']);

    // The fused process dies: only its request in flight fails; the default process keeps serving.
    gpu.die({ code: null, signal: 'SIGKILL' });
    await expect(again).rejects.toThrow('the inference process killed by SIGKILL');
    const next = host.request({ kind: 'translate', checkpoint: 'a.ckpt', sentences: ['z'], beam: 1, alpha: 0.6 });
    expect(started).toHaveLength(2);
    plain.answer({ type: 'inferred', id: lastInfer(plain).id, result: ['still tfjs'] });
    expect(await next).toEqual(['still tfjs']);
    // The next fused request starts a fresh fused process.
    void host.request({ kind: 'attention', checkpoint: 'b.ckpt', engine: 'fused', sentence: 'y' }).catch(() => undefined);
    expect(started.map((p) => p.backend)).toEqual(['wasm', 'fused', 'fused']);
    host.close();
  });
});
