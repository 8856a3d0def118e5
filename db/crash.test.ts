import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from './store';

const here = dirname(fileURLToPath(import.meta.url));
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the writer and SIGKILLs it once it has reported `batches` commits; returns the last reported batch. */
function killWriterAfter(file: string, batches: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../test/fixtures/crash-writer.ts'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let last = -1;
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^committed (\d+)$/.exec(line);
        if (m) last = Number(m[1]);
      }
      if (!killed && last >= batches) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited with ${code} before being killed: ${err}`));
    });
  });
}

describe('crash safety', () => {
  it('leaves a consistent database with whole batches and no duplicates after kill -9 during metric writes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ablate-crash-'));
    const file = join(dir, 'crash.sqlite');
    const reported = await killWriterAfter(file, 300);

    const store = openStore(file);
    try {
      expect(store.integrityCheck()).toBe('ok');
      const [run] = store.listRuns();
      expect(run.state).toBe('running');
      const rows = store.getMetrics({ runIds: [run.id] });
      // Every batch adds exactly 50 new steps, so a partial batch would leave a remainder.
      expect(rows.length % 50).toBe(0);
      const batches = rows.length / 50;
      // A commit the child reported is durable (a process crash loses nothing committed in WAL
      // mode); the child may have committed more before the signal landed.
      expect(batches).toBeGreaterThanOrEqual(reported + 1);
      const keys = new Set(rows.map((r) => `${r.split}/${r.name}/${r.step}`));
      expect(keys.size).toBe(rows.length);
      expect(rows.map((r) => r.step)).toEqual(Array.from({ length: rows.length }, (_, i) => i));
      // Step s was last written by batch floor((s + 10) / 50), unless that batch never committed.
      const last = batches - 1;
      for (const r of rows) expect(r.value).toBe(Math.min(last, Math.floor((r.step + 10) / 50)));
      // The run row's step was updated in a separate transaction after each batch.
      expect(run.step === 50 * last + 49 || run.step === 50 * (last - 1) + 49).toBe(true);
    } finally {
      store.close();
    }
  });
});
