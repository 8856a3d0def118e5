/** Number formatting shared by the table and charts: what a paper would print. */

/** Column headings with their units (the API's labels name the quantity only). */
const HEADERS: Readonly<Record<string, string>> = { 'train time': 'train time (s)', params: 'params' };

export function columnHeader(column: string): string {
  return HEADERS[column] ?? column;
}

/** Parameter counts in millions as Table 3 has them (0.03M), under 10k in thousands; `scale` picks the unit of another value (a Δ in its mean's unit). */
function formatParams(v: number, scale = v): string {
  const a = Math.abs(scale);
  if (a >= 1e4) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}

/** Digits per result-table column kind: parameter counts compact, times in seconds (unit in the heading), scores with two decimals. */
export function formatValue(column: string, v: number, scale?: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (/param/i.test(column)) return formatParams(v, scale);
  if (/time|second/i.test(column)) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * Whether a Δ (or a ±) against a mean is worth printing: for scores (PPL, BLEU) always; for
 * parameter counts only when it shows at the precision of the mean (no `Δ +0.00M`, no `± 0`);
 * never for train time (run-to-run noise).
 */
export function showsDelta(column: string, delta: number, mean: number = delta): boolean {
  if (/time|second/i.test(column)) return false;
  if (/param/i.test(column)) return formatValue(column, Math.abs(delta), mean) !== formatValue(column, 0, mean);
  return true;
}
