/**
 * Compare's view state (experiments, selected runs, metric, x axis, smoothing, grouping, band, log
 * scale, parallel axes): held by App so it survives tab switches, and mirrored in the URL's query
 * (`#/compare?e=1&m=train/loss&g=heads`) so a view can be shared and reloaded. Only what differs
 * from the defaults is written.
 */
import { reactive } from 'vue';
import type { BandKind } from '../charts/stats';
import type { XKind } from '../charts/options';

export interface CompareState {
  /** Experiments in view (several: compare across experiments). */
  experimentIds: number[];
  /** Runs ticked; null: every started run of the experiments in view. */
  runIds: number[] | null;
  metric: string;
  /** Extra metrics drawn side by side (small multiples). */
  extraMetrics: string[];
  xKind: XKind;
  /** EMA weight for training curves. */
  smoothing: number;
  /** Smooth evaluation curves too (off: they are drawn as measured). */
  smoothEval: boolean;
  grouped: boolean;
  groupBy: string;
  band: BandKind;
  yLog: boolean;
  /** Parallel-coordinate axes; null: the varying hyper-parameters, then PPL, BLEU (test when present), params. */
  axes: string[] | null;
}

export const COMPARE_DEFAULTS: Readonly<CompareState> = Object.freeze({
  experimentIds: [],
  runIds: null,
  metric: '',
  extraMetrics: [],
  xKind: 'step',
  smoothing: 0.6,
  smoothEval: false,
  grouped: true,
  groupBy: 'variant',
  band: 'std',
  yLog: false,
  axes: null,
});

const X_KINDS: readonly XKind[] = ['step', 'time', 'tokens'];
const BANDS: readonly BandKind[] = ['std', 'se', 'minmax'];

const ids = (s: string | null) => (s ? s.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0) : []);
const list = (s: string | null) => (s ? s.split(',').filter(Boolean) : []);

/** State from a hash's query (`#/compare?…`); what is missing or malformed takes its default. */
export function parseCompareQuery(hash: string): CompareState {
  const q = new URLSearchParams(hash.includes('?') ? hash.slice(hash.indexOf('?') + 1) : '');
  const d = COMPARE_DEFAULTS;
  const smoothing = Number(q.get('s'));
  const x = q.get('x') as XKind | null;
  const band = q.get('b') as BandKind | null;
  return {
    experimentIds: ids(q.get('e')),
    runIds: q.has('r') ? ids(q.get('r')) : null,
    metric: q.get('m') ?? d.metric,
    extraMetrics: list(q.get('mm')),
    xKind: x && X_KINDS.includes(x) ? x : d.xKind,
    smoothing: q.has('s') && Number.isFinite(smoothing) && smoothing >= 0 && smoothing < 1 ? smoothing : d.smoothing,
    smoothEval: q.get('se') === '1',
    grouped: q.get('grp') !== '0',
    groupBy: q.get('g') || d.groupBy,
    band: band && BANDS.includes(band) ? band : d.band,
    yLog: q.get('log') === '1',
    axes: q.has('ax') ? list(q.get('ax')) : null,
  };
}

/** The query string for a state (without `?`); defaults left out. */
export function compareQuery(s: CompareState): string {
  const d = COMPARE_DEFAULTS;
  const q = new URLSearchParams();
  if (s.experimentIds.length) q.set('e', s.experimentIds.join(','));
  if (s.runIds !== null) q.set('r', s.runIds.join(','));
  if (s.metric) q.set('m', s.metric);
  if (s.extraMetrics.length) q.set('mm', s.extraMetrics.join(','));
  if (s.xKind !== d.xKind) q.set('x', s.xKind);
  if (s.smoothing !== d.smoothing) q.set('s', String(s.smoothing));
  if (s.smoothEval) q.set('se', '1');
  if (!s.grouped) q.set('grp', '0');
  if (s.groupBy !== d.groupBy) q.set('g', s.groupBy);
  if (s.band !== d.band) q.set('b', s.band);
  if (s.yLog) q.set('log', '1');
  if (s.axes !== null) q.set('ax', s.axes.join(','));
  return q.toString().replace(/%2F/g, '/').replace(/%2C/g, ',');
}

export function createCompareState(hash = ''): CompareState {
  return reactive(hash.startsWith('#/compare') ? parseCompareQuery(hash) : { ...COMPARE_DEFAULTS, experimentIds: [], extraMetrics: [] });
}
