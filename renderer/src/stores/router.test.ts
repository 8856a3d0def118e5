import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash } from './router';

describe('routes', () => {
  it('round-trips every view through the URL hash and falls back to the queue', () => {
    for (const r of [{ view: 'queue' }, { view: 'live' }, { view: 'compare' }, { view: 'results' }, { view: 'run', runId: 12 }] as const) expect(parseRoute(routeHash(r))).toEqual(r);
    expect(parseRoute('#/nonsense')).toEqual({ view: 'queue' });
    expect(parseRoute('')).toEqual({ view: 'queue' });
  });
});
