/**
 * When to ask for a read-back on a CPU adapter (the decoder's token read-backs, the training loop's
 * loss ring). While a buffer map is pending, dawn.node polls the
 * device on the JavaScript thread; on a CPU adapter (lavapipe) the kernels run on this process's own
 * threads, so that spin takes a core from them (profile.ts measured the main thread at 19 ms of CPU
 * per greedy step against 0.6 ms of host work, on a 2-core machine). The pacer learns the adapter's
 * time per decoder step from completed read-backs and sleeps (a timer: no polling) until shortly
 * before the submitted work should be done; only then is the map requested.
 *
 * The estimate cannot run away: it sleeps 0.9 of the expected time, so a too-high estimate shows as a
 * read-back that resolves at once after the sleep, and the estimate shrinks by a fifth each time that
 * happens; a too-low one polls the rest, as without a pacer, and its sample is the true time. Work
 * that holds more than steps (the encoder) is not sampled.
 *
 * Too high costs sleep and too low only polling, so outliers are cut on the high side: the first
 * read-back is not sampled at all (it pays for compiling the pipelines: lavapipe compiles one at its
 * first dispatch, and config A's first step took 80.9 s with a cold shader cache against ~0.1 s
 * after; learned, that sample made each of the next steps sleep 64–78 s while the estimate shrank by
 * a fifth a step), and a later sample counts at most OUTLIER_CAP times the estimate (a new bucket's
 * pipelines compiling, a stalled machine). A truly slower phase is still learned, 1.6-fold a step.
 */
const SLEEP_SHARE = 0.9;
const SMOOTHING = 0.3;
const OVERSLEPT_SHRINK = 0.8;
/** A map resolving within this long after the sleep ended found the work already done. */
const AT_ONCE_MS = 1;
/** A sample counts at most this many times the current estimate. */
const OUTLIER_CAP = 3;

export class ReadPacer {
  private msPerStep = 0;
  private lastResolved = 0;
  /** The first sampled read-back (pipeline compilation) has been seen. */
  private warm = false;
  /** When the last sleep ended (null: the last read-back did not sleep). */
  private woke: number | null = null;

  /** `enabled`: a CPU adapter (on a GPU the host and the device do not share cores: no sleep). */
  constructor(private readonly enabled: boolean) {}

  /** Milliseconds per step learned so far (0 before the first sample). */
  get estimate(): number {
    return this.msPerStep;
  }

  /** Work of `steps` steps was just submitted; returns when it should be done (performance.now() time). */
  submitted(steps: number, queuedUntil = 0): number {
    return Math.max(performance.now(), queuedUntil) + steps * this.msPerStep;
  }

  /** Sleeps without polling until shortly before `expected` (nothing when disabled or not yet learned). */
  async settle(expected: number): Promise<void> {
    this.woke = null;
    if (!this.enabled || this.msPerStep === 0) return;
    const wait = SLEEP_SHARE * (expected - performance.now());
    if (wait < 1) return;
    await new Promise((resolve) => setTimeout(resolve, wait));
    this.woke = performance.now();
  }

  /** A read-back of `steps` steps submitted at `submittedAt` resolved now; `sample` false for work beyond steps (the encoder). */
  resolved(steps: number, submittedAt: number, sample = true): void {
    const now = performance.now();
    const started = Math.max(submittedAt, this.lastResolved);
    this.lastResolved = now;
    if (!sample || steps <= 0) return;
    if (this.woke !== null && now - this.woke < AT_ONCE_MS) {
      // Done before the sleep ended: the sample would only say how long we slept.
      this.msPerStep *= OVERSLEPT_SHRINK;
      return;
    }
    if (!this.warm) {
      this.warm = true;
      return;
    }
    const perStep = (now - started) / steps;
    this.msPerStep = this.msPerStep === 0 ? perStep : (1 - SMOOTHING) * this.msPerStep + SMOOTHING * Math.min(perStep, OUTLIER_CAP * this.msPerStep);
  }

  /** A new chunk: nothing of the previous chunk is in flight. */
  reset(): void {
    this.lastResolved = 0;
    this.woke = null;
  }
}
