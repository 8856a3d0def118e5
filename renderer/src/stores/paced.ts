/**
 * Pacing for redraws that live data asks for faster than they can be drawn. Compare with 100 runs
 * redraws its curves in ~0.3 s (profiled in chromium: recompute, ECharts setOption, paint); a
 * streaming run pushes points every event tick (150 ms), so following each push kept the main
 * thread 85% busy and the page stopped answering (bench ui, issue 13: "while a run streams").
 */
import { onScopeDispose, shallowRef, watch, type Ref, type ShallowRef } from 'vue';

export interface PaceOptions {
  /** Shortest time between two follows, ms. */
  readonly minMs: number;
  /** A follow that cost c ms (synchronous work up to the next task) waits at least costFactor × c before the next. */
  readonly costFactor: number;
  readonly now?: () => number;
  readonly later?: (fn: () => void, ms: number) => unknown;
  readonly cancel?: (handle: unknown) => void;
}

/**
 * A copy of the counter `source` that follows it at once when the last follow is long enough ago,
 * otherwise once at the end of the wait (never more than one pending). The wait is the longer of
 * `minMs` and `costFactor` × what the last follow cost, so a slow chart redraws less often and
 * the page keeps time for the user's hovers and zooms.
 *
 * @example
 *   const liveTick = pacedCounter(metrics.version, { minMs: 1000, costFactor: 4 });
 *   const chart = computed(() => (void liveTick.value, draw()));
 */
export function pacedCounter(source: Readonly<Ref<number>>, o: PaceOptions): Readonly<ShallowRef<number>> {
  const now = o.now ?? (() => performance.now());
  const later = o.later ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
  const cancel = o.cancel ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const out = shallowRef(source.value);
  let lastAt = -Infinity;
  let waitMs = o.minMs;
  let pending: unknown = null;
  const follow = () => {
    pending = null;
    const start = now();
    lastAt = start;
    out.value = source.value;
    // What follows the bump synchronously (watchers, render, setOption) has run when the next task starts.
    later(() => (waitMs = Math.max(o.minMs, o.costFactor * (now() - start))), 0);
  };
  const stop = watch(source, () => {
    if (pending !== null) return;
    const wait = lastAt + waitMs - now();
    if (wait <= 0) follow();
    else pending = later(follow, wait);
  });
  onScopeDispose(() => {
    stop();
    if (pending !== null) cancel(pending);
  });
  return out;
}
