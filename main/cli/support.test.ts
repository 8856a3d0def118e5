/**
 * The progress display on a terminal: the bar's ETA is ours (cli-progress's own `eta` used to
 * shadow it: `ETA NULL`, then `ETA 8`), the last run's "done" line is printed when the display
 * stops, and `ablate run` ends by saying how to see the curves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkbenchEvent } from '../../contract/api';
import type { RunRow } from '../../contract/rows';
import type { Workbench } from '../service/workbench';
import { curvesHint, showProgress } from './support';

const stderr = process.stderr as unknown as { isTTY?: boolean; write: (s: string) => boolean; columns?: number };
const saved = { isTTY: stderr.isTTY, write: stderr.write, columns: stderr.columns };
afterEach(() => Object.assign(stderr, saved));

/** Captures stderr as a terminal would receive it (escape codes stripped). */
function terminal(): { text: () => string } {
  let out = '';
  Object.assign(stderr, { isTTY: true, columns: 200, write: (s: string) => ((out += s), true) });
  return { text: () => out.replace(/\x1B\[[0-9;?]*[A-Za-z]|\x1B[78]/g, '') };
}

function fakeWorkbench() {
  let listener: (events: readonly WorkbenchEvent[]) => void = () => {};
  const wb = { onEvents: (f: typeof listener) => ((listener = f), () => {}), runRow: () => ({ id: 1, variant: 'base', seed: 1 }) } as unknown as Workbench;
  return { wb, emit: (...events: WorkbenchEvent[]) => listener(events) };
}

describe('the progress display on a terminal', () => {
  it('shows our time left, never cli-progress’s NULL or bare seconds', () => {
    const t = terminal();
    const { wb, emit } = fakeWorkbench();
    const p = showProgress(wb);
    emit({ type: 'progress', runId: 1, step: 5, totalSteps: 30, loss: 2.5, tokensPerSecond: 100, etaSeconds: 8.4 });
    p.stop();
    expect(t.text()).toContain('ETA 8 s');
    expect(t.text()).not.toContain('NULL');
  });
  it('prints the last run’s "done" line when it stops', () => {
    const t = terminal();
    const { wb, emit } = fakeWorkbench();
    const p = showProgress(wb);
    emit({ type: 'progress', runId: 1, step: 29, totalSteps: 30, loss: 2.5, tokensPerSecond: 100, etaSeconds: 1 });
    const done = { id: 1, variant: 'base', seed: 1, state: 'done', step: 30, error: null, metrics: { valid_ppl: 1.5, valid_bleu: 80, train_seconds: 3 } } as unknown as RunRow;
    emit({ type: 'runs-changed', runs: [done] });
    p.stop();
    expect(t.text()).toContain('run 1 (base, seed 1) done: valid ppl 1.50, valid BLEU 80.00, 3.0 s');
  });
});

describe('the end of ablate run', () => {
  it('says how to see the curves, with --db only when it is not the default', () => {
    expect(curvesHint('ablate.sqlite')).toBe('see the curves: npx ablate serve   (then open http://127.0.0.1:8737/)');
    expect(curvesHint('runs/my.db')).toContain('npx ablate serve --db runs/my.db');
    expect(curvesHint('my runs.db')).toContain('--db "my runs.db"');
  });
});
