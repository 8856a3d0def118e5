/**
 * The Compare view with 100 runs × 10k points per curve, in Debian's chromium against `ablate
 * serve` (the responsiveness case): time from opening Compare to the curves drawn (and to
 * every chart and the result table under and beside them), a smoothing change, grouping off and
 * on, a zoom and a hover, against the server's own queries for the same data measured in the same
 * run (what remains is transport, parsing and drawing) and against idle animation frames.
 *
 * One more run streams throughout (the toy run process, see queueLiveRun; `--stream=0` for none).
 *
 *   npm run bench ui [-- --runs=100 --points=10000 --stream=1]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openStore } from '../db/store';
import type { MetricPoint } from '../contract/run-protocol';
import { expandSpec, parseSpec } from '../contract/spec';
import { Workbench } from '../main/service/workbench';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';

function flag(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
}

/** 20 variants × 5 seeds of finished runs, each with `points` train steps (loss, lr, tokens/s) and a valid point every 100 steps. */
export function buildDatabase(file: string, runs: number, points: number): number {
  const store = openStore(file);
  const variants = Array.from({ length: Math.max(1, Math.ceil(runs / 5) - 1) }, (_, i) => ({ name: `v${i + 1}`, d_ff: 64 * (i + 2) }));
  const spec = parseSpec({ name: 'ui-bench', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2, 3, 4, 5], steps: points }, variants });
  const expanded = expandSpec(spec).slice(0, runs);
  const exp = store.upsertExperiment('ui-bench', spec, null);
  const ids = store.insertRuns(exp.id, expanded.map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: 'wasm', totalSteps: points })));
  const t0 = Date.now() - points * 100;
  let rows = 0;
  ids.forEach((id, k) => {
    const scale = 1 + (k % 20) / 10;
    for (let from = 1; from <= points; from += 500) {
      const batch: MetricPoint[] = [];
      for (let step = from; step < Math.min(points + 1, from + 500); step++) {
        const time = t0 + step * 100;
        batch.push({ split: 'train', name: 'loss', step, value: scale * (2 + 8 / Math.sqrt(step)) + 0.3 * Math.sin(step * 0.37 + k), time });
        batch.push({ split: 'train', name: 'lr', step, value: 1e-3 * Math.min(1, step / 400) / Math.sqrt(Math.max(step, 400) / 400), time });
        batch.push({ split: 'train', name: 'tokens_per_second', step, value: 4000 + 100 * Math.sin(step), time });
        if (step % 100 === 0) for (const name of ['valid_loss', 'valid_ppl', 'valid_bleu']) batch.push({ split: 'valid', name, step, value: name === 'valid_bleu' ? (30 * step) / points / scale : scale * (1 + 4 / Math.sqrt(step)), time });
      }
      store.insertMetrics(id, batch);
      rows += batch.length;
    }
    const final = { train_loss: 2 * scale, valid_loss: 1.5 * scale, valid_ppl: 4 * scale, valid_bleu: 30 / scale, test_bleu: 29 / scale, params: 1e6, train_seconds: 600, tokens_per_second: 4000 };
    store.insertMetrics(id, Object.entries(final).map(([name, value]) => ({ split: 'final' as const, name, step: points, value, time: t0 + points * 100 })));
    store.updateRun(id, { state: 'done', step: points, params: 1e6, startedAt: t0, finishedAt: t0 + points * 100 });
  });
  store.close();
  return rows;
}

/**
 * Queues the run that streams while Compare is measured (the condition): one more base seed
 * that the toy run process (test/fixtures/toy-run-process.ts) trains for far longer than the bench
 * lasts, a step every TOY_STEP_MS, so `ablate serve` pushes its loss and progress every event tick
 * (150 ms) and Compare redraws the 101-run chart for each. Returns its id.
 */
export function queueLiveRun(file: string): number {
  const store = openStore(file);
  const [exp] = store.listExperiments();
  const base = store.listRuns({ experimentId: exp.id })[0];
  const config = { ...base.config, seed: 99, train: { ...base.config.train, steps: 1_000_000, eval_every: 500, checkpoint_every: 1_000_000 } };
  const [id] = store.insertRuns(exp.id, [{ variant: base.variant, seed: 99, config, configHash: 'ui-bench-live', backendRequested: 'wasm', totalSteps: 1_000_000 }]);
  store.close();
  return id;
}

/** The toy run process, a step every 20 ms: about 50 loss points a second, as a small model on a GPU logs. */
const STREAMING_ENV = { ABLATE_RUN_PROCESS: join(ROOT, 'test/fixtures/toy-run-process.ts'), TOY_STEP_MS: '20' };

/** Resolves with the URL `ablate serve` prints. */
function serve(dbFile: string, env: NodeJS.ProcessEnv = {}): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'serve', '--db', dbFile, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) ok({ url: m[1], stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => fail(new Error(`ablate serve exited with ${code}`)));
  });
}

/** Waits until run `id` has recorded `steps` steps (read from the database the server writes). */
async function waitForSteps(dbFile: string, id: number, steps: number): Promise<void> {
  const store = openStore(dbFile);
  try {
    for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      const run = store.getRun(id);
      if (run && run.state !== 'queued' && run.state !== 'running') throw new Error(`the streaming run ${id} ended ${run.state}: ${run.error ?? ''}`);
      if (run && run.step >= steps) return;
    }
    throw new Error(`the streaming run ${id} did not reach step ${steps} in 120 s`);
  } finally {
    store.close();
  }
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`skipped: ${CHROMIUM} is missing (bash scripts/install-system-deps.sh)`);
    return;
  }
  const runs = flag(args, 'runs', 100);
  const points = flag(args, 'points', 10_000);
  const streaming = flag(args, 'stream', 1) !== 0;
  const dir = mkdtempSync(join(tmpdir(), 'ablate-bench-ui-'));
  const dbFile = join(dir, 'ui.sqlite');
  try {
    let a = performance.now();
    const rows = buildDatabase(dbFile, runs, points);
    console.log(`database: ${runs} runs, ${rows.toLocaleString('en-US')} metric rows (${((performance.now() - a) / 1000).toFixed(1)} s to write)`);

    // Reference: the queries Compare sends (the recorded metric keys, then the loss of every run,
    // LTTB to its per-series budget), server side only.
    const perSeries = Math.max(200, Math.min(2000, Math.floor(400_000 / Math.max(1, runs * 8))));
    const wb = await Workbench.open({ dbPath: dbFile, dataDir: join(dir, 'data'), autoStart: false });
    const ids = (await wb.listRuns()).map((r) => r.id);
    a = performance.now();
    await wb.getMetricKeys(ids);
    const series = await wb.getMetrics({ runIds: ids, names: ['loss'], maxPoints: perSeries });
    const queryMs = performance.now() - a;
    const wire = JSON.stringify(series).length;
    await wb.close();

    const liveId = streaming ? queueLiveRun(dbFile) : null;
    const server = await serve(dbFile, streaming ? STREAMING_ENV : {});
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      // On Queue first (a database of finished runs opens on Compare), so opening Compare is what is timed.
      await page.goto(`${server.url}#/queue`);
      await page.locator('[data-test=run-table] tbody tr[data-run]').first().waitFor({ timeout: 120_000 });
      if (liveId !== null) await waitForSteps(dbFile, liveId, 100);
      const frames = () => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
      a = performance.now();
      await page.getByRole('tab', { name: /^Compare/i }).click();
      // Every run's curve: the streaming run's alone (loaded by Queue) would draw a canvas long before.
      await page.locator(`[data-chart=compare-curves][data-runs="${runs + (liveId === null ? 0 : 1)}"] canvas`).waitFor({ timeout: 120_000 });
      await frames();
      const firstDraw = performance.now() - a;
      // Everything else Compare shows: the charts under the curves and the result table beside them.
      await page.locator('[data-chart=parallel] canvas').waitFor({ timeout: 120_000 });
      await page.locator('[data-test=result-table]').waitFor({ timeout: 120_000 });
      await frames();
      const allDrawn = performance.now() - a;

      a = performance.now();
      await page.locator('[data-test=smoothing]').fill('0.9');
      await frames();
      const smoothing = performance.now() - a;

      // Grouping: Compare opens grouped (20 mean lines with bands), so first off (100 run lines), then
      // on again, then off untimed (the hover below is over 100 runs). Checking the box it opens with
      // was a no-op: "grouping on" used to time two idle frames.
      const group = page.locator('[data-test=group]');
      if (!(await group.isChecked())) throw new Error('Compare was expected to open grouped (COMPARE_DEFAULTS.grouped)');
      a = performance.now();
      await group.uncheck();
      await frames();
      const ungrouping = performance.now() - a;
      a = performance.now();
      await group.check();
      await frames();
      const grouping = performance.now() - a;
      await group.uncheck();
      await frames();

      const box = (await page.locator('[data-chart=compare-curves] canvas').first().boundingBox())!;
      // Zoom: one wheel step on the plot (the x axis' inside zoom).
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await frames();
      a = performance.now();
      await page.mouse.wheel(0, -300);
      await frames();
      const zoom = performance.now() - a;
      const hovers: number[] = [];
      for (let i = 0; i < 10; i++) {
        a = performance.now();
        await page.mouse.move(box.x + box.width * (0.2 + 0.06 * i), box.y + box.height / 2);
        await frames();
        hovers.push(performance.now() - a);
      }
      hovers.sort((x, y) => x - y);
      // Reference for interactions: two animation frames with nothing to redraw (the floor of any measured change here).
      const idle: number[] = [];
      for (let i = 0; i < 10; i++) {
        a = performance.now();
        await frames();
        idle.push(performance.now() - a);
      }
      idle.sort((x, y) => x - y);
      if (liveId !== null) console.log(`while run ${liveId} streams (toy run process, a step every ${STREAMING_ENV.TOY_STEP_MS} ms; --stream=0 for none)`);
      console.log(`references: server-side queries for Compare (keys, then ${series.length} series, ≤ ${perSeries} points each, ${(wire / 2 ** 20).toFixed(1)} MiB as JSON) ${queryMs.toFixed(0)} ms;`);
      console.log(`            two idle animation frames in the page ${idle[5].toFixed(0)} ms`);
      console.log(`open Compare → curves drawn      ${firstDraw.toFixed(0).padStart(6)} ms   ${(firstDraw / queryMs).toFixed(2)}× the server query`);
      console.log(`  … every chart and the table    ${allDrawn.toFixed(0).padStart(6)} ms`);
      console.log(`smoothing change → redrawn       ${smoothing.toFixed(0).padStart(6)} ms   ${(smoothing / idle[5]).toFixed(1)}× idle frames`);
      console.log(`grouping off → redrawn (runs)    ${ungrouping.toFixed(0).padStart(6)} ms   ${(ungrouping / idle[5]).toFixed(1)}× idle frames`);
      console.log(`grouping on → redrawn (means)    ${grouping.toFixed(0).padStart(6)} ms   ${(grouping / idle[5]).toFixed(1)}× idle frames`);
      console.log(`zoom (one wheel step)            ${zoom.toFixed(0).padStart(6)} ms   ${(zoom / idle[5]).toFixed(1)}× idle frames`);
      console.log(`hover (median of 10 moves)       ${hovers[5].toFixed(0).padStart(6)} ms   ${(hovers[5] / idle[5]).toFixed(1)}× idle frames`);
    } finally {
      await browser.close();
      server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
