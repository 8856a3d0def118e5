import { describe, expect, it } from 'vitest';
import { effectScope, nextTick, shallowRef } from 'vue';
import { pacedCounter } from './paced';

/** A clock and a timer queue the test moves by hand. */
function fakeTime() {
  let t = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const run = (until: number) => {
    for (;;) {
      timers.sort((x, y) => x.at - y.at);
      const next = timers[0];
      if (!next || next.at > until) break;
      timers.shift();
      t = Math.max(t, next.at);
      next.fn();
    }
    t = until;
  };
  return {
    now: () => t,
    later: (fn: () => void, ms: number) => {
      const timer = { at: t + ms, fn };
      timers.push(timer);
      return timer;
    },
    cancel: (h: unknown) => void timers.splice(timers.indexOf(h as (typeof timers)[number]), 1),
    advance: async (ms: number) => (run(t + ms), await nextTick()),
    spend: (ms: number) => void (t += ms),
  };
}

describe('a paced counter', () => {
  /** A counter paced at ≥ 1000 ms and 4 × the last follow's cost, on the fake clock. */
  function paced1000() {
    const time = fakeTime();
    const source = shallowRef(0);
    const paced = effectScope().run(() => pacedCounter(source, { minMs: 1000, costFactor: 4, ...time }))!;
    return { time, source, paced };
  }

  it('follows the first change at once, then at most once per wait, with the latest value', async () => {
    const { time, source, paced } = paced1000();
    source.value = 1;
    await nextTick();
    expect(paced.value).toBe(1);
    for (let i = 2; i <= 6; i++) {
      source.value = i;
      await time.advance(150);
    }
    expect(paced.value).toBe(1); // 750 ms after the first follow: still waiting
    await time.advance(300);
    expect(paced.value).toBe(6); // one follow at 1000 ms, with the latest value
  });

  it('waits longer after a follow that cost more (costFactor × the synchronous work it set off)', async () => {
    const { time, source, paced } = paced1000();
    // A redraw that takes 500 ms of main thread: the next one waits 2000 ms, not 1000.
    source.value = 1;
    await nextTick();
    time.spend(500);
    await time.advance(0);
    source.value = 2;
    await time.advance(1200);
    expect(paced.value).toBe(1);
    await time.advance(800);
    expect(paced.value).toBe(2);
  });
});
