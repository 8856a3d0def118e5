/**
 * End to end in a real browser: Debian's chromium (playwright-core) against `ablate serve` on a
 * database this test creates. Queues a tiny synthetic spec through the Queue view, watches every
 * run reach `done`, opens Live, Compare, Results (exports LaTeX) and a run's detail page (attention
 * for a typed sentence), and saves a screenshot of each view to test-artifacts/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const ROOT = resolve(__dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts');
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Two variants × two seeds of a model small enough to train 30 steps in seconds on wasm. */
const SPEC = `name: e2e-tiny
data:
  task: synthetic-copy
  vocab: 8
  min_len: 2
  max_len: 6
  train_size: 200
  valid_size: 16
  test_size: 16
  seed: 3
  tokenizer: { kind: word, vocab: 32, shared: true }
base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0.0 }
train:
  steps: 30
  batch_tokens: 200
  warmup: 10
  eval_every: 10
  checkpoint_every: 10
  eval_bleu_sentences: 8
  samples: 2
  seeds: [1, 2]
  decode: { beam: 1, alpha: 0.6, max_len_offset: 4 }
variants:
  - { name: "h=1", heads: 1 }
`;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the browser tests: ${CHROMIUM} is missing (install Debian's chromium: scripts/install-system-deps.sh)`);

describe.skipIf(!haveChromium)('the workbench UI in a browser against ablate serve', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'ablate-e2e-'));
    server = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'serve', '--db', join(dir, 'e2e.sqlite'), '--new', '--port', '0', '--backend', 'wasm', '--slots', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    url = await new Promise<string>((ok, fail) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error(`ablate serve printed no URL in 240 s; stderr:\n${stderr}`)), 240_000);
      server.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      server.once('exit', (code) => fail(new Error(`ablate serve exited with ${code}; stderr:\n${stderr}`)));
    });
    // A fresh profile per run: no cached renderer, no state from an earlier run.
    context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, args: LAUNCH_ARGS, viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  }, 300_000);

  afterAll(async () => {
    await context?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  /** The view at 1280 and 1024 wide, light and dark. */
  const shots = async (name: string) => {
    for (const theme of ['light', 'dark'] as const) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.getByRole('button', { name: new RegExp(`${theme} theme`) }).click();
      for (const width of [1280, 1024]) {
        await page.setViewportSize({ width, height: 800 });
        await page.waitForTimeout(400);
        await shot(`${name}-${theme}-${width}`);
      }
    }
    await page.getByRole('button', { name: /light theme/ }).click();
    await page.setViewportSize({ width: 1280, height: 800 });
  };
  const tooltipShown = () =>
    page.evaluate(() => [...document.querySelectorAll<HTMLElement>('[data-chart=compare-curves] .chart-tooltip')].some((el) => getComputedStyle(el).visibility !== 'hidden' && getComputedStyle(el).display !== 'none' && Number(getComputedStyle(el).opacity) > 0));
  const openTab = async (view: string) => {
    await page.getByRole('tab', { name: new RegExp(`^${view}`, 'i') }).click();
  };

  it('opens an empty database on Queue, and the other views point there', async () => {
    await page.goto(url);
    await expect.poll(() => page.locator('.conn').textContent()).toBe('open');
    expect(await page.getByRole('tab', { name: 'Queue' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('c');
    await page.getByRole('link', { name: 'Queue a spec' }).click();
    expect(await page.getByRole('tab', { name: 'Queue' }).getAttribute('aria-selected')).toBe('true');
  });

  it('queues a spec typed into the editor, showing the schema’s messages and the expanded runs first', async () => {
    const editor = page.locator('[data-test=spec-text]');
    // A mistake first: the schema's own message for the field appears as the user types.
    await editor.fill(SPEC.replace('heads: 2', 'heads: -2'));
    await page.locator('[data-test=spec-issues]').waitFor();
    expect(await page.locator('[data-test=spec-issues]').textContent()).toContain('base.heads: must be a positive integer');
    expect(await page.locator('[data-test=enqueue]').isDisabled()).toBe(true);
    await editor.fill(SPEC);
    await page.locator('[data-test=spec-ok]').waitFor();
    expect(await page.locator('[data-test=spec-runs] tbody tr').count()).toBe(4);
    await shot('queue-editor');
    await page.locator('[data-test=enqueue]').click();
    await page.locator('[data-test=run-table] tbody tr[data-run]').nth(3).waitFor();
    expect(await page.locator('[data-test=run-table] tbody tr[data-run]').count()).toBe(4);
  });

  it('shows the runs training live, then every run reaches done', async () => {
    await page.locator('[data-test=run-table] tr[data-state=running]').first().waitFor({ timeout: 120_000 });
    await shot('queue-running');
    await openTab('Live');
    await page.locator('[data-test=live-runs] tbody tr').first().waitFor();
    // Curves appear as the first points stream in (the run may finish first: then Live shows it as recent).
    await page.locator('[data-chart=training-loss] canvas').waitFor({ timeout: 120_000 });
    await page.waitForTimeout(1000);
    await shot('live');
    await shots('live');
    await openTab('Queue');
    await expect
      .poll(async () => page.locator('[data-test=run-table] tr[data-state=done]').count(), { timeout: 240_000, interval: 1000 })
      .toBe(4);
    expect(await page.locator('[data-test=run-table] tr[data-state=failed]').count()).toBe(0);
    await shot('queue-done');
  }, 400_000);

  it('compares variants with curves, bars and parallel coordinates, in both themes', async () => {
    await openTab('Compare');
    await page.locator('[data-chart=compare-curves] canvas').waitFor();
    await page.locator('[data-chart=final-bleu] canvas').waitFor();
    await page.locator('[data-chart=parallel] canvas').waitFor();
    // Another metric loads on demand (Compare fetches only the metric on screen).
    await page.locator('[data-test=compare-metric]').selectOption('valid/valid_bleu');
    await expect.poll(() => page.locator('[data-chart=compare-curves] figcaption strong').textContent()).toBe('valid BLEU (0–100) by step');
    await page.locator('[data-chart=compare-curves] canvas').waitFor();
    await page.locator('[data-test=compare-metric]').selectOption('train/loss');
    await page.waitForTimeout(800);
    await shot('compare');
    await page.getByRole('button', { name: /dark theme/ }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.waitForTimeout(800);
    await shot('compare-dark');
    await page.getByRole('button', { name: /light theme/ }).click();
    // Saving a chart as SVG downloads a real SVG document.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: /save .* per variant as SVG/ }).first().click();
    const svgPath = join(ARTIFACTS, 'final-bleu.svg');
    await (await download).saveAs(svgPath);
    expect(readFileSync(svgPath, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });

  it('groups by a config field, keeps the view in the URL across tabs and a reload', async () => {
    await page.locator('[data-test=group-by]').selectOption('heads');
    await page.locator('[data-test=compare-metric]').selectOption('valid/valid_bleu');
    await page.locator('[data-test=band]').selectOption('minmax');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('g=heads');
    expect(await page.locator('.picker .vname strong').allTextContents()).toEqual(['heads=1', 'heads=2']);
    await openTab('Results');
    await openTab('Compare');
    expect(await page.locator('[data-test=group-by]').inputValue()).toBe('heads');
    await page.reload();
    await page.locator('[data-chart=compare-curves] canvas').waitFor();
    expect(await page.locator('[data-test=compare-metric]').inputValue()).toBe('valid/valid_bleu');
    expect(await page.locator('[data-test=band]').inputValue()).toBe('minmax');
    await page.waitForTimeout(600);
    await shots('compare-grouped');
    await page.locator('[data-test=group-by]').selectOption('variant');
    await page.locator('[data-test=compare-metric]').selectOption('train/loss');
  });

  it('lists every run in the runs table, sorts, filters and plots the ticked rows', async () => {
    await openTab('Runs');
    await page.locator('[data-test=runs-table] tbody tr[data-run]').nth(3).waitFor();
    await page.locator('[data-sort="m:valid_bleu"]').click();
    expect(await page.locator('[data-test=runs-table] tbody tr[data-run]').count()).toBe(4);
    await page.locator('[data-test=runs-text]').fill('h=1');
    await expect.poll(() => page.locator('[data-test=runs-table] tbody tr[data-run]').count()).toBe(2);
    await shots('runs');
    await page.getByLabel('tick every shown run').check();
    await page.locator('[data-test=plot-selected]').click();
    expect(await page.getByRole('tab', { name: 'Compare' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('.picker label.run input:checked').count()).toBe(2);
  });

  it('shows the result table and exports it as LaTeX', async () => {
    await openTab('Results');
    await page.locator('[data-test=result-table] tbody tr').nth(1).waitFor();
    const rows = await page.locator('[data-test=result-table] tbody th[scope=row]').allTextContents();
    expect(rows).toEqual(['base', 'h=1']);
    expect(await page.locator('[data-test=result-table] [data-best]').count()).toBeGreaterThan(0);
    const download = page.waitForEvent('download');
    await page.locator('[data-test=save-latex]').click();
    const texPath = join(ARTIFACTS, 'e2e-tiny.tex');
    await (await download).saveAs(texPath);
    const tex = readFileSync(texPath, 'utf8');
    expect(tex).toContain('\\toprule');
    expect(tex).toContain('\\bottomrule');
    expect(await page.locator('[data-test=export-preview]').textContent()).toBe(tex);
    // Issue 12: the table says which BLEU it is (sacreBLEU's signature, as the export does) and the
    // variant's tested BLEU carries MultEval's p and sacreBLEU's paired-bootstrap intervals on hover.
    const signature = 'nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0';
    expect(await page.locator('[data-test=note-signature] code').textContent()).toBe(signature);
    expect(tex).toContain(`\\texttt{${signature.replace(/\|/g, '\\textbar{}')}}`);
    const hover = await page.locator('[data-test=result-table] tbody tr').nth(1).locator('[data-test=significance]').getAttribute('title');
    expect(hover).toMatch(/^p = [\d.]+ against base on test BLEU .*seeds 1 2\)\n.*\npaired bootstrap per seed: BLEU \[95% CI\] p \(1000 resamples, seed 12345\): s1 [\d.]+ \[[\d.]+, [\d.]+\] p=[\d.]+\*?; s2 /s);
    await page.locator('[data-chart=results-bleu] canvas').waitFor();
    await shot('results');
    await shots('results');
  });

  it('opens a run: config against base, samples, logs and attention for a typed sentence', async () => {
    await openTab('Queue');
    await page.getByRole('button', { name: 'details of run 3' }).click();
    await page.locator('[data-test=config-diff]').waitFor();
    expect((await page.locator('[data-test=config-diff] tr.changed td:first-child').allTextContents())).toContain('model.heads');
    await page.locator('[data-test=samples] tbody tr td').first().waitFor();
    await page.locator('[data-test=attn-sentence]').fill('w3 w5 w7 w2');
    await page.getByRole('button', { name: 'Show attention' }).click();
    await page.locator('[data-test=attn-translation]').waitFor({ timeout: 60_000 });
    await page.locator('[data-chart*=cross] canvas').first().waitFor();
    await page.waitForTimeout(500);
    await shot('run-detail');
    await page.locator('.attention').screenshot({ path: join(ARTIFACTS, 'run-detail-attention.png') });
    expect(pageErrors.join('\n')).toBe('');
  });

  it('pauses the queue, reorders, cancels and retries queued runs', async () => {
    await openTab('Queue');
    await page.locator('[data-test=pause]').click();
    await expect.poll(() => page.locator('[data-test=queue-state]').textContent()).toContain('paused');
    // The same spec again, forced: four more runs wait in the paused queue.
    await page.locator('[data-test=spec-text]').fill(SPEC.replace('name: e2e-tiny', 'name: e2e-again'));
    await page.locator('[data-test=spec-ok]').waitFor();
    await page.getByLabel('re-run duplicates').check();
    await page.locator('[data-test=enqueue]').click();
    const queuedIds = () => page.locator('[data-test=run-table] tr[data-state=queued]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-run'))));
    await expect.poll(queuedIds).toEqual([5, 6, 7, 8]);
    await page.getByRole('button', { name: 'move run 8 up' }).click();
    await expect.poll(queuedIds).toEqual([5, 6, 8, 7]);
    await page.getByRole('button', { name: 'cancel run 6' }).click();
    await page.locator('[data-test=run-table] tr[data-run="6"][data-state=cancelled]').waitFor();
    await page.getByRole('button', { name: 'retry run 6' }).click();
    await page.locator('[data-test=run-table] tr[data-run="6"][data-state=queued]').waitFor();
    await shot('queue-paused');
    for (const id of [5, 6, 7, 8]) await page.getByRole('button', { name: `cancel run ${id}` }).click();
    await expect.poll(queuedIds).toEqual([]);
    await page.locator('[data-test=pause]').click();
    await expect.poll(() => page.locator('[data-test=queue-state]').textContent()).toContain('running');
    // Keyboard: the tabs take focus and arrow keys move between views.
    await page.getByRole('tab', { name: 'Queue' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Runs' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('runs');
    // One key per view: R is Results.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('r');
    expect(await page.getByRole('tab', { name: 'Results' }).getAttribute('aria-selected')).toBe('true');
    expect(pageErrors.join('\n')).toBe('');
  });

  it('opens on Compare when every run has finished, and says "no such run" for #/run/99', async () => {
    await page.goto(url);
    await expect.poll(() => page.getByRole('tab', { name: 'Compare' }).getAttribute('aria-selected')).toBe('true');
    await page.evaluate(() => (location.hash = '#/run/99'));
    await page.locator('[data-test=no-such-run]').waitFor();
    expect(await page.locator('[data-test=no-such-run] h2').textContent()).toBe('No such run: #99');
  });

  it('keeps tooltips and zoom on the curves while a run trains', async () => {
    await openTab('Queue');
    await page.locator('[data-test=spec-text]').fill(SPEC.replace('name: e2e-tiny', 'name: e2e-long').replace('steps: 30', 'steps: 3000').replace('seeds: [1, 2]', 'seeds: [5]').replace(/variants:[\s\S]*$/, ''));
    await page.locator('[data-test=spec-ok]').waitFor();
    await page.locator('[data-test=enqueue]').click();
    await page.locator('[data-test=run-table] tr[data-state=running]').first().waitFor({ timeout: 120_000 });
    await openTab('Compare');
    const long = await page.locator('[data-test=compare-experiments] label', { hasText: 'e2e-long' }).locator('input').getAttribute('data-experiment');
    await page.locator(`[data-test=compare-experiments] input[data-experiment="${long}"]`).check();
    const others = await page.locator('[data-test=compare-experiments] input:checked').evaluateAll((boxes) => boxes.map((b) => b.getAttribute('data-experiment')));
    for (const id of others) if (id !== long) await page.locator(`[data-test=compare-experiments] input[data-experiment="${id}"]`).uncheck();
    const canvas = page.locator('[data-chart=compare-curves] canvas').first();
    await canvas.waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1500);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
    // Sampled over a few seconds of streaming points: the tooltip never vanishes.
    const seen: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      await page.waitForTimeout(400);
      seen.push(await tooltipShown());
    }
    await shot('compare-live-tooltip');
    // Sampled while the run was still streaming points (else the test would prove nothing).
    expect(await page.locator('.picker label.run', { hasText: 'seed 5' }).textContent()).toContain('running');
    expect(seen).toEqual(Array(8).fill(true));
  }, 200_000);

  it('shows a clear state when the server dies', async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await page.locator('[data-test=server-lost]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-test=queue-state]').textContent()).toContain('queue unknown');
    await shot('server-lost');
  }, 90_000);
});
