/** Number formatting shared by the table and charts. */

/** Digits per result-table column kind: parameter counts compact, times in seconds, scores with two decimals. */
export function formatValue(column: string, v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (/param/i.test(column)) return Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : String(Math.round(v));
  if (/time|second/i.test(column)) return v.toFixed(1);
  return v.toFixed(2);
}
