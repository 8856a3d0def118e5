/** Hash routes (#/queue, #/run/12): no router package needed for five views, and Electron's file:// works. */
import { shallowRef } from 'vue';

export type Route =
  | { readonly view: 'queue' | 'runs' | 'live' | 'compare' | 'results' }
  | { readonly view: 'run'; readonly runId: number };

export function parseRoute(hash: string): Route {
  const m = /^#\/(\w+)(?:\/(\d+))?/.exec(hash);
  if (m?.[1] === 'run' && m[2]) return { view: 'run', runId: Number(m[2]) };
  if (m && ['queue', 'runs', 'live', 'compare', 'results'].includes(m[1])) return { view: m[1] as 'queue' };
  return { view: 'queue' };
}

/**
 * Where the app opens when the URL names no view: Compare when the database holds only finished
 * runs (there is nothing to queue or watch), else Queue (an empty database, or runs under way).
 */
export function startView(runs: readonly { readonly state: string }[]): 'queue' | 'compare' {
  return runs.length > 0 && runs.every((r) => r.state !== 'queued' && r.state !== 'running') ? 'compare' : 'queue';
}

export function routeHash(r: Route): string {
  return r.view === 'run' ? `#/run/${r.runId}` : `#/${r.view}`;
}

export function createRouter(win: Pick<Window, 'location' | 'addEventListener' | 'history'> = window) {
  const route = shallowRef<Route>(parseRoute(win.location.hash));
  win.addEventListener('hashchange', () => (route.value = parseRoute(win.location.hash)));
  return {
    route,
    go(r: Route) {
      win.location.hash = routeHash(r);
      route.value = r;
    },
    /** Puts a view's state in the URL (`#/compare?m=…`) without a history entry or a hashchange. */
    setQuery(query: string) {
      const hash = `${routeHash(route.value)}${query ? `?${query}` : ''}`;
      if (win.location.hash !== hash) win.history.replaceState(win.history.state, '', hash);
    },
  };
}
export type Router = ReturnType<typeof createRouter>;
