/**
 * Output of the probes and the device check: one JSON line per measurement (so a note can quote a
 * number with its context, and bench/portable/summary.ts can gather them), then a human table.
 */

export type Json = Record<string, unknown>;

/** Prints one measurement as a single JSON line (numbers rounded to 4 significant digits). */
export function emit(record: Json): void {
  console.log(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v)));
}

/** Formats a number for a table: '—' when missing or not finite. */
export function num(v: unknown, digits = 1): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/** A left-aligned text table; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (cell ?? '').padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The human table of probe rows (bench/probes/webgpu-ceiling.ts, bench/portable/summary.ts). */
export function formatProbes(rows: readonly Json[]): string {
  const lines = [['probe', 'size', 'result', 'detail']];
  for (const r of rows) {
    if (r.error) lines.push([String(r.probe), '', 'error', String(r.error)]);
    else if (r.probe === 'features') {
      const has = r.has as Record<string, boolean>;
      const unsafe = (r.has_with_unsafe_apis ?? {}) as Record<string, boolean>;
      const yes = (k: string) => (has[k] ? 'yes' : unsafe[k] ? 'with allow_unsafe_apis' : 'no');
      const configs = Array.isArray(r.subgroup_matrix_configs) ? r.subgroup_matrix_configs.length : 0;
      lines.push(['features', '', Object.keys(has).map((k) => `${k} ${yes(k)}`).join(', '),
        `subgroup-matrix configs ${configs}; workgroup storage ${(r.limits as Json).maxComputeWorkgroupStorageSize} B`]);
    } else if (r.probe === 'dispatch') {
      lines.push([`dispatch (${r.toggles})`, `${r.dispatches} dependent`, `host ${num(r.host_us_per_dispatch, 2)} µs/dispatch`,
        `encode ${num(r.host_encode_us_per_dispatch, 2)} µs/dispatch + submit ${num(r.submit_ms, 2)} ms; GPU ${num(r.gpu_us_per_dispatch, 2)} µs/dispatch; wall ${num(r.wall_us_per_dispatch, 2)} µs/dispatch`]);
    } else if (r.probe === 'matmul') {
      lines.push(['matmul fp32', `${r.M}×${r.K}×${r.N}`, `${typeof r.tflops === 'number' ? r.tflops.toPrecision(3) : '—'} TFLOP/s`, `${num(r.ms_per_matmul, 3)} ms, tile ${r.tile}, ${r.timed_by}, rel err ${typeof r.max_rel_error === 'number' ? r.max_rel_error.toExponential(1) : '—'}${r.ok ? '' : ' WRONG'}`]);
    } else if (r.probe === 'adam') {
      lines.push(['adam (flat)', `${r.params} params`, `${num(r.ms_per_step, 3)} ms`, `${num(r.gb_per_s, 0)} GB/s, ${r.timed_by}, rel err ${typeof r.max_rel_error === 'number' ? r.max_rel_error.toExponential(1) : '—'}${r.ok ? '' : ' WRONG'}`]);
    }
  }
  return table(lines);
}
