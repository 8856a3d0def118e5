/** What every view gets from App: the API client and the shared stores (provide/inject). */
import { inject, type InjectionKey } from 'vue';
import type { WorkbenchClient } from '../api/transport';
import type { CompareState } from './compare-state';
import type { MetricsStore } from './metrics';
import type { Router } from './router';
import type { RunsStore } from './runs';
import type { ThemeStore } from './theme';

export interface AppContext {
  readonly api: WorkbenchClient;
  readonly runs: RunsStore;
  readonly metrics: MetricsStore;
  readonly router: Router;
  readonly theme: ThemeStore;
  /** Compare's view state: kept across tab switches, mirrored in the URL. */
  readonly compare: CompareState;
  /** Shows a short message in the status line (errors stay until replaced). */
  notify(message: string, kind?: 'info' | 'error'): void;
}

export const APP: InjectionKey<AppContext> = Symbol('app');

export function useApp(): AppContext {
  const ctx = inject(APP);
  if (!ctx) throw new Error('useApp() outside <App>');
  return ctx;
}
