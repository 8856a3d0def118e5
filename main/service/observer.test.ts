/** The polls of observers and of the lock holder never throw from their timers: a failing database is reported through `failed`. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../db/store';
import { CommandInbox, ObserverFeed, POLL_MS } from './observer';

const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

/** A store whose every call fails like a full disk after `okCalls` calls. */
function failingStore(okCalls: number, rows: Partial<Store> = {}): Store {
  let calls = 0;
  return new Proxy(rows as Store, {
    get(target, prop) {
      return (...args: unknown[]) => {
        if (calls++ >= okCalls) throw full;
        const own = (target as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[prop];
        return own ? own(...args) : prop === 'dataVersion' ? calls : [];
      };
    },
  });
}

const noListener = { runChanged: () => undefined, metrics: () => undefined, progress: () => undefined, queueChanged: () => undefined, runsRemoved: () => undefined, experimentsChanged: () => undefined };

describe('polls that fail', () => {
  it('CommandInbox reports a storage error instead of rejecting on its timer', async () => {
    const errors: Error[] = [];
    const inbox = new CommandInbox(failingStore(0), () => undefined, () => undefined, (e) => errors.push(e));
    inbox.start();
    await new Promise((r) => setTimeout(r, POLL_MS * 2.5));
    inbox.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as Error & { code?: string }).code).toBe('SQLITE_FULL');
  });

  it('ObserverFeed reports a failing read instead of throwing from its timer', async () => {
    const errors: Error[] = [];
    // start() reads the baseline (listRuns, listExperiments, dataVersion); every poll after that fails.
    const feed = new ObserverFeed(failingStore(3, { listRuns: () => [], listExperiments: () => [] }), noListener, () => undefined, (e) => errors.push(e));
    feed.start();
    await new Promise((r) => setTimeout(r, POLL_MS * 2.5));
    feed.stop();
    expect(errors.length).toBeGreaterThan(0);
  });
});
