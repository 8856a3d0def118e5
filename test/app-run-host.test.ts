/**
 * How the desktop app hosts runs, checked without Electron: runs that may use WebGPU go to a plain
 * Node process (Dawn cannot load in Electron's memory cage), found on PATH or $ABLATE_NODE; and the
 * run-process entry, bundled the way electron-vite bundles it for the app, trains a run there.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../experiments/backend';
import type { RunJob, RunToParent } from '../contract/run-protocol';
import { expandSpec, parseSpec } from '../contract/spec';
import { findSystemNode, forkSpawner, routeByBackend, type RunProcess, type RunSpawner } from '../main/service/run-host';

const ROOT = resolve(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'ablate-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake `node` executable that prints `version`. */
function fakeNode(name: string, version: string): string {
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'node'), `#!/bin/sh\necho ${version}\n`);
  chmodSync(join(bin, 'node'), 0o755);
  return bin;
}

function job(backend: RunJob['backend'], runId = 1): RunJob {
  const spec = parseSpec({
    name: 'host-test',
    data: { task: 'synthetic-copy', vocab: 8, min_len: 2, max_len: 5, train_size: 64, valid_size: 4, test_size: 4, seed: 1, tokenizer: { kind: 'word' } },
    base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0 },
    train: { steps: 3, batch_tokens: 64, warmup: 2, eval_every: 3, checkpoint_every: 3, eval_bleu_sentences: 4, samples: 1, decode: { beam: 1, alpha: 0.6, max_len_offset: 3 } },
  });
  return { runId, config: expandSpec(spec)[0].config, backend, checkpointDir: join(dir, `run-${runId}`), cacheDir: join(dir, 'cache') };
}

describe.skipIf(process.platform === 'win32')('finding a Node for WebGPU runs', () => {
  it('takes the first node on PATH that is at least 20, skipping older ones and Electron itself', () => {
    const old = fakeNode('old', 'v18.19.0');
    const good = fakeNode('good', 'v20.11.1');
    const other = fakeNode('other', 'v22.1.0');
    const PATH = [join(dir, 'missing'), old, good, other].join(delimiter);
    expect(findSystemNode({ env: { PATH } })).toEqual({ path: join(good, 'node'), version: 'v20.11.1' });
    expect(findSystemNode({ env: { PATH }, exclude: join(good, 'node') })).toEqual({ path: join(other, 'node'), version: 'v22.1.0' });
    expect(findSystemNode({ env: { PATH: old } })).toBeNull();
  });

  it('uses $ABLATE_NODE instead of PATH when it is set', () => {
    const good = fakeNode('good', 'v20.11.1');
    const chosen = fakeNode('chosen', 'v24.0.0');
    expect(findSystemNode({ env: { PATH: good, ABLATE_NODE: join(chosen, 'node') } })?.path).toBe(join(chosen, 'node'));
    expect(findSystemNode({ env: { PATH: good, ABLATE_NODE: join(dir, 'nowhere/node') } })).toBeNull();
  });
});

describe('routing runs to a host by backend', () => {
  const recorder = (name: string, calls: string[]): RunSpawner => (j) => {
    calls.push(`${name}:${j.backend}`);
    return {} as RunProcess;
  };

  it('sends webgpu, fused and auto runs to the plain Node host and every other run to the default host', () => {
    const calls: string[] = [];
    let lookups = 0;
    const spawn = routeByBackend({ defaultHost: recorder('utility', calls), webgpuHost: () => (lookups++, recorder('node', calls)) });
    spawn(job('wasm'));
    expect(lookups).toBe(0); // no Node lookup until a run may use WebGPU
    for (const b of ['webgpu', 'auto', 'fused', 'wasm', 'cpu', 'tensorflow'] as const) spawn(job(b));
    expect(calls).toEqual(['utility:wasm', 'node:webgpu', 'node:auto', 'node:fused', 'utility:wasm', 'utility:cpu', 'utility:tensorflow']);
    expect(lookups).toBe(1);
  });

  it('sends everything to the default host when no Node was found', () => {
    const calls: string[] = [];
    const spawn = routeByBackend({ defaultHost: recorder('utility', calls), webgpuHost: () => null });
    spawn(job('webgpu'));
    spawn(job('wasm'));
    expect(calls).toEqual(['utility:webgpu', 'utility:wasm']);
  });
});

describe('the bundled run process in a plain Node process', () => {
  it('trains a run to done and reports the backend it used', async () => {
    // Bundle main/service/run-process.ts as electron-vite's main build does (same externals), under the project so they resolve.
    const outDir = join(ROOT, 'test-artifacts', 'app-run-host');
    const { build } = await import('vite');
    await build({
      configFile: false,
      logLevel: 'warn',
      build: { ssr: join(ROOT, 'main/service/run-process.ts'), outDir, emptyOutDir: true, rollupOptions: { external: ['better-sqlite3', 'webgpu', /^@tensorflow\//], output: { entryFileNames: 'run-process.mjs' } } },
    });
    const webgpu = await selectBackend('webgpu').then(() => true, () => false);
    const node = findSystemNode({ exclude: undefined }) ?? { path: process.execPath };
    const proc = forkSpawner({ entry: join(outDir, 'run-process.mjs'), execArgv: [], execPath: node.path })(job(webgpu ? 'webgpu' : 'wasm', 2));
    const messages: RunToParent[] = [];
    const stderr: string[] = [];
    proc.onMessage((m) => messages.push(m));
    proc.onOutput((stream, line) => stream === 'stderr' && stderr.push(line));
    const exited = new Promise((r) => proc.onExit(r));
    proc.send({ type: 'start', job: job(webgpu ? 'webgpu' : 'wasm', 2) });
    await exited;
    expect(messages.find((m) => m.type === 'failed'), stderr.slice(-5).join('\n')).toBeUndefined();
    expect(messages.find((m) => m.type === 'ready')).toMatchObject({ backend: webgpu ? 'webgpu' : 'wasm' });
    expect(messages[messages.length - 1].type).toBe('done');
  }, 180_000);
});
