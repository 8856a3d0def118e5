/**
 * Archive and delete from the browser (issue 13), against `ablate serve` observing a database whose
 * queue another `ablate serve` runs: the archive and the delete travel through the commands table
 * and the holder carries them out (its log says so), the checkpoint folder leaves the disk, and
 * the page follows. Screenshots of the runs table and the delete dialog (light 1280, dark 1024) go to test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { openStore } from '../../db/store';
import { expandSpec, parseSpec } from '../../contract/spec';

const ROOT = resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Experiment `heads` (runs 1–4: base and h=1, seeds 1 and 2) and `old` (run 5), finished, each with a checkpoint folder. */
function seed(dir: string): { db: string; ckpt: (id: number) => string } {
  const db = join(dir, 'e2e.sqlite');
  const ckpt = (id: number) => join(dir, '.ablate', 'checkpoints', `run-${id}`);
  const store = openStore(db);
  const insert = (name: string, spec: unknown) => {
    const parsed = parseSpec(spec);
    const runs = expandSpec(parsed);
    return store.insertRuns(store.upsertExperiment(name, parsed, null).id, runs.map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: 'wasm', totalSteps: 10 })));
  };
  const ids = [
    ...insert('heads', { name: 'heads', data: { task: 'synthetic-copy' }, train: { steps: 10, seeds: [1, 2] }, variants: [{ name: 'h=1', heads: 1 }] }),
    ...insert('old', { name: 'old', data: { task: 'synthetic-copy' }, train: { steps: 10, seeds: [9] } }),
  ];
  for (const id of ids) {
    mkdirSync(ckpt(id), { recursive: true });
    writeFileSync(join(ckpt(id), 'step-00000010.ckpt'), 'weights');
    store.updateRun(id, { state: 'done', step: 10, checkpointDir: ckpt(id), startedAt: 1, finishedAt: 2 });
    store.insertMetrics(id, [1, 5, 10].map((step) => ({ split: 'train' as const, name: 'loss', step, value: 5 / step, time: step })));
    store.insertMetrics(id, [{ split: 'final', name: 'valid_bleu', step: 10, value: 20 + id, time: 10 }]);
  }
  store.close();
  return { db, ckpt };
}

/** `ablate serve` on `db`; resolves with its URL, its stderr so far on demand. */
async function serve(db: string): Promise<{ proc: ChildProcess; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'serve', '--db', db, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`ablate serve printed no URL in 240 s; stderr:\n${stderr}`)), 240_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    proc.once('exit', (code) => fail(new Error(`ablate serve exited with ${code}; stderr:\n${stderr}`)));
  });
  return { proc, url, stderr: () => stderr };
}

const haveChromium = existsSync(CHROMIUM);

describe.skipIf(!haveChromium)('archive and delete in the browser, carried out by the process running the queue', () => {
  let dir: string;
  let ckpt: (id: number) => string;
  let holder: Awaited<ReturnType<typeof serve>>;
  let observer: Awaited<ReturnType<typeof serve>>;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'ablate-e2e-delete-'));
    const seeded = seed(dir);
    ckpt = seeded.ckpt;
    holder = await serve(seeded.db);
    observer = await serve(seeded.db);
    expect(observer.stderr()).toContain('as an observer');
    context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, args: LAUNCH_ARGS, viewport: { width: 1280, height: 800 } });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') pageErrors.push(m.text());
    });
  }, 600_000);

  afterAll(async () => {
    await context?.close();
    for (const s of [observer, holder])
      if (s && s.proc.exitCode === null) {
        s.proc.kill('SIGTERM');
        await new Promise((r) => s.proc.once('exit', r));
      }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const rowIds = () => page.locator('[data-test=runs-table] tbody tr[data-run]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run'))));

  it('archives a ticked run out of the table and shows it again, marked, with "show archived"', async () => {
    await page.goto(`${observer.url}#/runs`);
    await page.locator('[data-test=runs-table] tbody tr[data-run]').first().waitFor({ timeout: 60_000 });
    await expect.poll(rowIds, { timeout: 30_000 }).toEqual([1, 2, 3, 4, 5]);
    await page.getByLabel('tick run 2').check();
    await page.locator('[data-test=archive-ticked]').click();
    await expect.poll(rowIds, { timeout: 30_000 }).toEqual([1, 3, 4, 5]);
    // Results counts what the lists show: run 2 (base, seed 2) is out of the table, which says so.
    await page.goto(`${observer.url}#/results`);
    await page.locator('[data-test=results-experiment]').selectOption({ label: 'heads' });
    await expect.poll(() => page.locator('[data-test=note-archived]').textContent(), { timeout: 30_000 }).toBe('1 archived run not counted (“show archived” counts them).');
    // The base row's seeds column: seed 1 done of the 1 left (not "1/2": an archived seed is not awaited).
    expect(await page.locator('[data-test=result-table] tbody tr').first().locator('td').last().textContent()).toBe('1/1');
    await page.goto(`${observer.url}#/runs`);
    await page.locator('[data-test=show-archived]').check();
    await expect.poll(rowIds, { timeout: 30_000 }).toEqual([1, 2, 3, 4, 5]);
    expect(await page.locator('tr[data-run="2"] [data-test=archived-badge]').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'runs-archived-light-1280.png') });
  });

  it('deletes a ticked run after the dialog lists it; the holder deletes it and its checkpoint folder', async () => {
    await page.getByLabel('tick run 1').check();
    await page.locator('[data-test=delete-ticked]').click();
    await page.locator('[data-test=delete-runs]').waitFor();
    expect(await page.locator('[data-test=delete-runs]').textContent()).toContain('run 1 · heads · base · seed 1 · done');
    await page.screenshot({ path: join(ARTIFACTS, 'runs-delete-dialog-light-1280.png') });
    // Cancel deletes nothing; the dialog again in dark at 1024 wide.
    await page.locator('[data-test=delete-cancel]').click();
    await page.getByRole('button', { name: /dark theme/ }).click();
    await page.setViewportSize({ width: 1024, height: 800 });
    await page.locator('[data-test=delete-ticked]').click();
    await page.locator('[data-test=delete-runs]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'runs-delete-dialog-dark-1024.png') });
    expect(existsSync(ckpt(1))).toBe(true);
    await page.locator('[data-test=delete-confirm]').click();
    await expect.poll(rowIds, { timeout: 30_000 }).toEqual([2, 3, 4, 5]);
    expect(holder.stderr()).toMatch(/deleted run\(s\) 1: 4 metric points, 0 hypotheses, 1 checkpoint folder\(s\)/);
    expect(observer.stderr()).not.toMatch(/deleted run/);
    expect(existsSync(ckpt(1))).toBe(false);
    expect(existsSync(ckpt(2))).toBe(true);
    await page.getByRole('button', { name: /light theme/ }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('deletes the experiment picked in the filter, with its run', async () => {
    await page.locator('[data-test=runs-experiment]').selectOption({ label: 'old' });
    await page.locator('[data-test=delete-experiment]').click();
    await page.locator('[data-test=delete-confirm]').click();
    await expect.poll(rowIds, { timeout: 30_000 }).toEqual([2, 3, 4]);
    expect(await page.locator('[data-test=runs-experiment] option').allTextContents()).toEqual(['all', 'heads']);
    expect(existsSync(ckpt(5))).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
