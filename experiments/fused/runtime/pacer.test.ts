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
    expect(await step(pacer, 20)).toBe(0); // nothing learned yet: poll
    expect(pacer.estimate).toBeCloseTo(20);
    for (let i = 0; i < 5; i++) expect(await step(pacer, 20)).toBeCloseTo(18, 0);
  });

  it('an estimate that is too high shrinks (the map resolves at once after the sleep)', async () => {
    const pacer = new ReadPacer(true);
    await step(pacer, 100);
    for (let i = 0; i < 30; i++) await step(pacer, 10);
    expect(pacer.estimate).toBeLessThan(12);
    expect(pacer.estimate).toBeGreaterThanOrEqual(10);
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
