/**
 * The fault-injection suite's small subset in `npm test`: one trial of every fault of
 * bench/faults.bench.ts (`npm run bench faults` runs more), each row at 100%: the run finished,
 * at most one checkpoint interval of recorded steps lost, no duplicate row, integrity ok, and the
 * same train curve as an uninterrupted run. Full-disk and read-only rows need `mount -t tmpfs`.
 * And a tenth of each kind of bad input against a real `ablate serve`: every case refused in one
 * line (or, for a spec, accepted), no stack trace, hang or crash, the database whole and every
 * recorded row still there.
 */
import { describe, expect, it } from 'vitest';
import { FAULTS, runFault, seeded } from '../bench/faults.bench';
import { runBadInput } from '../bench/faults-bad-input';

describe('fault injection (one trial each)', () => {
  const rng = seeded(7);
  for (const fault of FAULTS) {
    it(fault.name, async () => {
      const row = await runFault(fault, 1, rng);
      if (row.skipped) return;
      expect(row.problems.join("\n")).toBe("");
      expect(row.finished).toBe(1);
      expect(row.maxStepsLost).toBeLessThanOrEqual(row.interval);
      expect(row.duplicates).toBe(0);
      expect(row.integrity).toBe(1);
      expect(row.identical).toBe(1);
    }, 300_000);
  }
});

describe('bad input against ablate serve (a tenth of each kind)', () => {
  it('fuzzed specs and malformed WebSocket messages: refused in one line, nothing crashed, nothing recorded lost', async () => {
    const rows = await runBadInput(seeded(7), { fraction: 0.1 });
    expect(rows.map((r) => r.input)).toEqual(['fuzzed specs (queued through ablate serve)', 'malformed WebSocket messages and frames']);
    for (const row of rows) {
      expect(row.problems.join('\n')).toBe('');
      expect(row.refused + row.accepted).toBe(row.cases);
      expect([row.stackTraces, row.hangs, row.crashes]).toEqual([0, 0, 0]);
      expect(row.integrity).toBe(true);
      expect(row.recordedAfter).toBe(row.recordedBefore);
      expect(row.recordedBefore).toBeGreaterThan(0);
    }
    expect(rows[1].accepted).toBe(0);
  }, 300_000);
});
