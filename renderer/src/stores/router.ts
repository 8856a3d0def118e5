/** Hash routes (#/queue, #/run/12): no router package needed for five views, and Electron's file:// works. */
import { shallowRef } from 'vue';

export type Route =
  | { readonly view: 'queue' | 'live' | 'compare' | 'results' }
  | { readonly view: 'run'; readonly runId: number };

export function parseRoute(hash: string): Route {
  const m = /^#\/(\w+)(?:\/(\d+))?/.exec(hash);
  if (m?.[1] === 'run' && m[2]) return { view: 'run', runId: Number(m[2]) };
  if (m && ['queue', 'live', 'compare', 'results'].includes(m[1])) return { view: m[1] as 'queue' };
  return { view: 'queue' };
}

export function routeHash(r: Route): string {
  return r.view === 'run' ? `#/run/${r.runId}` : `#/${r.view}`;
}

export function createRouter(win: Pick<Window, 'location' | 'addEventListener'> = window) {
  const route = shallowRef<Route>(parseRoute(win.location.hash));
  win.addEventListener('hashchange', () => (route.value = parseRoute(win.location.hash)));
  return {
    route,
    go(r: Route) {
      win.location.hash = routeHash(r);
      route.value = r;
    },
  };
}
export type Router = ReturnType<typeof createRouter>;
