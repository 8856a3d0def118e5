import { describe, expect, it } from 'vitest';
import { createRouter, parseRoute, routeHash, startView } from './router';

describe('routes', () => {
  it('round-trips every view through the URL hash and falls back to the queue', () => {
    for (const r of [{ view: 'queue' }, { view: 'runs' }, { view: 'live' }, { view: 'compare' }, { view: 'results' }, { view: 'run', runId: 12 }] as const) expect(parseRoute(routeHash(r))).toEqual(r);
    expect(parseRoute('#/nonsense')).toEqual({ view: 'queue' });
    expect(parseRoute('')).toEqual({ view: 'queue' });
  });
});

describe('view state in the URL', () => {
  it('keeps the view when the hash carries a query, and writes the query without a history entry', () => {
    expect(parseRoute('#/compare?m=train/loss&g=heads')).toEqual({ view: 'compare' });
    const listeners: (() => void)[] = [];
    const replaced: string[] = [];
    const win = {
      location: { hash: '#/compare' },
      addEventListener: (_: string, f: () => void) => listeners.push(f),
      history: { state: null, replaceState: (_s: unknown, _t: string, url: string) => (replaced.push(url), (win.location.hash = url)) },
    };
    const router = createRouter(win as unknown as Window);
    router.setQuery('m=train/loss');
    router.setQuery('m=train/loss');
    expect(replaced).toEqual(['#/compare?m=train/loss']);
    router.go({ view: 'results' });
    expect(win.location.hash).toBe('#/results');
  });
});

describe('the view the app opens on', () => {
  it('is Compare when every run has finished, else Queue', () => {
    expect(startView([])).toBe('queue');
    expect(startView([{ state: 'done' }, { state: 'failed' }])).toBe('compare');
    expect(startView([{ state: 'done' }, { state: 'queued' }])).toBe('queue');
    expect(startView([{ state: 'running' }])).toBe('queue');
  });
});
