import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReadPacer } from './pacer';

// Time is the fake clock's: each test says how long the "adapter" takes per step.
describe('read-back pacer', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] }); });
  afterEach(() => { vi.useRealTimers(); });

  /** One step of `ms` adapter time: submit, settle, (poll until done), resolve. Returns how long the host slept. */
  async function step(pacer: ReadPacer, ms: number): Promise<number> {
    const submittedAt = performance.now();
    const settled = pacer.settle(pacer.submitted(1));
    await vi.runAllTimersAsync();
    await settled;
    const slept = performance.now() - submittedAt;
    if (slept < ms) vi.advanceTimersByTime(ms - slept); // the rest is the polled wait
    pacer.resolved(1, submittedAt);
    return slept;
  }

  it('learns the time per step and then sleeps 0.9 of it instead of polling', async () => {
    const pacer = new ReadPacer(true);
    expect(await step(pacer, 20)).toBe(0); // the first read-back: compilation, not learned
    expect(pacer.estimate).toBe(0);
    expect(await step(pacer, 20)).toBe(0); // nothing learned yet: poll
    expect(pacer.estimate).toBeCloseTo(20);
    for (let i = 0; i < 5; i++) expect(await step(pacer, 20)).toBeCloseTo(18, 0);
  });

  it('the first read-back, which pays for compiling the pipelines, does not make later steps sleep', async () => {
    // Config A on lavapipe with a cold shader cache: step 1 took 80.9 s, then 92–132 ms a step; when
    // the first sample was learned, steps 2–4 slept 64–78 s each.
    const pacer = new ReadPacer(true);
    await step(pacer, 80_000);
    const slept: number[] = [];
    for (let i = 0; i < 5; i++) slept.push(await step(pacer, 100));
    expect(Math.max(...slept)).toBeLessThanOrEqual(100);
    expect(pacer.estimate).toBeCloseTo(100);
  });

  it('one slow read-back later (a new pipeline compiling) raises the estimate at most 1.6-fold', async () => {
    const pacer = new ReadPacer(true);
    for (let i = 0; i < 4; i++) await step(pacer, 100);
    await step(pacer, 30_000);
    expect(pacer.estimate).toBeLessThanOrEqual(160 + 1e-9);
    expect(await step(pacer, 100)).toBeLessThanOrEqual(0.9 * 160 + 1e-9);
  });

  it('a slower phase is still learned, step by step (a bigger bucket)', async () => {
    const pacer = new ReadPacer(true);
    for (let i = 0; i < 3; i++) await step(pacer, 10);
    for (let i = 0; i < 12; i++) await step(pacer, 200);
    expect(pacer.estimate).toBeGreaterThan(180);
  });

  it('an estimate that is too high shrinks (the map resolves at once after the sleep)', async () => {
    const pacer = new ReadPacer(true);
    await step(pacer, 1);
    await step(pacer, 10);
    for (let i = 0; i < 4; i++) await step(pacer, 100);
    for (let i = 0; i < 30; i++) await step(pacer, 10);
    expect(pacer.estimate).toBeLessThan(12);
    expect(pacer.estimate).toBeGreaterThan(9.9);
  });

  it('work beyond steps (the encoder) is not sampled, and a GPU adapter never sleeps', async () => {
    const pacer = new ReadPacer(true);
    const t0 = performance.now();
    vi.advanceTimersByTime(500);
    pacer.resolved(1, t0, false);
    expect(pacer.estimate).toBe(0);
    const gpu = new ReadPacer(false);
    await step(gpu, 20);
    expect(await step(gpu, 20)).toBe(0);
  });
});
